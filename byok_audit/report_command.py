"""``byok-audit report``, ``attest`` and ``verify``: grade saved evidence, sign a result, check a signature.

``report`` never touches the target: it re-grades a saved evidence bundle (or re-gates a saved result)
and writes the requested formats, then exits by the gate (see :mod:`byok_audit.scoring.gate`). The
pieces ``run`` reuses are :func:`report_options` (the shared options, as one :class:`ReportOptions`),
:func:`byok_audit.evaluate.evaluate` and :func:`finish` (write outputs, print the verdict, exit code).
"""

from __future__ import annotations

import functools
import json
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from byok_audit import CRITERIA_VERSION
from byok_audit.attest import (
    AttestationError,
    VerificationError,
    attest,
    generate_key,
    load_private_key,
    load_public_key,
    verify,
)
from byok_audit.checks import ALL_CHECKS
from byok_audit.errors import ByokAuditError
from byok_audit.evaluate import evaluate, regrade, sha256_digest
from byok_audit.formats import FORMATS, OutputSpec, OutputSpecError, write_outputs
from byok_audit.models.evidence import EvidenceBundle
from byok_audit.models.finding import Severity
from byok_audit.models.result import AuditResult, CodeAttestation, GatePolicy, Grade
from byok_audit.scoring.gate import ExitCode
from byok_audit.scoring.waivers import LocatedWaiver, load_waivers


class UsageFailure(click.ClickException):
    """A usage or configuration problem: exit 3, never confused with a finding."""

    exit_code = ExitCode.USAGE


class AuditCommand(click.Command):
    """A click command whose usage errors exit 3 (click's default, 2, means "incomplete" here)."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as error:
            error.exit_code = ExitCode.USAGE
            raise


def today_utc() -> date:
    """Today in UTC, or the day of ``SOURCE_DATE_EPOCH`` when set (reproducible re-renders)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), UTC).date()
        except ValueError:
            raise UsageFailure(f"SOURCE_DATE_EPOCH={epoch!r} is not a Unix time") from None
    return datetime.now(UTC).date()


def load_code_attestation(path: Path) -> CodeAttestation:
    """Q5 statement file (TOML): ``statement``, ``attested_by`` and optional ``reference``."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return CodeAttestation.model_validate(data)
    except OSError as error:
        raise UsageFailure(f"{path}: cannot read: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise UsageFailure(f"{path}: not valid TOML: {error}") from None
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
        )
        raise UsageFailure(f"{path}: {problems}") from None


def gate_policy(fail_on: str | None, min_grade: str | None) -> GatePolicy:
    """Neither option: fail on any FAIL. ``--min-grade`` alone: only the grade. ``none`` disables."""
    if fail_on is None and min_grade is None:
        return GatePolicy()
    severity = None if fail_on in (None, "none") else Severity(fail_on)
    return GatePolicy(fail_on=severity, min_grade=Grade(min_grade) if min_grade else None)


@dataclass(frozen=True)
class ReportOptions:
    """What the shared report options resolved to."""

    waivers: list[LocatedWaiver] | None  # None: none given (a stored result keeps its own)
    gate: GatePolicy
    outputs: list[OutputSpec] = field(default_factory=list)
    code_attestation: CodeAttestation | None = None


def _parse_outputs(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> list[OutputSpec]:
    try:
        return [OutputSpec.parse(value) for value in values]
    except OutputSpecError as error:
        raise click.BadParameter(str(error), ctx=ctx, param=param) from None


def report_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--waivers --fail-on --min-grade --output --code-attestation``; pass ``options``."""

    @click.option(
        "--waivers",
        "waivers_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Waivers file (TOML): accepted risks, each owned, justified and expiring.",
    )
    @click.option(
        "--fail-on",
        type=click.Choice(["critical", "high", "medium", "low", "none"]),
        envvar="BYOK_AUDIT_FAIL_ON",
        help="Fail the gate on any FAIL at or above this severity, after waivers. "
        "Default (without --min-grade): low, i.e. any FAIL.",
    )
    @click.option(
        "--min-grade",
        type=click.Choice([g.value for g in Grade if g is not Grade.INCOMPLETE]),
        envvar="BYOK_AUDIT_MIN_GRADE",
        help="Fail the gate when the effective grade is below this.",
    )
    @click.option(
        "-o",
        "--output",
        "outputs",
        multiple=True,
        metavar="FORMAT:PATH",
        callback=_parse_outputs,
        help=f"Write a report; repeatable. Formats: {', '.join(FORMATS)}. PATH '-' is stdout. "
        "Default: markdown to stdout.",
    )
    @click.option(
        "--code-attestation",
        "attestation_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Vendor statement for Q5 (TOML: statement, attested_by, reference). Shown, never scored.",
    )
    @functools.wraps(command)
    def wrapper(
        *args: Any,
        waivers_path: Path | None,
        fail_on: str | None,
        min_grade: str | None,
        outputs: list[OutputSpec],
        attestation_path: Path | None,
        **kwargs: Any,
    ) -> Any:
        try:
            waivers = load_waivers(waivers_path) if waivers_path else None
        except ByokAuditError as error:
            raise UsageFailure(str(error)) from None
        options = ReportOptions(
            waivers=waivers,
            gate=gate_policy(fail_on, min_grade),
            outputs=outputs or [OutputSpec("markdown", "-")],
            code_attestation=load_code_attestation(attestation_path) if attestation_path else None,
        )
        return command(*args, options=options, **kwargs)

    return wrapper


def verdict_line(result: AuditResult) -> str:
    raw, eff = result.raw, result.effective
    grade = f"grade {eff.grade}" + (f" (raw {raw.grade})" if raw.grade != eff.grade else "")
    score = "n/a" if eff.score is None else f"{eff.score:g}/100"
    gate = "passed" if result.gate.passed else "failed"
    reasons = f": {'; '.join(result.gate.reasons)}" if result.gate.reasons else ""
    return f"{result.target.name}: {grade}, score {score}; gate {gate} (exit {result.gate.exit_code}){reasons}"


def finish(result: AuditResult, outputs: list[OutputSpec]) -> int:
    """Write the outputs, print the verdict to stderr, return the gate's exit code."""
    try:
        written = write_outputs(result, outputs)
    except OSError as error:
        raise UsageFailure(f"cannot write output: {error}") from None
    for spec, path in zip(outputs, written, strict=True):
        if path != "-":
            click.echo(f"wrote {spec.format}: {path}", err=True)
    for waiver in result.waivers:
        if waiver.state == "expired":
            click.echo(f"warning: waiver {waiver.location} {waiver.note}", err=True)
    click.echo(verdict_line(result), err=True)
    return result.gate.exit_code


def grade_saved(path: Path, options: ReportOptions, today: date) -> AuditResult:
    """A saved bundle is evaluated; a saved result (``document: byok-audit-result``) is re-gated."""
    try:
        data = path.read_bytes()
        parsed = json.loads(data)
    except OSError as error:
        raise UsageFailure(f"{path}: cannot read: {error.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UsageFailure(f"{path}: not JSON: {error}") from None
    try:
        if isinstance(parsed, dict) and parsed.get("document") == "byok-audit-result":
            stored = AuditResult.model_validate(parsed)
            if stored.criteria_version != CRITERIA_VERSION:
                raise UsageFailure(
                    f"{path}: graded under criteria version {stored.criteria_version}, this tool "
                    f"grades under {CRITERIA_VERSION}; re-grade from its evidence bundle"
                )
            return regrade(
                stored,
                today=today,
                waivers=options.waivers,
                gate=options.gate,
                code_attestation=options.code_attestation,
            )
        bundle = EvidenceBundle.loads(data.decode("utf-8"))
        return evaluate(
            bundle,
            today=today,
            waivers=options.waivers or [],
            gate=options.gate,
            checks=ALL_CHECKS,
            bundle_digest=sha256_digest(data),
            code_attestation=options.code_attestation,
        )
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UsageFailure(
            f"{path}: not a valid evidence bundle or result: {where}: {first['msg']} "
            f"({error.error_count()} problem(s))"
        ) from None
    except (ValueError, ByokAuditError) as error:
        raise UsageFailure(f"{path}: {error}") from None


@click.command("report", cls=AuditCommand)
@click.argument(
    "source", metavar="BUNDLE_OR_RESULT", type=click.Path(dir_okay=False, path_type=Path)
)
@report_options
def report_command(source: Path, options: ReportOptions) -> None:
    """Grade a saved evidence bundle, or re-gate a saved result, without touching the target.

    Exit codes: 0 gate passed, 1 findings, 2 incomplete, 3 usage or configuration error.

    Example: byok-audit report bundle.json --waivers waivers.toml -o html:scorecard.html -o sarif:byok.sarif
    """
    result = grade_saved(source, options, today_utc())
    click.get_current_context().exit(finish(result, options.outputs))


@click.command("attest", cls=AuditCommand)
@click.argument(
    "result_path",
    metavar="RESULT.json",
    required=False,
    type=click.Path(dir_okay=False, path_type=Path),
)
@click.option(
    "--key",
    "key_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Ed25519 private key (PEM).",
)
@click.option(
    "-o",
    "--output",
    "output_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Envelope to write (default: RESULT.intoto.json).",
)
@click.option(
    "--generate-key",
    "new_key",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a new keypair: PATH (private, 0600) and PATH.pub.",
)
def attest_command(
    result_path: Path | None, key_path: Path | None, output_path: Path | None, new_key: Path | None
) -> None:
    """Sign a result as an in-toto statement in a DSSE envelope (Ed25519).

    Example: byok-audit attest --generate-key vendor.pem;
    byok-audit attest result.json --key vendor.pem -o result.intoto.json
    """
    try:
        if new_key is not None:
            if result_path or key_path or output_path:
                raise UsageFailure("--generate-key takes no other argument")
            click.echo(
                f"wrote {new_key} and {new_key}.pub (key id {generate_key(new_key)})", err=True
            )
            return
        if result_path is None or key_path is None:
            raise UsageFailure("give RESULT.json and --key (or --generate-key PATH)")
        key = load_private_key(key_path)
        try:
            result_bytes = result_path.read_bytes()
        except OSError as error:
            raise UsageFailure(f"{result_path}: cannot read: {error.strerror}") from None
        envelope = attest(result_bytes, key)
        target = output_path or result_path.with_name(
            result_path.name.removesuffix(".json") + ".intoto.json"
        )
        target.write_text(envelope, encoding="utf-8")
    except AttestationError as error:
        raise UsageFailure(str(error)) from None
    click.echo(f"wrote {target}", err=True)


@click.command("verify", cls=AuditCommand)
@click.argument(
    "envelope_path", metavar="ENVELOPE", type=click.Path(dir_okay=False, path_type=Path)
)
@click.option(
    "--pub",
    "public_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Ed25519 public key (PEM).",
)
@click.option(
    "--result",
    "result_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The result file the envelope should attest.",
)
@click.option("--criteria-version", help="Require results graded under this criteria version.")
def verify_command(
    envelope_path: Path, public_path: Path, result_path: Path | None, criteria_version: str | None
) -> None:
    """Verify a signed result: signature, statement, subject digest, criteria version.

    Exit codes: 0 verified, 1 verification failed (the message names what), 3 usage error.

    Example: byok-audit verify result.intoto.json --pub vendor.pem.pub --result result.json --criteria-version 1
    """
    try:
        public = load_public_key(public_path)
        envelope = envelope_path.read_bytes()
        result_bytes = result_path.read_bytes() if result_path else None
    except AttestationError as error:
        raise UsageFailure(str(error)) from None
    except OSError as error:
        raise UsageFailure(f"cannot read: {error.filename}: {error.strerror}") from None
    try:
        verified = verify(
            envelope, public, result_bytes=result_bytes, criteria_version=criteria_version
        )
    except VerificationError as error:
        click.echo(f"verification failed: {error}", err=True)
        click.get_current_context().exit(ExitCode.FINDINGS)
    click.echo(f"verified: {verified.summary}")
