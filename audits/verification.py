"""Verifying the audit trail against its seals (docs/audit-seals.md): every seal's count and Merkle
root recomputed from the events, the chain of seals walked, the `audit.sealed` events compared
with the seals, and optionally the chain checked against an anchor exported earlier.

Retention: a seal with no event left is "pruned", not a problem, when all its events are older
than the cut-off of an `audit.pruned` event still in the trail (prune_audits and dropped monthly
partitions remove whole seals only). A seal with part of its events left is a problem.
"""

import json
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from django.db import connections, router
from django.db.models.fields.json import KT

from agepar.errors import NotFound
from audits.encoding import GENESIS, VERSION, event_bytes, instant, leaf_hash, merkle_root, seal_hash
from audits.models import AuditEvent, AuditSeal
from audits.seals import SealValues, event_rows, seal_details


@dataclass(frozen=True)
class Problem:
    first_id: int
    last_id: int
    text: str

    def __str__(self) -> str:
        return f"events {self.first_id}–{self.last_id}: {self.text}"


@dataclass
class Report:
    seals: int = 0
    verified: int = 0  # seals whose events were recomputed and matched
    events: int = 0  # events recomputed
    pruned: list[int] = field(default_factory=list)  # seals with no event left, removed by retention
    unsealed: int = 0  # events after the last seal, not covered yet
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, first_id: int, last_id: int, text: str) -> None:
        self.problems.append(Problem(first_id, last_id, text))


@dataclass(frozen=True)
class Anchor:
    """A seal as exported by `manage.py export_audit_seals`, kept outside the database."""

    seal: int
    version: int
    first_id: int
    last_id: int
    count: int
    last_at: str
    root: str
    prev: str
    hash: str

    @classmethod
    def of(cls, seal: AuditSeal) -> "Anchor":
        return cls(seal.number, seal.version, seal.first_id, seal.last_id, seal.count, instant(seal.last_at),
                   seal.root, seal.prev, seal.hash)

    def text(self, **header: str) -> str:
        lines = ["# Portal AGEPAR: audit trail seal. Check the trail against it with",
                 "#   manage.py verify_audits --anchor FILE",
                 *(f"{key}: {value}" for key, value in header.items()),
                 *(f"{f.name}: {getattr(self, f.name)}" for f in fields(self))]
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str) -> "Anchor":
        """The anchor in `text`; comment lines and keys other than the seal's are ignored."""
        values = {}
        for line in text.splitlines():
            key, sep, value = line.partition(":")
            if sep and not line.lstrip().startswith("#"):
                values[key.strip()] = value.strip()
        missing = [f.name for f in fields(cls) if f.name not in values]
        if missing:
            raise ValueError(f"not a seal export: {', '.join(missing)} missing")
        try:
            typed: dict[str, Any] = {f.name: int(values[f.name]) if f.type is int else values[f.name]
                                     for f in fields(cls)}
            return cls(**typed)
        except ValueError as exc:
            raise ValueError(f"not a seal export: {exc}") from None

    @property
    def intact(self) -> bool:
        return self.version == VERSION and self.hash == seal_hash(
            number=self.seal, first_id=self.first_id, last_id=self.last_id, count=self.count,
            last_at=self.last_at, root=self.root, prev=self.prev, version=self.version)


def _values(seal: AuditSeal) -> SealValues:
    return {"first_id": seal.first_id, "last_id": seal.last_id, "count": seal.count,
            "last_at": instant(seal.last_at), "root": seal.root, "prev": seal.prev}


def _walk_chain(seals: list[AuditSeal], report: Report) -> None:
    """Seals numbered 1, 2, 3... each holding the previous one's hash, their ranges tiling the ids.
    A broken link is reported over both seals' ranges: either side may be the one changed."""
    prev_hash, prev_number, prev_first, prev_last = GENESIS, 0, 1, 0
    for seal in seals:
        if seal.number != prev_number + 1:
            missing = f"{prev_number + 1}" + (f"–{seal.number - 1}" if seal.number - 1 > prev_number + 1 else "")
            report.problem(prev_last + 1, max(prev_last + 1, seal.first_id - 1),
                           f"seal {missing} missing: seal {seal.number} follows seal {prev_number or 'none'}")
        elif seal.prev != prev_hash:
            report.problem(prev_first, seal.last_id,
                           f"seal {seal.number} does not follow seal {prev_number}: its prev is not that seal's hash")
        elif seal.first_id != prev_last + 1:
            report.problem(min(seal.first_id, prev_last + 1), seal.last_id,
                           f"seal {seal.number} does not start right after seal {prev_number} (event {prev_last + 1})")
        if seal.version != VERSION:
            report.problem(seal.first_id, seal.last_id, f"seal {seal.number}: unknown encoding version {seal.version}")
        elif seal.hash != seal_hash(number=seal.number, **_values(seal)):
            report.problem(seal.first_id, seal.last_id, f"seal {seal.number} was altered: its hash does not match it")
        prev_hash, prev_number, prev_first, prev_last = seal.hash, seal.number, seal.first_id, seal.last_id


def _retention_horizon(alias: str) -> datetime | None:
    """The latest cut-off recorded by an `audit.pruned` event: events older than it may be gone."""
    horizon = None
    pruned = AuditEvent.objects.using(alias).filter(action="audit.pruned")
    for text in pruned.values_list(KT("details__cutoff"), flat=True).iterator():
        try:
            cutoff = datetime.fromisoformat(text)
        except (TypeError, ValueError):
            continue
        horizon = cutoff if horizon is None or cutoff > horizon else horizon
    return horizon


def _check_events(seal: AuditSeal, leaves: list[bytes], horizon: datetime | None, report: Report) -> None:
    found = len(leaves)
    report.events += found
    if found == 0:
        if horizon is not None and seal.last_at < horizon:
            report.pruned.append(seal.number)
        else:
            report.problem(seal.first_id, seal.last_id, f"seal {seal.number}: all {seal.count} events are missing "
                                                        "and no audit.pruned cut-off covers them")
    elif found != seal.count:
        what = "missing" if found < seal.count else "more than were sealed"
        report.problem(seal.first_id, seal.last_id, f"seal {seal.number}: {abs(seal.count - found)} event(s) {what} "
                                                    f"({found} found, {seal.count} sealed)")
    elif merkle_root(leaves) != seal.root:
        report.problem(seal.first_id, seal.last_id,
                       f"seal {seal.number}: events changed, replaced or reordered (the Merkle root differs)")
    else:
        report.verified += 1


def _check_seal_events(seals: list[AuditSeal], loaded_from: int, sealed_events: dict[int, dict],
                       pruned: set[int], report: Report) -> None:
    """Each seal's `audit.sealed` event holds exactly the seal; no such event exists without its seal.
    Only events from id `loaded_from` on were read."""
    by_event = {seal.event_id: seal for seal in seals}
    starts = [seal.first_id for seal in seals]

    def pruned_with_its_range(event_id: int) -> bool:
        covering = bisect_right(starts, event_id) - 1
        return covering >= 0 and event_id <= seals[covering].last_id and seals[covering].number in pruned

    for event_id, details in sealed_events.items():
        seal = by_event.get(event_id)
        if seal is None:
            report.problem(event_id, event_id, f"audit.sealed event #{event_id} belongs to no seal of the chain")
        elif details != seal_details(seal.number, _values(seal), seal.hash):
            report.problem(seal.first_id, seal.last_id,
                           f"seal {seal.number} differs from its audit.sealed event #{event_id}")
    for seal in seals:
        if (seal.event_id >= loaded_from and seal.event_id not in sealed_events
                and not pruned_with_its_range(seal.event_id)):
            report.problem(seal.first_id, seal.last_id, f"seal {seal.number}: its audit.sealed event "
                                                        f"#{seal.event_id} is missing")


def _check_anchor(anchor: Anchor, seals: list[AuditSeal], report: Report) -> None:
    if not anchor.intact:
        report.problem(anchor.first_id, anchor.last_id, f"the anchor of seal {anchor.seal} is damaged: "
                                                        "its hash does not match its values")
        return
    seal = next((seal for seal in seals if seal.number == anchor.seal), None)
    if seal is None:
        last = seals[-1].number if seals else "none"
        report.problem(anchor.first_id, anchor.last_id,
                       f"anchor seal {anchor.seal} is not in the trail (the chain ends at seal {last})")
    elif Anchor.of(seal) != anchor:
        report.problem(anchor.first_id, anchor.last_id, f"seal {anchor.seal} differs from the anchor")


def verify_trail(*, from_seal: int | None = None, anchor: Anchor | None = None,
                 on_seal: Callable[[AuditSeal], None] | None = None) -> Report:
    """Check the whole trail (from seal `from_seal` on for the events; the chain always from seal 1)."""
    alias = router.db_for_write(AuditSeal)  # the primary: a replica may be behind
    connection = connections[alias]
    seals = list(AuditSeal.objects.using(alias).order_by("number"))
    report = Report(seals=len(seals))
    _walk_chain(seals, report)
    start = 0
    if from_seal is not None:
        found = next((i for i, seal in enumerate(seals) if seal.number == from_seal), None)
        if found is None:
            raise NotFound(f"Não existe o selo {from_seal}.", code="seal_not_found")
        start = found
    horizon = _retention_horizon(alias)
    sealed_events: dict[int, dict] = {}
    for seal in seals[start:]:
        leaves = []
        for row in event_rows(connection, seal.first_id - 1, seal.last_id):
            try:
                leaves.append(leaf_hash(event_bytes(row)))
                if row[4] == "audit.sealed":
                    sealed_events[row[0]] = json.loads(row[13])
            except (TypeError, ValueError) as exc:  # a value no writer of this code produces
                report.problem(row[0], row[0], f"event #{row[0]} cannot be encoded: {exc}")
                leaves.append(b"")
        _check_events(seal, leaves, horizon, report)
        if on_seal:
            on_seal(seal)
    sealed_through = seals[-1].last_id if seals else 0
    tail = AuditEvent.objects.using(alias).filter(id__gt=sealed_through)
    report.unsealed = tail.count()
    sealed_events.update(tail.filter(action="audit.sealed").values_list("id", "details"))
    loaded_from = seals[start].first_id if seals else 1
    _check_seal_events(seals, loaded_from, sealed_events, set(report.pruned), report)
    if anchor is not None:
        _check_anchor(anchor, seals, report)
    # By range; on one range, in the order found: the chain, then the events, then the seal events.
    report.problems.sort(key=lambda problem: (problem.first_id, problem.last_id))
    return report
