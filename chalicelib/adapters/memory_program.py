"""ProgramRepository in memory: the unit tests assert on it; tests/integration runs the same contract
on it and on DynamoDB. Same rules as the DynamoDB adapter: creates refuse duplicates, an end or a
retirement is recorded once, a use-case version moves only from the state it was read in, and an
agency has one withdrawal open at a time."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime

from ..domain.errors import Conflict
from ..domain.models import AuditEvent
from ..domain.program import Acceptance, Contract, RemovalRequest, TermsVersion, WithdrawalRequest, open_withdrawal
from ..domain.program_use_cases import UseCaseVersion
from .memory_audit import MemoryAuditLog


class MemoryProgram:
    def __init__(self, audit: MemoryAuditLog | None = None) -> None:
        self.audit = audit or MemoryAuditLog()
        self._writing = threading.Lock()
        self.contracts_by: dict[tuple[str, str], Contract] = {}
        self.terms: dict[str, TermsVersion] = {}
        self.accepted: dict[str, Acceptance] = {}
        self.withdrawn: dict[str, WithdrawalRequest] = {}
        self.removed: dict[str, RemovalRequest] = {}
        self.use_cases: dict[tuple[str, int], UseCaseVersion] = {}

    def add_contract(self, contract: Contract, *, event: AuditEvent) -> None:
        self._new(self.contracts_by, (contract.agency_id, contract.contract_id), contract, event,
                  "That contract is already recorded.")

    def end_contract(self, contract: Contract, withdrawal: WithdrawalRequest | None, *, event: AuditEvent) -> None:
        stored = self.contracts_by.get((contract.agency_id, contract.contract_id))
        if stored is None or stored.ended_on is not None:
            raise Conflict("The contract's end is already recorded.", code="contract_ended")
        if withdrawal is not None and withdrawal.request_id in self.withdrawn:
            raise Conflict("That request is already recorded.")
        if withdrawal is not None:
            self._no_open_withdrawal(withdrawal.agency_id)
        self.contracts_by[(contract.agency_id, contract.contract_id)] = stored.model_copy(
            update={"ended_on": contract.ended_on})
        if withdrawal is not None:
            self.withdrawn[withdrawal.request_id] = withdrawal
        self.audit.record(event)

    def contracts(self, agency_id: str) -> list[Contract]:
        return [c for (a, _), c in sorted(self.contracts_by.items()) if a == agency_id]

    def publish_terms(self, terms: TermsVersion, *, event: AuditEvent) -> None:
        if terms.version in self.terms:
            raise Conflict("That terms version already exists.", code="terms_exists")
        self._new(self.terms, terms.version, terms, event, "")

    def retire_terms(self, version: str, at: datetime, *, event: AuditEvent) -> None:
        stored = self.terms.get(version)
        if stored is None or stored.retired_at is not None:
            raise Conflict("That terms version is unknown or already retired.", code="terms_retired")
        self.terms[version] = stored.model_copy(update={"retired_at": at})
        self.audit.record(event)

    def get_terms(self, version: str) -> TermsVersion | None:
        return self.terms.get(version)

    def list_terms(self) -> list[TermsVersion]:
        return [self.terms[k] for k in sorted(self.terms)]

    def add_acceptance(self, acceptance: Acceptance, *, event: AuditEvent) -> None:
        self._new(self.accepted, acceptance.acceptance_id, acceptance, event, "That acceptance is already recorded.")

    def acceptances(self, agency_id: str) -> list[Acceptance]:
        return [a for _, a in sorted(self.accepted.items()) if a.agency_id == agency_id]

    def add_withdrawal(self, withdrawal: WithdrawalRequest, *, event: AuditEvent) -> None:
        with self._writing:  # check and write as one, as the DynamoDB transaction does
            if withdrawal.request_id not in self.withdrawn:
                self._no_open_withdrawal(withdrawal.agency_id)
            self._new(self.withdrawn, withdrawal.request_id, withdrawal, event,
                      "That request is already recorded.")

    def add_removal(self, removal: RemovalRequest, *, event: AuditEvent) -> None:
        self._new(self.removed, removal.request_id, removal, event, "That request is already recorded.")

    def withdrawals(self, agency_id: str) -> list[WithdrawalRequest]:
        return [w for _, w in sorted(self.withdrawn.items()) if w.agency_id == agency_id]

    def removals(self, agency_id: str) -> list[RemovalRequest]:
        return [r for _, r in sorted(self.removed.items()) if r.agency_id == agency_id]

    def open_requests(self) -> Iterator[WithdrawalRequest | RemovalRequest]:
        found: list[WithdrawalRequest | RemovalRequest] = [
            *self.withdrawn.values(), *self.removed.values()]
        yield from sorted((r for r in found if r.done_at is None),
                          key=lambda r: (r.due_on, r.agency_id, r.request_id))

    def add_use_case_version(self, version: UseCaseVersion, *, event: AuditEvent) -> None:
        if (version.use_case_id, version.version) in self.use_cases:
            raise Conflict("That use-case version already exists.", code="use_case_changed")
        self._new(self.use_cases, (version.use_case_id, version.version), version, event, "")

    def move_use_case_versions(self, moved: list[tuple[UseCaseVersion, str]], *, event: AuditEvent) -> None:
        for version, was in moved:
            stored = self.use_cases.get((version.use_case_id, version.version))
            if stored is None or stored.state.value != was:
                raise Conflict("The use case changed meanwhile; read it again.", code="use_case_changed")
        for version, _ in moved:
            self.use_cases[(version.use_case_id, version.version)] = version
        self.audit.record(event)

    def use_case_versions(self, use_case_id: str) -> list[UseCaseVersion]:
        return [v for (u, _), v in sorted(self.use_cases.items()) if u == use_case_id]

    def all_use_case_versions(self) -> list[UseCaseVersion]:
        return [v for _, v in sorted(self.use_cases.items())]

    def _no_open_withdrawal(self, agency_id: str) -> None:
        """The DynamoDB adapter's guard item: one withdrawal not yet done per agency."""
        if open_withdrawal([w for w in self.withdrawn.values() if w.agency_id == agency_id]) is not None:
            raise Conflict("A withdrawal is already open for this agency.", code="withdrawal_open")

    def _new(self, store: dict, key: object, value: object, event: AuditEvent, conflict: str) -> None:  # type: ignore[type-arg]
        if key in store:
            raise Conflict(conflict)
        store[key] = value
        self.audit.record(event)
