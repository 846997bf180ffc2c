"""Waivers: accepted risks, each owned, justified, scoped to one target and expiring.

A waivers file is TOML::

    [[waiver]]
    check = "LOG-06"                  # the check id
    target = "acme-chat"              # the target name in the profile: waivers never match globally
    fingerprint = "5e0c1d2f9a7b3c4d"  # optional: the finding's evidence fingerprint (in every report)
    justification = "Audit records go to the SIEM, which the harness cannot read"
    owner = "platform-security@acme.example"
    expires = 2026-12-31              # required; the waiver applies through this day
    ticket = "SEC-1234"               # optional

A waiver turns a FAIL or WARN into WAIVED only; with a ``fingerprint`` it matches only that exact
evidence, so a new finding on the same check is never absorbed. Expired waivers stop applying and are
reported, as are waivers that matched nothing (the finding is fixed, or the scope is wrong).
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pydantic import ValidationError

from byok_audit.errors import ByokAuditError
from byok_audit.models.base import Strict
from byok_audit.models.finding import Status
from byok_audit.models.result import CheckOutcome, Waiver, WaiverOutcome
from byok_audit.tomlfile import key_lines, line_of

WAIVABLE = (Status.FAIL, Status.WARN)


class WaiverError(ByokAuditError):
    """A waivers file is unreadable or invalid; the message names the file, line and field."""


class WaiversFile(Strict):
    waiver: list[Waiver] = []


@dataclass(frozen=True)
class LocatedWaiver:
    waiver: Waiver
    location: str  # "path:line" of its [[waiver]] header


def _field(loc: tuple[int | str, ...]) -> str:
    """``waiver[2].owner`` (waivers are numbered from 1, as a reader counts them)."""
    if len(loc) >= 2 and loc[0] == "waiver" and isinstance(loc[1], int):
        return ".".join([f"waiver[{loc[1] + 1}]", *map(str, loc[2:])])
    return ".".join(map(str, loc))


def parse_waivers(text: str, source: str) -> list[LocatedWaiver]:
    """Parse waivers TOML; ``source`` names the file in errors and locations."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise WaiverError(f"{source}: not valid TOML: {error}") from None
    lines = key_lines(text)
    try:
        parsed = WaiversFile.model_validate(data)
    except ValidationError as error:
        problems = []
        for detail in error.errors():
            loc = tuple(detail["loc"])
            line = line_of(lines, loc)
            where = f"{source}:{line}" if line else source
            problems.append(f"{where}: {_field(loc)}: {detail['msg']}")
        raise WaiverError("invalid waivers file:\n  " + "\n  ".join(problems)) from None
    located = []
    for index, waiver in enumerate(parsed.waiver):
        line = lines.get(("waiver", index))
        located.append(LocatedWaiver(waiver, f"{source}:{line}" if line else source))
    return located


def load_waivers(path: Path) -> list[LocatedWaiver]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise WaiverError(f"{path}: cannot read waivers file: {error.strerror}") from None
    except UnicodeDecodeError:
        raise WaiverError(f"{path}: waivers file is not UTF-8 text") from None
    return parse_waivers(text, str(path))


def apply_waivers(
    checks: Sequence[CheckOutcome],
    waivers: Sequence[LocatedWaiver],
    *,
    target: str,
    today: date,
) -> tuple[list[CheckOutcome], list[WaiverOutcome]]:
    """Re-derive every check's effective status from its raw status and the waivers in force today.

    Raises :class:`WaiverError` when a waiver names a check this audit does not have (a typo would
    otherwise silently waive nothing).
    """
    known = {c.check_id for c in checks}
    for located in waivers:
        if located.waiver.check not in known:
            raise WaiverError(
                f"{located.location}: check: {located.waiver.check!r} is not a check of this audit"
            )
    claimed: dict[str, str] = {}
    outcomes: list[WaiverOutcome] = []
    for located in waivers:
        waiver = located.waiver
        check = next(c for c in checks if c.check_id == waiver.check)
        in_scope = waiver.target == target and waiver.fingerprint in (
            None,
            check.evidence_fingerprint,
        )
        matches = in_scope and check.raw_status in WAIVABLE
        if waiver.expires < today:
            state = "expired"
            note = f"expired on {waiver.expires.isoformat()}"
            if matches:
                note += f"; {check.check_id} is {check.raw_status} again"
        elif waiver.target != target:
            state, note = "unused", f"scoped to target {waiver.target!r}, not {target!r}"
        elif not in_scope:
            state, note = "unused", "the evidence fingerprint no longer matches: a new finding"
        elif not matches:
            state, note = "unused", f"{check.check_id} is {check.raw_status}: nothing to waive"
        elif check.check_id in claimed:
            state, note = (
                "unused",
                f"{check.check_id} is already waived by {claimed[check.check_id]}",
            )
        else:
            state, note = "applied", f"{check.check_id} {check.raw_status} waived"
            claimed[check.check_id] = located.location
        outcomes.append(
            WaiverOutcome(waiver=waiver, location=located.location, state=state, note=note)
        )
    updated = [
        c.model_copy(
            update={
                "status": Status.WAIVED if c.check_id in claimed else c.raw_status,
                "waiver": claimed.get(c.check_id),
            }
        )
        for c in checks
    ]
    return updated, outcomes


def waivers_of(outcomes: Sequence[WaiverOutcome]) -> list[LocatedWaiver]:
    """The waivers recorded in a stored result, to re-apply them on another day."""
    return [LocatedWaiver(o.waiver, o.location) for o in outcomes]
