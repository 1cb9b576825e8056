"""The improvement program's records in the main table, append-only: an agency's contracts,
acceptances, withdrawal and removal requests under `AGENCY#<id>` / `PROGRAM#...`; terms versions
and use-case versions under `PROGRAM` / `TERMS#<version>`, `USECASE#<id>#V<n>`. Nothing recorded is
overwritten: a contract's end, a terms version's retirement, a request's completion and a use-case
version's state move once each, under a condition on what they were. Open requests carry `gsi1`
= `PROGRAM_REQUESTS` / `<due day>#<agency>#<id>`, so the operator lists them by due date without a
scan. An agency's open withdrawal also holds `AGENCY#<id>` / `PROGRAM#OPEN_WITHDRAWAL`, created only
if absent with the request and deleted with its completion: one open withdrawal per agency, however
many callers race. Every write takes the audit event that records it (one transaction)."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from ..aws_errors import failed_items
from ..domain.errors import Conflict
from ..domain.models import AuditEvent
from ..domain.program import Acceptance, Contract, RemovalRequest, TermsVersion, WithdrawalRequest
from ..domain.program_use_cases import UseCaseVersion
from .dynamo_codec import DynamoBase, from_item, to_item

PROGRAM = "PROGRAM"
REQUESTS = "PROGRAM_REQUESTS"
M = TypeVar("M", bound=BaseModel)


def _agency(agency_id: str) -> str:
    return f"AGENCY#{agency_id}"


def open_withdrawal_key(agency_id: str) -> dict[str, str]:
    """The agency's one open withdrawal, as a guard item: written with the request if absent, deleted
    with its completion (adapters/dynamo_program_store.complete)."""
    return {"pk": _agency(agency_id), "sk": "PROGRAM#OPEN_WITHDRAWAL"}


def _refuse_if_open(refused: Conflict, *, after: int) -> None:
    """withdrawal_open when the guard was the only write refused: `after` writes come first, then
    the request, then the guard (_withdrawal_writes)."""
    if failed_items(refused.__cause__) == [after + 1]:
        raise Conflict("A withdrawal is already open for this agency.", code="withdrawal_open") from refused


def _usecase_sk(use_case_id: str, version: int) -> str:
    return f"USECASE#{use_case_id}#V{version:05d}"


class DynamoProgram(DynamoBase):
    # --- contracts ---------------------------------------------------------------------------------
    def add_contract(self, contract: Contract, *, event: AuditEvent) -> None:
        item = {"pk": _agency(contract.agency_id), "sk": f"PROGRAM#CONTRACT#{contract.contract_id}",
                **contract.model_dump(mode="json")}
        self._commit({"Put": self._write(item, new=True)}, event=event, conflict="That contract is already recorded.")

    def end_contract(self, contract: Contract, withdrawal: WithdrawalRequest | None, *, event: AuditEvent) -> None:
        """Record the end once; the withdrawal it causes (if the agency takes part) in the same write."""
        assert contract.ended_on is not None
        update = {"Update": {
            "TableName": self._table,
            "Key": to_item({"pk": _agency(contract.agency_id), "sk": f"PROGRAM#CONTRACT#{contract.contract_id}"}),
            "UpdateExpression": "SET ended_on = :e",
            "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(ended_on)",
            "ExpressionAttributeValues": to_item({":e": contract.ended_on.isoformat()})}}
        writes = [update] + (self._withdrawal_writes(withdrawal) if withdrawal else [])
        try:
            self._commit(*writes, event=event, conflict="The contract's end is already recorded.",
                         code="contract_ended")
        except Conflict as refused:
            _refuse_if_open(refused, after=1)  # the contract's update comes first
            raise

    def contracts(self, agency_id: str) -> list[Contract]:
        return self._all(_agency(agency_id), "PROGRAM#CONTRACT#", Contract)

    # --- terms and acceptances -----------------------------------------------------------------------
    def publish_terms(self, terms: TermsVersion, *, event: AuditEvent) -> None:
        item = {"pk": PROGRAM, "sk": f"TERMS#{terms.version}", **terms.model_dump(mode="json")}
        self._commit({"Put": self._write(item, new=True)}, event=event, conflict="That terms version already exists.",
                     code="terms_exists")

    def retire_terms(self, version: str, at: datetime, *, event: AuditEvent) -> None:
        self._commit({"Update": {
            "TableName": self._table, "Key": to_item({"pk": PROGRAM, "sk": f"TERMS#{version}"}),
            "UpdateExpression": "SET retired_at = :r",
            "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(retired_at)",
            "ExpressionAttributeValues": to_item({":r": at.isoformat()})}},
            event=event, conflict="That terms version is unknown or already retired.", code="terms_retired")

    def get_terms(self, version: str) -> TermsVersion | None:
        item = self._get(PROGRAM, f"TERMS#{version}")
        return TermsVersion.model_validate(item) if item else None

    def list_terms(self) -> list[TermsVersion]:
        return self._all(PROGRAM, "TERMS#", TermsVersion)

    def add_acceptance(self, acceptance: Acceptance, *, event: AuditEvent) -> None:
        item = {"pk": _agency(acceptance.agency_id), "sk": f"PROGRAM#ACCEPT#{acceptance.acceptance_id}",
                **acceptance.model_dump(mode="json")}
        self._commit({"Put": self._write(item, new=True)}, event=event, conflict="That acceptance is already recorded.")

    def acceptances(self, agency_id: str) -> list[Acceptance]:
        return self._all(_agency(agency_id), "PROGRAM#ACCEPT#", Acceptance)

    # --- requests ----------------------------------------------------------------------------------
    def add_withdrawal(self, withdrawal: WithdrawalRequest, *, event: AuditEvent) -> None:
        """With the agency's guard item, created only if absent: of two withdrawals at once, one is
        written and the other refused (withdrawal_open). Deletion's completion releases it."""
        try:
            self._commit(*self._withdrawal_writes(withdrawal), event=event,
                         conflict="That request is already recorded.")
        except Conflict as refused:
            _refuse_if_open(refused, after=0)
            raise

    def add_removal(self, removal: RemovalRequest, *, event: AuditEvent) -> None:
        self._commit(self._request_write(removal, "REMOVAL"), event=event, conflict="That request is already recorded.")

    def withdrawals(self, agency_id: str) -> list[WithdrawalRequest]:
        return self._all(_agency(agency_id), "PROGRAM#WITHDRAWAL#", WithdrawalRequest)

    def removals(self, agency_id: str) -> list[RemovalRequest]:
        return self._all(_agency(agency_id), "PROGRAM#REMOVAL#", RemovalRequest)

    def open_requests(self) -> Iterator[WithdrawalRequest | RemovalRequest]:
        """Every open request across agencies, earliest due first (the gsi1 index, no scan)."""
        query: dict[str, Any] = {"TableName": self._table, "IndexName": "gsi1",
                                 "KeyConditionExpression": "gsi1pk = :p",
                                 "ExpressionAttributeValues": to_item({":p": REQUESTS})}
        while True:
            page = self._db.query(**query)
            for raw in page.get("Items", []):
                item = from_item(raw)
                kind = WithdrawalRequest if item["sk"].startswith("PROGRAM#WITHDRAWAL#") else RemovalRequest
                yield kind.model_validate(item)
            if "LastEvaluatedKey" not in page:
                return
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _withdrawal_writes(self, withdrawal: WithdrawalRequest) -> list[dict[str, Any]]:
        guard = {**open_withdrawal_key(withdrawal.agency_id), "request_id": withdrawal.request_id}
        return [self._request_write(withdrawal, "WITHDRAWAL"), {"Put": self._write(guard, new=True)}]

    def _request_write(self, request: WithdrawalRequest | RemovalRequest, kind: str) -> dict[str, Any]:
        item = {"pk": _agency(request.agency_id), "sk": f"PROGRAM#{kind}#{request.request_id}",
                **request.model_dump(mode="json")}
        if request.done_at is None:
            due = f"{request.due_on.isoformat()}#{request.agency_id}#{request.request_id}"
            item |= {"gsi1pk": REQUESTS, "gsi1sk": due}
        return {"Put": self._write(item, new=True)}

    # --- use cases ---------------------------------------------------------------------------------
    def add_use_case_version(self, version: UseCaseVersion, *, event: AuditEvent) -> None:
        item = {"pk": PROGRAM, "sk": _usecase_sk(version.use_case_id, version.version),
                **version.model_dump(mode="json")}
        self._commit({"Put": self._write(item, new=True)}, event=event,
                     conflict="That use-case version already exists.", code="use_case_changed")

    def move_use_case_versions(self, moved: list[tuple[UseCaseVersion, str]], *, event: AuditEvent) -> None:
        """Each (version, the state it was read in) moved to its new state, all or none."""
        writes = [{"Update": {
            "TableName": self._table, "Key": to_item({"pk": PROGRAM, "sk": _usecase_sk(v.use_case_id, v.version)}),
            "UpdateExpression": "SET #s = :s, announced_at = :a, effective_on = :e, activated_at = :t, retired_at = :r",
            "ConditionExpression": "#s = :was", "ExpressionAttributeNames": {"#s": "state"},
            "ExpressionAttributeValues": to_item({
                ":s": v.state.value, ":was": was, ":a": _text(v.announced_at), ":e": _text(v.effective_on),
                ":t": _text(v.activated_at), ":r": _text(v.retired_at)}) | _nulls(v)}} for v, was in moved]
        self._commit(*writes, event=event, conflict="The use case changed meanwhile; read it again.",
                     code="use_case_changed")

    def use_case_versions(self, use_case_id: str) -> list[UseCaseVersion]:
        return self._all(PROGRAM, f"USECASE#{use_case_id}#V", UseCaseVersion)

    def all_use_case_versions(self) -> list[UseCaseVersion]:
        return self._all(PROGRAM, "USECASE#", UseCaseVersion)

    def _all(self, pk: str, prefix: str, model: type[M]) -> list[M]:
        query: dict[str, Any] = {"TableName": self._table, "ConsistentRead": True,
                                 "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
                                 "ExpressionAttributeValues": to_item({":p": pk, ":s": prefix})}
        found: list[M] = []
        while True:
            page = self._db.query(**query)
            found += [model.model_validate(from_item(raw)) for raw in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return found
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _text(moment: datetime | date | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _nulls(version: UseCaseVersion) -> dict[str, Any]:
    """to_item drops None values: an unset date is written as DynamoDB's NULL instead."""
    return {f":{k}": {"NULL": True} for k, v in (("a", version.announced_at), ("e", version.effective_on),
                                                  ("t", version.activated_at), ("r", version.retired_at)) if v is None}
