"""What each scenario step does to the target, and what it records (see ``models/steps.py``).

One function per action, registered in :data:`STEP_ACTIONS`. Steps act through the
:class:`~byok_audit.audit_run.AuditRun` (its adapter, proxy and target process) and, for the database
steps, through :mod:`byok_audit.scenarios.database`: the same moves a thief or a rogue employee with a
database copy would make.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from byok_audit.audit_run import AuditRun
from byok_audit.errors import HarnessError
from byok_audit.harness import Proxy
from byok_audit.models.canary import Canary, CanaryRole, mint_anthropic_key, mint_oauth_token
from byok_audit.models.evidence import StepRecord
from byok_audit.models.steps import BadInputKind, FaultKind
from byok_audit.scenarios import model as spec
from byok_audit.scenarios.database import Database, Rows
from byok_audit.scenarios.keyrow import (
    KeyCell,
    current_row,
    flip_one_bit,
    locate_new_key,
    transplant_values,
)
from byok_audit.targets.adapter import TargetAdapter

SLOW_SECONDS = 2.0
OVERSIZED_BYTES = 1024 * 1024


@dataclass
class ScenarioContext:
    """One scenario's state on a run: its users' names on the target and where their keys live."""

    run: AuditRun
    scenario: spec.Scenario
    database: Database | None
    key_cells: dict[str, KeyCell] = field(default_factory=dict)
    current_keys: dict[str, str] = field(default_factory=dict)
    tampered: dict[str, bytes] = field(default_factory=dict)
    armed_fault: str | None = None

    def user(self, name: str) -> str:
        """Target-side user name: scenarios create fresh users so they never see each other's state."""
        return f"{self.scenario.id}.{name}"

    def canary_id(self, name: str) -> str:
        return f"{self.scenario.id}.{name}"

    def require_database(self) -> Database:
        if self.database is None:
            raise HarnessError("the profile declares no [database]; this step needs one")
        return self.database

    def adapter(self) -> TargetAdapter:
        """The target's adapter, after checking the target process is still alive."""
        if self.run.adapter is None:
            raise HarnessError("the audit run is not started")
        if self.run.target is not None:
            self.run.target.check_alive()
        return self.run.adapter

    def proxy(self) -> Proxy:
        if self.run.proxy is None:
            raise HarnessError("the audit run is not started")
        return self.run.proxy

    def captured(self, user: str, name: str) -> Any:
        """A value captured when ``user`` was created (e.g. its ``user_id``), or None."""
        if self.run.adapter is None:
            return None
        return self.run.adapter.sessions.get(self.user(user), {}).get(name)

    def issue_key(self, name: str, user: str) -> Canary:
        """Mint (or reuse) a key canary and make it valid at the mock provider."""
        self.run.mint_key(self.canary_id(name), self.user(user))
        return self.run.canaries.get(self.canary_id(name))

    def step(self, action: str, user: str | None = None, **params: Any):
        return self.run.step(
            action,
            user=self.user(user) if user else None,
            scenario=self.scenario.id,
            **{k: v for k, v in params.items() if v is not None},
        )


StepFunction = Callable[[ScenarioContext, Any], None]


def _against(ctx: ScenarioContext, victim: str | None) -> str | None:
    return ctx.user(victim) if victim else None


def _attack(
    ctx: ScenarioContext,
    record: StepRecord,
    operation: str,
    user: str,
    victim: str | None,
    extra: dict[str, Any],
) -> bool:
    """Send the profile's request aimed at ``victim``'s key; False when there is none (or no victim),
    so the step goes through the attacker's own endpoints. ``data.attack`` records which it was."""
    if victim is None:
        return False
    sent = ctx.adapter().attack(operation, ctx.user(user), ctx.user(victim), extra)
    record.data["attack"] = (
        "aimed at the victim" if sent else "through the attacker's own endpoints"
    )
    return sent is not None


def create_user(ctx: ScenarioContext, step: spec.CreateUser) -> None:
    with ctx.step("create_user", step.user) as record:
        ctx.adapter().create_user(ctx.user(step.user))
        user_id = ctx.captured(step.user, "user_id")
        if user_id is not None:
            record.data["user_id"] = str(user_id)


def _tables(ctx: ScenarioContext) -> Rows | None:
    return ctx.database.tables() if ctx.database is not None else None


def put_key(ctx: ScenarioContext, step: spec.PutKey) -> None:
    key = ctx.issue_key(step.key, step.user)
    before = _tables(ctx)
    with ctx.step("put_key", step.user, key=key.id, against=_against(ctx, step.against)) as record:
        ctx.adapter().put_key(ctx.user(step.user), key.value)
    if record.outcome != "ok":
        return
    ctx.current_keys[ctx.user(step.user)] = key.id
    if before is None:
        return
    facts = ctx.run.profile.facts()
    cell = locate_new_key(before, _tables(ctx) or {}, facts.key_table, facts.key_column)
    if cell is None:
        record.note = "no new stored value found in the database after this put"
        return
    ctx.key_cells[ctx.user(step.user)] = cell
    record.data.update({"stored_table": cell.table, "stored_column": cell.column})


def get_key(ctx: ScenarioContext, step: spec.GetKey) -> None:
    with ctx.step("get_key", step.user, against=_against(ctx, step.against)) as record:
        if not _attack(ctx, record, "get_key", step.user, step.against, {}):
            ctx.adapter().get_key(ctx.user(step.user))


def delete_key(ctx: ScenarioContext, step: spec.DeleteKey) -> None:
    with ctx.step("delete_key", step.user, against=_against(ctx, step.against)) as record:
        if not _attack(ctx, record, "delete_key", step.user, step.against, {}):
            ctx.adapter().delete_key(ctx.user(step.user))
    if record.outcome == "ok":
        ctx.key_cells.pop(ctx.user(step.user), None)
        ctx.current_keys.pop(ctx.user(step.user), None)


def prompt(ctx: ScenarioContext, step: spec.Prompt) -> None:
    models = ctx.run.profile.provider.models
    if isinstance(step.model, int):
        if step.model >= len(models):
            raise HarnessError(
                f"scenario {ctx.scenario.id} asks for model #{step.model}, "
                f"the profile declares {len(models)}"
            )
        model = models[step.model]
    else:
        model = step.model or models[0]
    current = ctx.current_keys.get(ctx.user(step.user))
    prompt_canary = ctx.run.canaries.get("prompt")
    with ctx.step(
        "prompt",
        step.user,
        model=model,
        max_tokens=step.max_tokens,
        stream=step.stream,
        prompt=prompt_canary.id,
        expect=step.expect,
        against=_against(ctx, step.against),
    ) as record:
        record.data["key"] = current
        record.data["fault"] = ctx.armed_fault
        ctx.armed_fault = None
        text = f"Reply with one short sentence. {prompt_canary.value}"
        extra = {
            "prompt": text,
            "model": model,
            "max_tokens": step.max_tokens,
            "stream": step.stream,
        }
        if not _attack(ctx, record, "prompt", step.user, step.against, extra):
            ctx.adapter().prompt(
                ctx.user(step.user),
                text,
                model=model,
                max_tokens=step.max_tokens,
                stream=step.stream,
            )


def idle(ctx: ScenarioContext, step: spec.Idle) -> None:
    with ctx.step("idle", seconds=step.seconds):
        time.sleep(step.seconds)


def fault(ctx: ScenarioContext, step: spec.Fault) -> None:
    with ctx.step("fault", kind=str(step.kind), count=step.count):
        delay = SLOW_SECONDS if step.kind == FaultKind.SLOW else 0.0
        ctx.proxy().inject_fault(step.kind, count=step.count, delay=delay)
        ctx.armed_fault = str(step.kind)


def _bad_canary(ctx: ScenarioContext, step: spec.BadInput) -> Canary | None:
    """The secret a bad-input step submits, as a canary so its echo or storage is detectable."""
    if step.kind in (BadInputKind.INVALID_JSON, BadInputKind.UNKNOWN_MODEL):
        return None
    if step.kind == BadInputKind.OAUTH_TOKEN:
        value, role = mint_oauth_token(), CanaryRole.OAUTH_TOKEN
    elif step.kind == BadInputKind.MALFORMED_KEY:
        # right prefix and length, two characters outside the key alphabet
        value, role = mint_anthropic_key()[:-2] + "!?", CanaryRole.KEY
    else:
        value, role = mint_anthropic_key(), CanaryRole.KEY
    canary = Canary(
        id=ctx.canary_id(f"bad-{step.kind}"), role=role, value=value, user=ctx.user(step.user)
    )
    return ctx.run.canaries.add(canary)


def bad_input(ctx: ScenarioContext, step: spec.BadInput) -> None:
    canary = _bad_canary(ctx, step)
    with ctx.step("bad_input", step.user, kind=str(step.kind)) as record:
        if canary is not None:
            record.data["canary"] = canary.id
            if step.kind == BadInputKind.KEY_IN_QUERY:
                ctx.proxy().issue_keys(canary.value)
        ctx.adapter().bad_input(
            ctx.user(step.user),
            str(step.kind),
            canary.value if canary is not None else None,
            model=ctx.run.profile.provider.models[0],
        )


def snapshot(ctx: ScenarioContext, step: spec.Snapshot) -> None:
    label = f"{ctx.scenario.id}.{step.label}"
    with ctx.step("snapshot", label=label) as record:
        taken = ctx.require_database().snapshot(label, record.index)
        ctx.run.db_snapshots.append(taken)
        if taken.error:
            record.outcome = "error"
            record.note = taken.error


def _key_cell(ctx: ScenarioContext, user: str, rows: Rows) -> KeyCell:
    cell = ctx.key_cells.get(ctx.user(user))
    if cell is None:
        raise HarnessError(f"no stored key was located for user {user!r} (did put_key succeed?)")
    now = current_row(rows, cell)
    if now is None:
        raise HarnessError(f"the stored key of user {user!r} is no longer in {cell.table}")
    return now


def tamper(ctx: ScenarioContext, step: spec.Tamper) -> None:
    database = ctx.require_database()
    with ctx.step("tamper", step.user, position=step.position) as record:
        user = ctx.user(step.user)
        stored = ctx.key_cells.get(user)
        if stored is None:
            raise HarnessError(
                f"no stored key was located for user {step.user!r} (did put_key succeed?)"
            )
        now = ctx.tampered.get(user, stored.value)
        flipped, where = flip_one_bit(stored.value, step.position)
        if not database.update_row(stored.table, stored.column, now, {stored.column: flipped}):
            raise HarnessError(
                f"the stored key of user {step.user!r} is no longer in {stored.table}"
            )
        ctx.tampered[user] = flipped
        record.data.update({"table": stored.table, "column": stored.column, "where": where})


def transplant(ctx: ScenarioContext, step: spec.Transplant) -> None:
    database = ctx.require_database()
    with ctx.step(
        "transplant", from_user=ctx.user(step.from_user), to_user=ctx.user(step.to_user)
    ) as record:
        rows = database.tables()
        source = _key_cell(ctx, step.from_user, rows)
        victim = _key_cell(ctx, step.to_user, rows)
        if (source.table, source.column) != (victim.table, victim.column):
            raise HarnessError("the two users' keys are stored in different places")
        identity = {ctx.user(step.to_user).encode()}
        user_id = ctx.captured(step.to_user, "user_id")
        if user_id is not None:
            identity.add(str(user_id).encode())
        values = transplant_values(source, victim, identity)
        if not database.update_row(victim.table, victim.column, victim.value, values):
            raise HarnessError(f"could not write the transplanted value into {victim.table}")
        ctx.key_cells[ctx.user(step.to_user)] = source
        record.data.update(
            {"table": victim.table, "column": victim.column, "columns": sorted(values)}
        )


def restart(ctx: ScenarioContext, step: spec.Restart) -> None:
    ctx.run.restart_target()


STEP_ACTIONS: dict[str, StepFunction] = {
    "create_user": create_user,
    "put_key": put_key,
    "get_key": get_key,
    "delete_key": delete_key,
    "prompt": prompt,
    "idle": idle,
    "fault": fault,
    "bad_input": bad_input,
    "snapshot": snapshot,
    "tamper": tamper,
    "transplant": transplant,
    "restart": restart,
}
