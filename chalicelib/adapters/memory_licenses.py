"""LicenseRepository in memory: the replay command runs on it, the unit tests assert on it. It keeps
the same end-date index the DynamoDB adapter keeps (one key per end day, plus GLOBAL_END for the
agencies that follow the global date), so `ending_between` never looks at every agency."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from ..domain.errors import Conflict
from ..domain.licensing import (
    GLOBAL_END,
    MAX_ENDING_RANGE_DAYS,
    AgencyLicense,
    ProgramSettings,
    end_index_key,
)
from ..domain.models import AuditEvent
from .memory_audit import MemoryAuditLog


class MemoryLicenses:
    def __init__(self, settings: ProgramSettings | None = None, audit: MemoryAuditLog | None = None) -> None:
        self.audit = audit or MemoryAuditLog()  # where events passed with a write are recorded
        self._licenses: dict[str, AgencyLicense] = {}
        self._by_end: dict[str, set[str]] = {}
        self._settings = (settings or ProgramSettings()).model_copy(deep=True)
        self.ranges_queried: list[tuple[date, date]] = []

    def get(self, agency_id: str) -> AgencyLicense | None:
        found = self._licenses.get(agency_id)
        return found.model_copy(deep=True) if found else None

    def create(self, lic: AgencyLicense, *, event: AuditEvent | None = None) -> None:
        if lic.agency_id in self._licenses:
            raise Conflict(f"Agency {lic.agency_id} already has a licence.", code="license_exists")
        self._store(lic.model_copy(deep=True))
        self._record(event)

    def save(self, lic: AgencyLicense, *, event: AuditEvent | None = None) -> AgencyLicense:
        stored = self._licenses.get(lic.agency_id)
        if stored is None or stored.version != lic.version:
            raise Conflict("The licence changed meanwhile; try again.", code="concurrent_change")
        saved = lic.model_copy(update={"version": lic.version + 1}, deep=True)
        self._store(saved)
        self._record(event)
        return saved.model_copy(deep=True)

    def _record(self, event: AuditEvent | None) -> None:
        if event is not None:
            self.audit.record(event)

    def _store(self, lic: AgencyLicense) -> None:
        for members in self._by_end.values():
            members.discard(lic.agency_id)
        key = end_index_key(lic)
        if key is not None:
            self._by_end.setdefault(key, set()).add(lic.agency_id)
        self._licenses[lic.agency_id] = lic

    def ending_between(self, start: date, end: date) -> Iterator[str]:
        if (end - start).days > MAX_ENDING_RANGE_DAYS:
            raise ValueError(f"ending_between answers at most {MAX_ENDING_RANGE_DAYS} days at a time")
        self.ranges_queried.append((start, end))
        found: set[str] = set()
        day = start
        while day <= end:
            found |= self._by_end.get(day.isoformat(), set())
            day += timedelta(days=1)
        if start <= self._settings.end <= end:
            found |= self._by_end.get(GLOBAL_END, set())
        yield from sorted(found)

    def get_settings(self) -> ProgramSettings:
        return self._settings.model_copy(deep=True)

    def save_settings(self, settings: ProgramSettings, *, event: AuditEvent | None = None) -> ProgramSettings:
        if settings.version != self._settings.version:
            raise Conflict("The program settings changed meanwhile; try again.", code="concurrent_change")
        self._settings = settings.model_copy(update={"version": settings.version + 1}, deep=True)
        self._record(event)
        return self._settings.model_copy(deep=True)
