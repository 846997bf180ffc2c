"""One audit run: proxy, target and driver wired together, every step recorded, evidence assembled.

``AuditRun`` owns a workdir, fresh canaries and the processes it starts, and guarantees they are gone
when it ends, whether the audit succeeded or not. Scenario code performs recorded steps on it and
finally calls :meth:`AuditRun.finish` for the :class:`EvidenceBundle`::

    with AuditRun(load_profile("target.toml")) as run:
        run.create_user("alice")
        run.put_key("alice", "key-alice-1")
        run.prompt("alice", stream=True)
        bundle = run.finish()

Custom steps use :meth:`AuditRun.step`; every call the driver makes inside it is attached to it.

``AuditRun(profile, sealed=True)`` runs it all (proxy, target, driver) inside a network namespace whose
only way out is the proxy (:mod:`byok_audit.harness.seal`); it must then be driven from one thread.
"""

from __future__ import annotations

import bisect
import contextlib
import glob
import os
import random
import shutil
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from pydantic import JsonValue

from byok_audit import CRITERIA_VERSION, __version__
from byok_audit.errors import HarnessError, TargetExited
from byok_audit.harness import ENGINE, Proxy
from byok_audit.harness.seal import Seal
from byok_audit.models.canary import CanaryRole, CanaryTable, Provider
from byok_audit.models.evidence import (
    CapturedFile,
    DbSnapshot,
    EvidenceBundle,
    Exchange,
    HarnessInfo,
    HttpCall,
    ProcessRecord,
    StepRecord,
)
from byok_audit.seal import sealed_profile_problem
from byok_audit.targets.adapter import TargetAdapter, resolve_adapter
from byok_audit.targets.driver import Driver
from byok_audit.targets.launcher import TargetProcess, proxy_env
from byok_audit.targets.profile import Profile, StartSpec
from byok_audit.targets.templates import fill_str, placeholders

#: Starts tried when the target exits at once: a port taken between choosing and binding it is the
#: usual cause, and another port cures it.
START_ATTEMPTS = 3

_PASSTHROUGH_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "VIRTUAL_ENV", "PYTHONPATH")


def _ephemeral_floor() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """An unused loopback TCP port for the target to listen on.

    Chosen below the kernel's ephemeral range, so the outgoing connections of concurrent audits
    (which take ephemeral ports) cannot grab it between this check and the target's bind.
    """
    floor = _ephemeral_floor()
    for _ in range(100):
        port = random.randrange(10000, max(floor, 10001))  # noqa: S311 - not a secret
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def attribute(steps: list[StepRecord], exchanges: list[Exchange]) -> None:
    """Give each exchange to the last step that started before it: a step's window runs until the
    next step starts, so a call a platform fires just after answering (a background task) still
    counts against the request that caused it. Exchanges before the first step stay unattributed."""
    ordered = sorted(steps, key=lambda s: s.started)
    starts = [s.started for s in ordered]
    for step in ordered:
        step.exchange_ids = []
    for exchange in exchanges:
        position = bisect.bisect_right(starts, exchange.started) - 1
        if position >= 0:
            ordered[position].exchange_ids.append(exchange.id)


def _outcome(calls: list[HttpCall]) -> Literal["ok", "refused", "error"]:
    """``error`` only when the harness got no answer; a target's 4xx or 5xx is an observed refusal."""
    if any(c.error for c in calls):
        return "error"
    if any((c.status or 0) >= 400 for c in calls):
        return "refused"
    return "ok"


class AuditRun:
    """Runs one target behind the proxy; see the module docstring."""

    def __init__(
        self,
        profile: Profile,
        *,
        workdir: Path | None = None,
        keep_workdir: bool = False,
        scenario: str = "basic",
        progress: Callable[[str], None] | None = None,
        sealed: bool = False,
    ) -> None:
        self.profile = profile
        self.sealed = sealed
        self.seal: Seal | None = None
        self.scenario = scenario
        self.keep_workdir = keep_workdir or workdir is not None
        self._given_workdir = workdir
        self.progress = progress or (lambda message: None)
        self.canaries = CanaryTable.fresh()
        self.run_id = uuid.uuid4().hex[:12]
        self.steps: list[StepRecord] = []
        #: Filled by scenario steps that snapshot the database; goes into the bundle as is.
        self.db_snapshots: list[DbSnapshot] = []
        self.errors: list[str] = []
        self.workdir: Path | None = None
        self.proxy: Proxy | None = None
        self.target: TargetProcess | None = None
        self.driver: Driver | None = None
        self.adapter: TargetAdapter | None = None
        self.values: dict[str, Any] = {}
        self.started = 0.0
        self._current: StepRecord | None = None
        self._before_restarts: list[list[CapturedFile]] = []
        self._bundle: EvidenceBundle | None = None

    # -- lifecycle --------------------------------------------------------------------------------

    def __enter__(self) -> AuditRun:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> AuditRun:
        self.started = time.time()
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def _start(self) -> None:
        if self.sealed:
            self.progress("sealing egress: a fresh network namespace")
            self.seal = Seal(self.run_id[:8]).enter()
        if self._given_workdir is not None:
            self.workdir = self._given_workdir.resolve()
            self.workdir.mkdir(parents=True, exist_ok=True)
        else:
            self.workdir = Path(tempfile.mkdtemp(prefix=f"byok-audit-{self.run_id}-"))
        target_dir = self.workdir / "target"
        target_dir.mkdir(exist_ok=True)
        self.values = {
            "workdir": str(target_dir),
            "master_secret": self.canaries.get("master").value,
        }
        start = self.profile.start
        if start is not None:
            self.values["port"] = free_port()
        if self.seal is not None:
            problem = sealed_profile_problem(self.profile, self._fill)
            if problem:
                raise HarnessError(problem)

        self.progress("starting the intercepting proxy")
        proxy_dir = self.workdir / "proxy"
        self.proxy = (self.seal.proxy(proxy_dir) if self.seal else Proxy(proxy_dir)).start()
        if self.seal is not None:
            self.seal.engage(self.proxy)
        self.proxy.set_response_canary(self.canaries.get("response").value)

        if start is not None:
            self.progress(f"starting target {self.profile.name!r}")
            env = {k: os.environ[k] for k in _PASSTHROUGH_ENV if k in os.environ}
            # Console scripts installed beside the toolkit (e.g. byok-ref) are found without activation.
            env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
            env.update({k: self._fill(v) for k, v in start.env.items()})
            env.update(proxy_env(self.proxy.url, self.proxy.ca_cert_path))
            for attempt in range(1, START_ATTEMPTS + 1):
                self.target = TargetProcess(
                    [self._fill(part) for part in start.command],
                    env=env,
                    cwd=Path(self._fill(start.cwd)) if start.cwd else target_dir,
                    output_dir=self.workdir,
                    ready_url=self._fill(start.ready_url),
                    ready_timeout=start.ready_timeout,
                    stop_timeout=start.stop_timeout,
                    redact=self.canaries.redact,
                )
                try:
                    self.target.start()
                    break
                except TargetExited as exited:
                    if attempt == START_ATTEMPTS or not self._uses_port(start):
                        raise
                    note = f"target exited while starting (attempt {attempt}), restarted on another port: {exited}"
                    self.errors.append(self.canaries.redact(note))
                    self.progress(note.split(":")[0])
                    self.values["port"] = free_port()
            if self.target.pid is not None:
                self.proxy.hint_client_pids(self.target.pid)
        self.driver = Driver(
            self._fill(self.profile.base_url), self.profile.request_timeout, self._record_call
        )
        adapter_cls = resolve_adapter(self.profile.adapter)
        self.adapter = adapter_cls(self.profile, self.driver, self.values)
        self.progress("target ready")

    def _uses_port(self, start: StartSpec) -> bool:
        """Whether the start command chooses the port from ``{port}`` (so another one can be tried)."""
        return any("port" in placeholders(part) for part in [*start.command, *start.env.values()])

    def close(self) -> None:
        """Stop everything this run started and remove its temporary workdir. Safe to call twice."""
        with contextlib.ExitStack() as stack:
            if self.seal is not None:
                stack.callback(self.seal.leave)  # last: after every process in the namespace
            if self.workdir is not None and not self.keep_workdir:
                stack.callback(shutil.rmtree, self.workdir, True)
            if self.proxy is not None:
                stack.callback(self.proxy.stop)
            if self.target is not None:
                stack.callback(self.target.stop)
            if self.driver is not None:
                stack.callback(self.driver.close)

    @property
    def target_workdir(self) -> Path:
        """The target's ``{workdir}``: where its database and logs live."""
        return Path(self.values["workdir"])

    def _fill(self, text: str) -> str:
        return fill_str(text, self.values)

    # -- steps ------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def step(
        self,
        action: str,
        *,
        user: str | None = None,
        scenario: str | None = None,
        **params: JsonValue,
    ) -> Iterator[StepRecord]:
        """Record one step: its window, the driver calls inside it, and its outcome.

        The outcome is derived from the calls (no answer: error; any 4xx/5xx: refused) unless the
        body set ``record.outcome``. A HarnessError inside marks the step ``error`` and propagates.
        """
        if self._current is not None:
            raise RuntimeError(f"step {action!r} started inside step {self._current.action!r}")
        record = StepRecord(
            index=len(self.steps),
            scenario=scenario or self.scenario,
            action=action,
            user=user,
            params=params,
            started=time.time(),
            ended=0.0,
        )
        self._current = record
        self.steps.append(record)
        try:
            yield record
            if record.outcome == "ok":
                record.outcome = _outcome(record.calls)
        except HarnessError as exc:
            record.outcome = "error"
            record.note = self.canaries.redact(str(exc))
            raise
        finally:
            record.ended = time.time()
            self._current = None

    def _record_call(self, call: HttpCall) -> None:
        if self._current is not None:
            self._current.calls.append(call)

    def _adapter(self) -> TargetAdapter:
        if self.adapter is None:
            raise HarnessError("the audit run is not started")
        if self.target is not None:
            self.target.check_alive()
        return self.adapter

    def create_user(self, user: str) -> StepRecord:
        with self.step("create_user", user=user) as record:
            self._adapter().create_user(user)
        return record

    def mint_key(self, key_id: str, user: str | None, provider: Provider = "anthropic") -> str:
        """The key canary ``key_id`` (minted on first use), already valid at the mock provider."""
        key = self.canaries.key(key_id, user, provider)
        if self.proxy is not None:
            self.proxy.issue_keys(key.value, provider=provider)
        return key.value

    def restart_target(self) -> StepRecord:
        """Restart the target (same command and environment) as a recorded ``restart`` step.

        Its files are read first: a platform that truncates its log on start would otherwise erase
        what it wrote before the restart.
        """
        if self.target is None:
            raise HarnessError("the audit did not start this target, so it cannot restart it")
        with self.step("restart") as record:
            self._before_restarts.append(self._collect_files())
            self.target.restart()
            if self.proxy is not None and self.target.pid is not None:
                self.proxy.hint_client_pids(self.target.pid)
        return record

    def put_key(self, user: str, key_id: str, provider: Provider = "anthropic") -> StepRecord:
        """Store key canary ``key_id`` (minted on first use, valid upstream) as ``user``'s key."""
        key = self.mint_key(key_id, user, provider)
        with self.step("put_key", user=user, key=key_id) as record:
            self._adapter().put_key(user, key)
        return record

    def get_key(self, user: str) -> StepRecord:
        with self.step("get_key", user=user) as record:
            self._adapter().get_key(user)
        return record

    def delete_key(self, user: str) -> StepRecord:
        with self.step("delete_key", user=user) as record:
            self._adapter().delete_key(user)
        return record

    def prompt(
        self,
        user: str,
        *,
        stream: bool = False,
        model: str | None = None,
        max_tokens: int | None = None,
        prompt_id: str = "prompt",
    ) -> StepRecord:
        """Send the prompt canary ``prompt_id`` (minted on first use) as ``user``."""
        canary = self.canaries.text(prompt_id, CanaryRole.PROMPT)
        model = model or self.profile.provider.models[0]
        max_tokens = max_tokens or self.profile.provider.max_tokens
        with self.step(
            "prompt", user=user, stream=stream, model=model, max_tokens=max_tokens, prompt=prompt_id
        ) as record:
            self._adapter().prompt(
                user,
                f"Reply with one short sentence. {canary.value}",
                model=model,
                max_tokens=max_tokens,
                stream=stream,
            )
        return record

    # -- evidence ---------------------------------------------------------------------------------

    def finish(self) -> EvidenceBundle:
        """Stop the target and the proxy, collect files, attribute exchanges, build the bundle."""
        if self._bundle is not None:
            return self._bundle
        if self.proxy is None or self.workdir is None:
            raise HarnessError("the audit run is not started")
        process: ProcessRecord | None = None
        if self.target is not None:
            process = self.target.stop()
            if process.crashed:
                self.errors.append(
                    f"target exited on its own during the run (code {process.exit_code})"
                )
        if self.seal is not None:
            try:
                self.seal.verify(self.proxy, "end")
            except HarnessError as error:
                self.errors.append(str(error))
        self.proxy.stop()
        exchanges = self.proxy.exchanges()
        if self.seal is not None:
            exchanges = self.seal.without_probes(exchanges)
        attribute(self.steps, exchanges)
        self._bundle = EvidenceBundle(
            tool_version=__version__,
            criteria_version=CRITERIA_VERSION,
            run_id=self.run_id,
            started=self.started,
            ended=time.time(),
            target=self.profile.facts(),
            scenarios=sorted({s.scenario for s in self.steps}) or [self.scenario],
            canaries=self.canaries,
            exchanges=exchanges,
            steps=self.steps,
            files=self._files_with_earlier_copies(),
            db_snapshots=self.db_snapshots,
            process=process,
            harness=HarnessInfo(
                engine=ENGINE,
                listen=f"127.0.0.1:{self.proxy.port}",
                sealed_egress=self.seal is not None and self.seal.proven,
                seal=self.seal.describe() if self.seal is not None else "",
            ),
            errors=self.errors,
        )
        return self._bundle

    def _files_with_earlier_copies(self) -> list[CapturedFile]:
        """The files as they are now, plus any pre-restart copy whose content the file no longer
        starts with (truncated or rotated away)."""
        final = self._collect_files()
        now = {f.path: f.content for f in final}
        kept = []
        for number, earlier in enumerate(self._before_restarts, 1):
            for copy in earlier:
                if copy.missing or now.get(copy.path, b"").startswith(copy.content):
                    continue
                kept.append(
                    copy.model_copy(update={"name": f"{copy.name} (before restart {number})"})
                )
        return kept + final

    def _collect_files(self) -> list[CapturedFile]:
        spec = self.profile.files
        wanted: list[tuple[str, Literal["log", "stdout", "stderr", "watched"]]] = [
            *((p, "log") for p in spec.logs),
            *((p, "watched") for p in spec.watched),
        ]
        if self.target is not None:
            wanted += [
                (str(self.target.stdout_path), "stdout"),
                (str(self.target.stderr_path), "stderr"),
            ]
        else:
            wanted += [(p, k) for p, k in ((spec.stdout, "stdout"), (spec.stderr, "stderr")) if p]
        files = []
        base = self.target_workdir
        for pattern, kind in wanted:
            filled = self._fill(pattern)
            absolute = filled if os.path.isabs(filled) else str(base / filled)
            matches = sorted(glob.glob(absolute)) if glob.has_magic(absolute) else [absolute]
            if not matches:
                files.append(CapturedFile(name=filled, kind=kind, path=absolute, missing=True))
            for path in matches:
                try:
                    content = Path(path).read_bytes()
                except OSError:
                    files.append(CapturedFile(name=filled, kind=kind, path=path, missing=True))
                    continue
                files.append(CapturedFile(name=filled, kind=kind, path=path, content=content))
        return files
