"""Leak-scanner throughput beside ripgrep, GNU grep and detect-secrets, on the same generated log.

    .venv/bin/python bench/bench_scan.py                 # 1 GiB log (default)
    .venv/bin/python bench/bench_scan.py --size 256M     # quick run

A log of realistic lines is generated with 10 canaries (6 Anthropic keys, an OpenAI key, prompt, response,
master secret) planted in every form the scanner knows, one planted line per 4 MiB block (every 8th one
as base64 of a gzip member, the way telemetry batches carry records), plus decoy real-shaped keys. The scanner (both engines, shapes mode on) and ``rg -F -f`` / ``grep -F -f`` over the
same literals run on the whole file (the scanner also on a log of the same size without needles);
detect-secrets, far slower, runs on a proportional slice. Peak RSS
is taken for the scanner on the full file and on a quarter of it to show memory stays flat. Throughput
is MiB of input per second of wall time, best of 3 runs (detect-secrets: 1); ratios are against
ripgrep measured in this run.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from byok_audit.models.canary import CanaryTable
from byok_audit.scan.needles import needles_for

BLOCK = 4 << 20
MiB = 1 << 20
#: Every how many planted needles one goes in as base64 of a gzip member instead of plain.
BASE64_GZIP_EVERY = 8

RUNNER = r"""
import json, sys, time
from pathlib import Path
from byok_audit.models.canary import CanaryTable
from byok_audit.scan import Scanner
table = CanaryTable.model_validate_json(Path(sys.argv[1]).read_text())
scanner = Scanner(table, shapes=True, engine=sys.argv[3])
started = time.perf_counter()
hits = scanner.scan_file(Path(sys.argv[2]))
elapsed = time.perf_counter() - started
canary = [h for h in hits if h.canary_id is not None]
status = Path("/proc/self/status").read_text()
peak = int(next(l for l in status.splitlines() if l.startswith("VmHWM:")).split()[1]) * 1024
print(json.dumps({"seconds": elapsed, "hits": len(canary), "shapes": len(hits) - len(canary),
                  "rss": peak}))
"""


def parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper().removesuffix("IB").removesuffix("B")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def canaries() -> CanaryTable:
    table = CanaryTable.fresh()
    for n in range(6):
        table.key(f"key-user{n}", f"user{n}")
    table.key("key-openai", "user0", provider="openai")
    return table


def literals(table: CanaryTable) -> list[tuple[str, bytes]]:
    """(form, literal) for every needle of every canary, as the scanner derives them."""
    found = []
    for canary in table.canaries:
        for needle in needles_for(
            canary.value,
            canary.role,
            display_suffix_len=4,
            fragments_on=True,
            min_fragment=8,
            digests_on=True,
        ):
            found.append((needle.form, needle.literal))
    return found


def log_lines(rng: random.Random, count: int) -> list[bytes]:
    """Plain and JSON log lines with request ids, paths, user agents and base64 session blobs."""
    users = [f"user{n}" for n in range(50)]
    paths = [
        "/api/v1/messages",
        "/api/v1/claude-key",
        "/healthz",
        "/api/v1/models",
        "/static/app.js",
    ]
    lines = []
    for n in range(count):
        ts = (
            f"2026-08-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:{(n * 7) % 60:02d}.{n % 1000:03d}Z"
        )
        rid = f"{rng.getrandbits(128):032x}"
        kind = n % 4
        if kind == 0:
            line = (
                f"{ts} INFO  [req {rid[:16]}] POST {rng.choice(paths)} user={rng.choice(users)} "
                f"model=claude-sonnet-4 status=200 latency_ms={rng.randint(20, 9000)} "
                f"tokens_in={rng.randint(1, 4000)} tokens_out={rng.randint(1, 4000)}"
            )
        elif kind == 1:
            line = json.dumps(
                {
                    "ts": ts,
                    "level": "debug",
                    "msg": "upstream call finished",
                    "request_id": rid,
                    "host": "api.anthropic.com",
                    "bytes": rng.randint(100, 99999),
                    "ua": "python-httpx/0.27.0",
                }
            )
        elif kind == 2:
            blob = base64.b64encode(rng.randbytes(48)).decode()
            line = f"{ts} DEBUG session refreshed sid={blob} ttl=3600"
        else:
            line = f"{ts} WARN  retrying {rng.choice(paths)} after 429 (attempt {rng.randint(1, 5)}) trace={rid}"
        lines.append(line.encode() + b"\n")
    return lines


def decoy_key(rng: random.Random) -> bytes:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    return ("sk-ant-api03-" + "".join(rng.choice(alphabet) for _ in range(93)) + "AA").encode()


def generate(path: Path, size: int, needles: list[tuple[str, bytes]], seed: int) -> int:
    """Write the log; return how many needles were planted (none when ``needles`` is empty)."""
    rng = random.Random(seed)
    pool = log_lines(rng, 40_000)
    planted = 0
    with path.open("wb") as out:
        written = 0
        while written < size:
            rng.shuffle(pool)
            block = bytearray()
            for line in pool:
                block += line
                if len(block) >= BLOCK:
                    break
            if needles:
                form, literal = needles[planted % len(needles)]
                cut = block.rfind(b"\n", 0, rng.randrange(len(block) // 2, len(block))) + 1
                if planted % BASE64_GZIP_EVERY == BASE64_GZIP_EVERY - 1:
                    # compressible padding: a short binary input alone would go in a stored block,
                    # verbatim, and its base64 would show at the top level as well
                    record = b"value=" + literal + b" " + b"-" * 64
                    batch = base64.b64encode(gzip.compress(record, mtime=0))
                    line = (
                        b'DEBUG batch {"Data":"' + batch + b'"} form=base64+gzip+' + form.encode()
                    )
                else:
                    line = b"DEBUG value=" + literal + b" form=" + form.encode()
                block[cut:cut] = b"2026-08-01T00:00:00Z " + line + b"\n"
                block[:0] = b"2026-08-01T00:00:00Z DEBUG decoy " + decoy_key(rng) + b"\n"
                planted += 1
            block = block[: size - written]
            out.write(block)
            written += len(block)
    return planted


def _peak_rss(pid: int) -> int | None:
    """VmHWM of a running process: its own peak, unlike rusage, which also counts the forking parent."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return None


def run(command: list[str], cwd: Path | None = None) -> tuple[float, int, bytes]:
    """Wall seconds, peak RSS (sampled every 10 ms) and stdout of one child process.

    Output goes to a pipe, never /dev/null: GNU grep notices /dev/null and stops at the first match.
    """
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, cwd=cwd)
    chunks: list[bytes] = []
    drain = threading.Thread(
        target=lambda: chunks.extend(iter(lambda: child.stdout.read(1 << 16), b""))
    )
    drain.start()
    peak = 0
    while child.poll() is None:
        peak = max(peak, _peak_rss(child.pid) or 0)
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    drain.join()
    if child.returncode not in (0, 1):
        raise RuntimeError(f"{command[0]} exited {child.returncode}")
    return elapsed, peak, b"".join(chunks)


REPEAT = 3


def best_of(command: list[str], repeat: int = REPEAT) -> tuple[float, int, bytes]:
    """The fastest of ``repeat`` runs (the machine is shared), with the largest peak RSS seen."""
    runs = [run(command) for _ in range(repeat)]
    fastest = min(runs, key=lambda r: r[0])
    return fastest[0], max(r[1] for r in runs), fastest[2]


def scanner_run(table_file: Path, log: Path, engine: str) -> dict[str, float]:
    results = [
        json.loads(run([sys.executable, "-c", RUNNER, str(table_file), str(log), engine])[2])
        for _ in range(REPEAT)
    ]
    best = min(results, key=lambda r: r["seconds"])
    return {**best, "rss": max(r["rss"] for r in results)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", default="1G", help="log size, e.g. 1G, 256M (default 1G)")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="where to write the data (default: a temp dir)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument(
        "--detect-secrets", default=None, help="detect-secrets executable (default: PATH)"
    )
    parser.add_argument(
        "--ds-fraction", type=int, default=128, help="detect-secrets scans size/N (default 128)"
    )
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args()
    size = parse_size(args.size)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="byok-bench-scan-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        bench(size, workdir, args)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def bench(size: int, workdir: Path, args: argparse.Namespace) -> None:
    table = canaries()
    needles = literals(table)
    table_file = workdir / "canaries.json"
    table_file.write_text(table.model_dump_json())
    # rg and grep read patterns one per line as text: give them every literal that is newline-free UTF-8
    textual = [lit for _, lit in needles if b"\n" not in lit and b"\0" not in lit and _utf8(lit)]
    pattern_file = workdir / "needles.txt"
    pattern_file.write_bytes(b"\n".join(textual) + b"\n")

    log = workdir / "big.log"
    quarter = workdir / "quarter.log"
    clean = workdir / "clean.log"
    print(
        f"generating {size / MiB:.0f} MiB and {size / 4 / MiB:.0f} MiB logs with planted needles and a "
        f"{size / MiB:.0f} MiB log without in {workdir} …",
        flush=True,
    )
    planted = generate(log, size, needles, args.seed)
    generate(quarter, size // 4, needles, args.seed)
    generate(clean, size, [], args.seed)
    roles = ", ".join(sorted({str(c.role) for c in table.canaries}))
    print(
        f"{len(table.canaries)} canaries ({roles}); {len(needles)} literals for the scanner, "
        f"{len(textual)} of them (newline-free UTF-8) for rg/grep; {planted} planted, plus decoy keys\n"
    )

    rows: list[tuple[str, int, float, int | None]] = []
    notes: list[str] = []
    for engine in ("hyperscan", "python"):
        try:
            result = scanner_run(table_file, log, engine)
        except (RuntimeError, json.JSONDecodeError) as exc:
            notes.append(f"byok-audit ({engine}): not run ({exc})")
            continue
        rows.append((f"byok-audit scan ({engine})", size, result["seconds"], int(result["rss"])))
        notes.append(
            f"byok-audit ({engine}): {int(result['hits'])} canary hits for {planted} planted needles, "
            f"{int(result['shapes'])} decoy shape hits"
        )
        if engine == "hyperscan":
            quiet = scanner_run(table_file, clean, engine)
            rows.append(
                (
                    "byok-audit scan (hyperscan, clean log)",
                    size,
                    quiet["seconds"],
                    int(quiet["rss"]),
                )
            )
            small = scanner_run(table_file, quarter, engine)
            notes.append(
                f"peak RSS (hyperscan engine): {small['rss'] / MiB:.0f} MiB for {size / 4 / MiB:.0f} MiB input, "
                f"{result['rss'] / MiB:.0f} MiB for {size / MiB:.0f} MiB input"
            )
    rg = shutil.which("rg")
    if rg:
        seconds, rss, _ = best_of(
            [rg, "-F", "-a", "-o", "-b", "-n", "-f", str(pattern_file), str(log)]
        )
        version = subprocess.run([rg, "--version"], capture_output=True, text=True).stdout.split()[
            1
        ]
        rows.append((f"ripgrep {version} -F -f", size, seconds, rss))
    else:
        notes.append("ripgrep: not installed (apt-get install ripgrep)")
    grep = shutil.which("grep")
    if grep:
        seconds, rss, _ = best_of(
            [grep, "-F", "-a", "-o", "-b", "-n", "-f", str(pattern_file), str(log)]
        )
        rows.append(("GNU grep -F -f", size, seconds, rss))
    ds = args.detect_secrets or shutil.which("detect-secrets")
    if ds:
        part = workdir / "slice.log"
        with log.open("rb") as source:
            part.write_bytes(source.read(max(size // args.ds_fraction, MiB)))
        # run inside the data directory: from within a git checkout detect-secrets skips outside files
        seconds, rss, output = run([ds, "scan", "--all-files", part.name], cwd=workdir)
        findings = sum(len(v) for v in json.loads(output)["results"].values())
        notes.append(f"detect-secrets: {findings} findings in the slice (it has no Anthropic rule)")
        rows.append(
            (f"detect-secrets scan (1/{args.ds_fraction} slice)", part.stat().st_size, seconds, rss)
        )
    else:
        notes.append(
            "detect-secrets: not installed (pip install detect-secrets, e.g. in a /tmp venv)"
        )

    baseline = next((r for r in rows if r[0].startswith("ripgrep")), None)
    base_speed = baseline[1] / baseline[2] if baseline else None
    print(f"{'tool':<40} {'MiB':>7} {'seconds':>8} {'MiB/s':>8} {'vs rg':>7} {'peak RSS':>9}")
    for name, nbytes, seconds, rss in rows:
        speed = nbytes / seconds
        relative = speed / base_speed if base_speed else None
        ratio = (
            "-"
            if relative is None
            else f"{relative:.2f}x"
            if relative >= 0.01
            else f"{relative:.0e}x"
        )
        rate = speed / MiB
        shown = f"{rate:.0f}" if rate >= 100 else f"{rate:.3g}"
        memory = f"{rss / MiB:.0f} MiB" if rss else "-"
        print(f"{name:<40} {nbytes / MiB:>7.0f} {seconds:>8.2f} {shown:>8} {ratio:>7} {memory:>9}")
    print()
    for note in notes:
        print(note)


def _utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


if __name__ == "__main__":
    main()
