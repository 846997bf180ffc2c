"""Stored keys over time: which value each put_key wrote, who held which key when, what went upstream.

Shared by the ENC and ROT checks. Snapshots are tied to steps by order, never by label, across the
whole run (scenarios share one target and one database): the snapshot *after* a step is the first one
taken after it, provided no other key-changing step (put_key, delete_key, tamper, transplant) came in
between; the snapshot *before* is the last one taken before it under the same rule.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from byok_audit.checks.base import EvidenceMissing
from byok_audit.checks.common import keys_sent, performed
from byok_audit.forensics.records import (
    MIN_RECORD_BYTES,
    changed_columns,
    encodings,
    new_values,
    table_changed,
    values_of_rows_with,
)
from byok_audit.models.canary import Canary, fingerprint
from byok_audit.models.evidence import DbSnapshot, EvidenceBundle, Exchange, StepRecord

KEY_CHANGING = frozenset({"put_key", "delete_key", "tamper", "transplant"})


def _quiet_between(bundle: EvidenceBundle, low: int, high: int) -> bool:
    return not any(low < s.index < high and s.action in KEY_CHANGING for s in bundle.steps)


def snapshot_after(bundle: EvidenceBundle, step: StepRecord) -> DbSnapshot | None:
    later = [s for s in bundle.db_snapshots if s.step_index > step.index]
    first = min(later, key=lambda s: s.step_index, default=None)
    if first is None or not _quiet_between(bundle, step.index, first.step_index):
        return None
    return first


def snapshot_before(bundle: EvidenceBundle, step: StepRecord) -> DbSnapshot | None:
    earlier = [s for s in bundle.db_snapshots if s.step_index < step.index]
    last = max(earlier, key=lambda s: s.step_index, default=None)
    if last is None or not _quiet_between(bundle, last.step_index, step.index):
        return None
    return last


def usable(snapshot: DbSnapshot | None, wanted: str) -> DbSnapshot:
    """The snapshot, or EvidenceMissing naming what was wanted and why it is not there."""
    if snapshot is None:
        raise EvidenceMissing(f"no database snapshot {wanted}")
    if snapshot.error:
        raise EvidenceMissing(f"snapshot '{snapshot.label}' {wanted} failed: {snapshot.error}")
    return snapshot


def step_name(step: StepRecord) -> str:
    who = f" by {step.user}" if step.user else ""
    return f"step {step.index} ({step.action}{who})"


# -- where the stored key lives ----------------------------------------------------------------------


@dataclass(frozen=True)
class KeyColumn:
    table: str
    column: str
    how: str

    def __str__(self) -> str:
        return f"{self.table}.{self.column}"


def key_column(bundle: EvidenceBundle) -> KeyColumn:
    """Where the stored key lives: declared by the profile, named by a tamper/transplant step,
    located by the runner after put_key (``stored_table``/``stored_column``), or else the column that
    gained a long value (>= 70 bytes) around the most put_key steps."""
    target = bundle.target
    if target.key_table and target.key_column:
        return KeyColumn(target.key_table, target.key_column, "declared by the profile")
    for step in bundle.steps:
        table, column = step.data.get("table"), step.data.get("column")
        if (
            step.action in ("tamper", "transplant")
            and isinstance(table, str)
            and isinstance(column, str)
        ):
            return KeyColumn(table, column, f"named by {step_name(step)}")
    named = Counter(
        (s.data["stored_table"], s.data["stored_column"])
        for s in key_puts(bundle)
        if isinstance(s.data.get("stored_table"), str)
        and isinstance(s.data.get("stored_column"), str)
    )
    if named:
        (table, column), count = named.most_common(1)[0]
        return KeyColumn(table, column, f"located by the runner after {count} put_key step(s)")
    votes: dict[tuple[str, str], list[int]] = {}
    for step in bundle.steps_of("put_key"):
        after = snapshot_after(bundle, step)
        if step.outcome != "ok" or after is None or after.error:
            continue
        before = snapshot_before(bundle, step)
        for place in changed_columns(None if before and before.error else before, after):
            votes.setdefault(place, []).append(step.index)
    if not votes:
        raise EvidenceMissing(
            "cannot locate the stored key: the profile names no key_table/key_column and no "
            "snapshot taken right after a successful put_key shows a new value of "
            f">= {MIN_RECORD_BYTES} bytes"
        )
    best = max(len(v) for v in votes.values())
    leaders = sorted(p for p, v in votes.items() if len(v) == best)
    if len(leaders) > 1:
        names = ", ".join(f"{t}.{c}" for t, c in leaders)
        raise EvidenceMissing(
            f"cannot tell which column holds the stored key ({names} all changed with the puts); "
            "declare key_table and key_column in the profile"
        )
    table, column = leaders[0]
    steps = ", ".join(str(i) for i in votes[leaders[0]])
    return KeyColumn(table, column, f"found by diffing snapshots around put_key steps {steps}")


@dataclass(frozen=True)
class Written:
    """What one put_key did to the key column: the values it added, and whether the table changed."""

    step: StepRecord
    before: DbSnapshot | None
    after: DbSnapshot
    values: tuple[bytes, ...]
    rewrote_table: bool


def written(bundle: EvidenceBundle, step: StepRecord, column: KeyColumn) -> Written:
    after = usable(snapshot_after(bundle, step), f"right after {step_name(step)}")
    before = snapshot_before(bundle, step)
    if before is not None and before.error:
        before = None
    values = new_values(before, after, column.table, column.column)
    if len(values) != 1 and step.user:
        # ambiguous diff (no quiet snapshot before, or other rows changed): use the owner's row
        who = identities(bundle, step.user)
        mine = values_of_rows_with(after, column.table, column.column, who)
        if len(mine) == 1:
            old = values_of_rows_with(before, column.table, column.column, who) if before else []
            values = [] if old == mine else mine
    return Written(step, before, after, tuple(values), table_changed(before, after, column.table))


def identities(bundle: EvidenceBundle, user: str) -> set[bytes]:
    """How the target may name a user in its rows: the user name, and the id create_user captured."""
    found = {user.encode()}
    for step in bundle.steps_of("create_user"):
        user_id = step.data.get("user_id")
        if step.user == user and user_id is not None:
            found.add(str(user_id).encode())
    return found


def stored_value(bundle: EvidenceBundle, step: StepRecord, column: KeyColumn) -> bytes:
    """The single value a put_key step wrote into the key column; EvidenceMissing otherwise."""
    result = written(bundle, step, column)
    if len(result.values) != 1:
        base = f"snapshot '{result.before.label}'" if result.before else "an empty database"
        raise EvidenceMissing(
            f"{step_name(step)} added {len(result.values)} values to {column} compared with "
            f"{base}; cannot tell which one it wrote (take a snapshot right before and after it)"
        )
    return result.values[0]


# -- who held which key when --------------------------------------------------------------------------


def is_own(step: StepRecord) -> bool:
    """A step acting on the user's own resources (not an API-03 attack on another user's)."""
    return step.params.get("against") is None


def key_puts(bundle: EvidenceBundle) -> list[StepRecord]:
    """Successful put_key steps on the user's own slot, in order."""
    return [s for s in bundle.steps_of("put_key") if s.outcome == "ok" and is_own(s) and s.user]


def held_key(bundle: EvidenceBundle, user: str, at_index: int) -> str | None:
    """The key canary id ``user`` held just before step ``at_index`` (None: none or deleted).

    A transplant into the user's row hands them the source user's key: a platform that decrypts
    the moved record then calls with it, which is ENC-06's finding, not a stale key."""
    held: str | None = None
    for step in sorted(bundle.steps, key=lambda s: s.index):
        source = step.params.get("from_user")
        if (
            step.action == "transplant"
            and step.outcome == "ok"
            and step.index < at_index
            and step.params.get("to_user") == user
            and isinstance(source, str)
        ):
            held = held_key(bundle, source, step.index)
            continue
        if step.index >= at_index or step.user != user or not is_own(step):
            continue
        if step.action == "put_key" and step.outcome == "ok":
            key = step.params.get("key")
            held = key if isinstance(key, str) else held
        elif step.action == "delete_key" and step.outcome == "ok":
            held = None
    return held


def holders(bundle: EvidenceBundle, canary_id: str, at_index: int) -> list[str]:
    """Users holding this key canary just before step ``at_index``."""
    users = {s.user for s in bundle.steps if s.user}
    return sorted(u for u in users if u and held_key(bundle, u, at_index) == canary_id)


def own_prompts(
    bundle: EvidenceBundle, user: str, after: int, until: int | None = None
) -> list[StepRecord]:
    """The user's own prompt steps after step ``after`` (and before ``until``) that happened (a 5xx
    answer is an observation even when the runner marked the step ``error``)."""
    return [
        s
        for s in bundle.steps_of("prompt")
        if s.user == user
        and is_own(s)
        and performed(s)
        and s.index > after
        and (until is None or s.index < until)
    ]


def next_change(bundle: EvidenceBundle, user: str, after: int) -> int | None:
    """Index of the next step after ``after`` that changes the user's stored key: their own put_key
    or delete_key, or a tamper/transplant of their row."""
    later = [
        s.index
        for s in bundle.steps
        if s.index > after
        and (
            (s.user == user and s.action in ("put_key", "delete_key", "tamper") and is_own(s))
            or (s.action == "transplant" and s.params.get("to_user") == user)
        )
    ]
    return min(later, default=None)


# -- what credential an upstream call carried ------------------------------------------------------------


def credential(exchange: Exchange) -> str | None:
    """The provider credential the target sent: ``x-api-key``, else the ``Authorization`` bearer."""
    value = exchange.request_header("x-api-key")
    if value is not None:
        return value.strip()
    auth = exchange.request_header("authorization")
    if auth is None:
        return None
    scheme, _, token = auth.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else auth.strip()


def describe_credential(
    exchange: Exchange, bundle: EvidenceBundle, stored: dict[str, bytes] | None = None
) -> str:
    """Which key an upstream call used, safe to print: a canary label, "an empty key", "the stored
    record itself", or "an unknown value #fingerprint". ``stored`` maps names to stored values to
    recognise (a platform that falls back to sending the ciphertext)."""
    sent: list[Canary] = keys_sent(exchange, bundle)
    if sent:
        return ", ".join(c.label for c in sent)
    value = credential(exchange)
    if value is None:
        return "no key header"
    if not value:
        return "an empty key"
    for name, record in (stored or {}).items():
        if any(form in value.encode() for _, form in encodings(record)):
            return f"the stored record itself ({name})"
    return f"an unknown value #{fingerprint(value)}"


@dataclass(frozen=True)
class Replacement:
    """A put_key by a user who already held a different key canary."""

    step: StepRecord
    user: str
    old: str
    new: str


def replacements(bundle: EvidenceBundle, *, attempted: bool = False) -> list[Replacement]:
    """Successful replacing puts (or, with ``attempted``, every one that ran, refused or not)."""
    found = []
    for step in bundle.steps_of("put_key"):
        ran = performed(step) if attempted else step.outcome == "ok"
        if not (ran and step.user and is_own(step)):
            continue
        old, new = held_key(bundle, step.user, step.index), step.params.get("key")
        if old is not None and isinstance(new, str) and new != old:
            found.append(Replacement(step, step.user, old, new))
    return found


def previous_put(bundle: EvidenceBundle, user: str, before: int) -> StepRecord | None:
    """The user's last successful own put_key before step ``before``."""
    puts = [s for s in key_puts(bundle) if s.user == user and s.index < before]
    return puts[-1] if puts else None


def stray_uses(bundle: EvidenceBundle, canary_id: str, after: StepRecord) -> list[Exchange]:
    """Exchanges after step ``after`` that carry this key canary while no user holding it asked for
    a prompt: idle-window calls, calls in other steps. Stops where anyone puts that key again."""
    again = [
        s for s in key_puts(bundle) if s.params.get("key") == canary_id and s.index > after.index
    ]
    stop = again[0] if again else None
    step_of = {eid: s for s in bundle.steps for eid in s.exchange_ids}
    stray = []
    for exchange in bundle.exchanges:
        step = step_of.get(exchange.id)
        if step is not None:
            if step.index <= after.index or (stop is not None and step.index >= stop.index):
                continue
        elif exchange.started < after.ended or (
            stop is not None and exchange.started >= stop.started
        ):
            continue
        if canary_id not in {c.id for c in keys_sent(exchange, bundle)}:
            continue
        if (
            step is not None
            and step.action == "prompt"
            and step.user in holders(bundle, canary_id, step.index)
        ):
            continue
        stray.append(exchange)
    return stray
