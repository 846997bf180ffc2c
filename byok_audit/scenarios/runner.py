"""Run scenarios on one audit run and hand back the evidence bundle.

All scenarios share one target process (starting a platform is the slow part); each creates its own
users, so no scenario sees another's keys. A step the harness could not perform is recorded as
``error`` and the run goes on: the checks that needed it report ERROR. A target that dies is restarted
once so later scenarios still run; if it will not come back, the audit stops with a HarnessError.
"""

from __future__ import annotations

from pathlib import Path

from byok_audit.audit_run import AuditRun
from byok_audit.errors import HarnessError, TargetExited
from byok_audit.models.evidence import EvidenceBundle
from byok_audit.scenarios.database import Database, open_database
from byok_audit.scenarios.model import Scenario
from byok_audit.scenarios.steps import STEP_ACTIONS, ScenarioContext
from byok_audit.targets.templates import fill_str


def target_database(run: AuditRun) -> Database | None:
    spec = run.profile.database
    if spec is None:
        return None
    path = Path(fill_str(spec.path, run.values)) if spec.path else None
    dsn = fill_str(spec.dsn, run.values) if spec.dsn else None
    return open_database(path, dsn)


def run_scenario(run: AuditRun, scenario: Scenario, database: Database | None) -> None:
    ctx = ScenarioContext(run, scenario, database)
    run.progress(f"scenario {scenario.id} ({len(scenario.steps)} steps)")
    for number, step in enumerate(scenario.steps, 1):
        try:
            STEP_ACTIONS[step.action](ctx, step)
        except TargetExited as exc:
            run.errors.append(f"{scenario.id} step {number} ({step.action}): {exc}")
            run.progress(f"target died during {scenario.id}; restarting it for the next scenario")
            if run.target is None:
                raise
            run.target.restart()
            break
        except HarnessError as exc:
            message = run.canaries.redact(str(exc))
            run.errors.append(f"{scenario.id} step {number} ({step.action}): {message}")
            run.progress(f"  step {number} ({step.action}) could not be performed: {message}")


def run_scenarios(run: AuditRun, scenarios: list[Scenario]) -> EvidenceBundle:
    """Perform every scenario in order, then stop the target and assemble the bundle."""
    database = target_database(run)
    for scenario in scenarios:
        run_scenario(run, scenario, database)
    bundle = run.finish()
    bundle.scenarios = [s.id for s in scenarios]
    return bundle
