"""The scanner: does a known secret appear anywhere, in any form? Used by the checks and by ``scan``.

One pass of a multi-literal engine over each source finds every needle (canary encodings, fragments,
digests), compression magic (raw, and as the start of a base64 run), the streaming-delta marker and
key-shape anchors at once; attribution is a lookup on the matched literal. Compressed payloads are
inflated (base64 ones decoded first) and scanned as layers of the same source, streamed text deltas are
joined and scanned again, and everything streams in bounded chunks.
"""

from __future__ import annotations

import os
import re
import stat
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from byok_audit.models.canary import Canary, CanaryTable, fingerprint
from byok_audit.models.evidence import CapturedFile, DbSnapshot, Exchange, Headers, header_values
from byok_audit.scan import shapes as key_shapes
from byok_audit.scan.decode import (
    BASE64_MAGIC,
    CAPPED,
    DEFAULT_CAP,
    EMBEDDED_MAGIC,
    base64_run,
    content_codings,
    decode_body,
    inflate,
    probe_base64,
    sniff,
)
from byok_audit.scan.engine import LiteralEngine, choose, compile_literals
from byok_audit.scan.hits import Hit
from byok_audit.scan.needles import MIN_LITERAL, TEXT_ROLES, needles_for, split_layers
from byok_audit.scan.reassemble import MARKERS, scan_joined
from byok_audit.scan.redact import excerpt
from byok_audit.scan.stream import (
    Match,
    Reader,
    chunk_reader,
    iter_chunks,
    line_numbers,
    scan_stream,
)

#: Bytes of context kept around each match: enough to confirm the longest key shape and to mask tokens.
CONTEXT = 256
#: Compressed layers inside compressed layers are followed this deep.
MAX_DEPTH = 2
#: Embedded compressed blobs (raw or base64) tried per source (each costs a re-read from its offset).
MAX_EMBEDDED = 64
#: Bytes read at a time from a base64 run (runs are usually short; a long one streams on).
_BASE64_READ = 1 << 16
#: Characters that can come before a base64 run's first one only if the run starts earlier.
_BASE64_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-")
DEFAULT_CHUNK = 1 << 22

Progress = Callable[[str, int], None]


@dataclass(frozen=True, slots=True)
class _CanaryTarget:
    owner: int
    form: str
    fragment: bool


@dataclass(frozen=True, slots=True)
class _MagicTarget:
    kind: str


@dataclass(frozen=True, slots=True)
class _Base64MagicTarget:
    kind: str


@dataclass(frozen=True, slots=True)
class _AnchorTarget:
    anchor: bytes


class _MarkerTarget:
    pass


_Target = _CanaryTarget | _MagicTarget | _Base64MagicTarget | _AnchorTarget | _MarkerTarget


class _Source(Protocol):
    def open(self, offset: int = 0) -> AbstractContextManager[Reader]:
        """A reader over the source's bytes from ``offset``."""
        ...


@dataclass(frozen=True, slots=True)
class _BytesSource:
    data: bytes
    chunk_size: int

    @contextmanager
    def open(self, offset: int = 0) -> Iterator[Reader]:
        position = offset
        size = self.chunk_size
        with memoryview(self.data) as data:

            def read(target: memoryview) -> int:
                nonlocal position
                count = min(len(target), len(data) - position, size)
                target[:count] = data[position : position + count]
                position += count
                return count

            yield read


@dataclass(slots=True)
class _FileSource:
    path: Path
    chunk_size: int
    name: str
    progress: Progress | None = None

    @contextmanager
    def open(self, offset: int = 0) -> Iterator[Reader]:
        # progress follows the first pass only; later passes (inflating, joining deltas) re-read
        report, self.progress = self.progress, None
        done = 0
        size = self.chunk_size
        with self.path.open("rb", buffering=0) as handle:
            handle.seek(offset)

            def read(target: memoryview) -> int:
                nonlocal done
                with target[:size] as part:
                    count = handle.readinto(part) or 0
                done += count
                if report is not None and count:
                    report(self.name, done)
                return count

            yield read


@dataclass(frozen=True, slots=True)
class _ChunksSource:
    """Pieces of one byte stream (the messages of a TCP connection), read as one."""

    chunks: tuple[bytes, ...]

    @contextmanager
    def open(self, offset: int = 0) -> Iterator[Reader]:
        yield chunk_reader(_skip(self.chunks, offset))


@dataclass(frozen=True, slots=True)
class _Base64Source:
    """The bytes a base64 run at ``at`` in another source stands for."""

    inner: _Source
    at: int

    @contextmanager
    def open(self, offset: int = 0) -> Iterator[Reader]:
        with self.inner.open(self.at) as read:
            yield chunk_reader(_skip(base64_run(iter_chunks(read, _BASE64_READ)), offset))


@dataclass(slots=True)
class _InflatedSource:
    kind: str
    inner: _Source
    at: int
    cap: int
    chunk_size: int
    problems: list[str] = field(default_factory=list)

    @contextmanager
    def open(self, offset: int = 0) -> Iterator[Reader]:
        with self.inner.open(self.at) as compressed:
            stream = inflate(
                self.kind,
                compressed,
                cap=self.cap,
                chunk_size=self.chunk_size,
                on_problem=self.problems.append,
            )
            yield chunk_reader(_skip(stream, offset))


def _skip(chunks: Iterable[bytes], count: int) -> Iterator[bytes]:
    for chunk in chunks:
        if count >= len(chunk):
            count -= len(chunk)
            continue
        yield chunk[count:]
        count = 0


@dataclass(slots=True)
class _Run:
    """Overlapping fragment matches of one canary, merged into one hit."""

    first: Match
    end: int


class Scanner:
    """Finds canaries (and, in shapes mode, any real-shaped provider key) in bytes, files and evidence.

    Construction only derives the literals (milliseconds); the engine is compiled on first use and
    shared by every scanner with the same literals. ``warnings`` collects what could not be scanned
    completely (damaged or capped compressed streams, undecodable bodies, unreadable files);
    ``unreadable`` lists the files that could not be read at all. Not safe to share between threads
    while scanning.
    """

    def __init__(
        self,
        canaries: Iterable[Canary] | CanaryTable,
        *,
        display_suffix_len: int = 4,
        fragments: bool = True,
        min_fragment: int = 8,
        digests: bool = True,
        shapes: bool = False,
        engine: str | None = None,
        chunk_size: int = DEFAULT_CHUNK,
        max_decompressed: int = DEFAULT_CAP,
        on_progress: Progress | None = None,
    ) -> None:
        if isinstance(canaries, CanaryTable):
            canaries = canaries.canaries
        self.canaries: list[Canary] = list(canaries)
        if min_fragment < MIN_LITERAL:
            raise ValueError(f"min_fragment must be at least {MIN_LITERAL}, got {min_fragment}")
        if display_suffix_len < 0:
            raise ValueError(f"display_suffix_len must be >= 0, got {display_suffix_len}")
        if chunk_size < 1 or max_decompressed < 1:
            raise ValueError("chunk_size and max_decompressed must be positive")
        for canary in self.canaries:
            if len(canary.value) < MIN_LITERAL:
                raise ValueError(
                    f"canary {canary.id!r} is shorter than {MIN_LITERAL} characters: too short to search for"
                )
        self.engine_name = choose(engine)
        self.chunk_size = chunk_size
        self.max_decompressed = max_decompressed
        self.on_progress = on_progress
        self.warnings: list[str] = []
        self.unreadable: list[str] = []
        self._fingerprints = [canary.fingerprint for canary in self.canaries]

        index: dict[bytes, int] = {}
        self._targets: list[list[_Target]] = []

        def slot(literal: bytes) -> list[_Target]:
            if literal not in index:
                index[literal] = len(self._targets)
                self._targets.append([])
            return self._targets[index[literal]]

        for owner, canary in enumerate(self.canaries):
            for needle in needles_for(
                canary.value,
                canary.role,
                display_suffix_len=display_suffix_len,
                fragments_on=fragments,
                min_fragment=min_fragment,
                digests_on=digests,
            ):
                slot(needle.literal).append(_CanaryTarget(owner, needle.form, needle.fragment))
        if shapes:
            for anchor in key_shapes.ANCHORS:
                slot(anchor).append(_AnchorTarget(anchor))
        if index:
            for magic, kind in EMBEDDED_MAGIC.items():
                slot(magic).append(_MagicTarget(kind))
            for text, kind in BASE64_MAGIC.items():
                slot(text).append(_Base64MagicTarget(kind))
        text_owners = [i for i, c in enumerate(self.canaries) if c.role in TEXT_ROLES]
        if text_owners:
            for marker in MARKERS:
                slot(marker).append(_MarkerTarget())
        self._literals = tuple(index)
        self._lengths = [len(literal) for literal in self._literals]
        self._engine: LiteralEngine | None = None
        joined: dict[bytes, list[int]] = {}
        for owner in text_owners:
            joined.setdefault(self.canaries[owner].value.encode(), []).append(owner)
        self._joined_literals = tuple(joined)
        self._joined_owners = list(joined.values())

    # -- public entry points ----------------------------------------------------------------------

    def scan_bytes(self, data: bytes, source: str) -> list[Hit]:
        return _ordered(self._scan(_BytesSource(bytes(data), self.chunk_size), source, "", 0))

    def scan_file(self, path: Path, source: str | None = None) -> list[Hit]:
        """One file, streamed; raises ``OSError`` if it cannot be read."""
        path = Path(path)
        name = source if source is not None else str(path)
        with path.open("rb"):
            pass  # fail here, clearly, rather than halfway through a generator
        file_source = _FileSource(path, self.chunk_size, name, self.on_progress)
        return _ordered(self._scan(file_source, name, "", 0))

    def scan_paths(self, paths: Iterable[Path]) -> list[Hit]:
        """Files, and directories recursively (sorted; symlinked directories and non-regular files skipped).

        A missing top-level path raises ``FileNotFoundError``; a file that cannot be read is listed in
        ``unreadable`` (and ``warnings``) so one bad file does not hide the rest.
        """
        hits: list[Hit] = []
        known = len(self.unreadable)
        for path in iter_files(paths, self.unreadable):
            try:
                hits.extend(self.scan_file(path))
            except OSError as exc:
                self.unreadable.append(f"{path}: {exc.strerror or exc}")
        self.warnings.extend(f"not scanned: {problem}" for problem in self.unreadable[known:])
        return _ordered(hits)

    def scan_exchange(self, exchange: Exchange) -> list[Hit]:
        """Everything the target sent and received in one exchange: path, query, headers and bodies,
        and its WebSocket/TCP/UDP messages in both directions (``exchange 7 message 3 (server)``)."""
        return _ordered(
            self._exchange_side(exchange, "request")
            + self._exchange_side(exchange, "response")
            + self._messages(exchange, from_client=True)
            + self._messages(exchange, from_client=False)
        )

    def scan_request(self, exchange: Exchange) -> list[Hit]:
        """Only what the target sent: path, query, request headers and body, and the messages it sent
        on a WebSocket or TCP/UDP connection (``exchange 7 message 3 (client)``)."""
        return _ordered(
            self._exchange_side(exchange, "request") + self._messages(exchange, from_client=True)
        )

    def scan_captured(self, captured: CapturedFile) -> list[Hit]:
        if captured.missing:
            return []
        return self.scan_bytes(captured.content, captured.name)

    def scan_snapshot(self, snapshot: DbSnapshot) -> list[Hit]:
        """A database snapshot: its logical dump and every raw file (main, ``-wal``, ``-journal``)."""
        hits = self.scan_bytes(snapshot.logical_dump.encode(), f"db {snapshot.label} dump")
        for raw in snapshot.raw_files:
            hits.extend(self.scan_bytes(raw.content, f"db {snapshot.label} {raw.name}"))
        return _ordered(hits)

    # -- internals --------------------------------------------------------------------------------

    def _exchange_side(self, exchange: Exchange, side: str) -> list[Hit]:
        hits: list[Hit] = []
        prefix = f"exchange {exchange.id}"
        if side == "request":
            hits += self.scan_bytes(exchange.path.encode(), f"{prefix} path")
            hits += self.scan_bytes(exchange.query.encode(), f"{prefix} query")
            headers, body = exchange.request_headers, exchange.request_body
        else:
            headers, body = exchange.response_headers, exchange.response_body
        hits += self._headers(headers, f"{prefix} {side} header")
        hits += self._body(body, headers, f"{prefix} {side} body")
        return hits

    def _messages(self, exchange: Exchange, *, from_client: bool) -> list[Hit]:
        """One direction's messages, numbered from 1 in recorded order across both directions.

        WebSocket messages and UDP datagrams are scanned one by one. TCP messages are arbitrary cuts
        of one byte stream (whatever each read returned), so a direction's messages are scanned
        joined, and each hit is named after the message it starts in (``messages 3-5`` when it runs
        on into later ones; all of them when the whole stream was compressed).
        """
        side = "client" if from_client else "server"
        prefix = f"exchange {exchange.id}"
        numbered = [
            (number, message.content)
            for number, message in enumerate(exchange.messages, start=1)
            if message.from_client == from_client and message.content
        ]
        if exchange.kind != "tcp":
            return [
                hit
                for number, content in numbered
                for hit in self.scan_bytes(content, f"{prefix} message {number} ({side})")
            ]
        if not numbered:
            return []
        joined = f"{prefix} {side} stream"
        chunks = _ChunksSource(tuple(content for _, content in numbered))
        placed = _Placement(joined, f"{prefix} message", side, numbered)
        return [placed(hit) for hit in self._scan(chunks, joined, "", 0)]

    def _headers(self, headers: Headers, prefix: str) -> list[Hit]:
        counts = Counter(name.lower() for name, _ in headers)
        seen: Counter[str] = Counter()
        hits: list[Hit] = []
        for name, value in headers:
            lower = name.lower()
            seen[lower] += 1
            suffix = f"[{seen[lower]}]" if counts[lower] > 1 else ""
            hits += self.scan_bytes(value.encode(), f"{prefix} {lower}{suffix}")
        return hits

    def _body(self, body: bytes, headers: Headers, source: str) -> list[Hit]:
        codings = content_codings(header_values(headers, "content-encoding"))
        decoded, layers, problem = decode_body(body, codings, cap=self.max_decompressed)
        hits = self._scan(_BytesSource(decoded, self.chunk_size), source, layers, 0)
        if problem:
            self.warnings.append(f"{source}: {problem}; the raw bytes were scanned as well")
            if layers:
                hits += self._scan(_BytesSource(body, self.chunk_size), source, "", 0)
        return hits

    def _compiled(self) -> LiteralEngine:
        if self._engine is None:
            self._engine = compile_literals(self.engine_name, self._literals)
        return self._engine

    def _scan(self, source: _Source, name: str, layers: str, depth: int) -> list[Hit]:
        if not self._literals:
            return []
        head = bytearray()
        assembler = _Assembler(self, name, layers)
        embedded: dict[int, str] = {}
        streamed = False
        with source.open() as read:

            def tapped(view: memoryview) -> int:
                count = read(view)
                if len(head) < 16:
                    head.extend(view[: min(count, 16 - len(head))])
                return count

            engine = self._compiled()
            found = scan_stream(
                tapped, engine, self._lengths, context=CONTEXT, chunk_size=self.chunk_size
            )
            for match in found:
                for target in self._targets[match.literal]:
                    if isinstance(target, _CanaryTarget):
                        assembler.canary(match, target)
                    elif isinstance(target, _AnchorTarget):
                        assembler.shape(match, target.anchor)
                    elif isinstance(target, _MagicTarget):
                        if match.start > 0:
                            embedded.setdefault(match.start, target.kind)
                    elif isinstance(target, _Base64MagicTarget):
                        if _base64_blob(match, target.kind):
                            embedded.setdefault(match.start, f"base64+{target.kind}")
                    else:
                        streamed = True
        hits = self._with_lines(source, assembler.finish())
        if depth < MAX_DEPTH:
            hits += self._inflated(source, name, layers, depth, sniff(bytes(head)), embedded)
        if streamed and self._joined_literals:
            hits += self._joined(source, name, layers)
        return hits

    def _with_lines(self, source: _Source, hits: list[Hit]) -> list[Hit]:
        if not hits:
            return hits
        with source.open() as read:
            lines = line_numbers(read, (hit.offset for hit in hits), self.chunk_size)
        return [hit.model_copy(update={"line": lines[hit.offset]}) for hit in hits]

    def _inflated(
        self,
        source: _Source,
        name: str,
        layers: str,
        depth: int,
        whole: str | None,
        embedded: dict[int, str],
    ) -> list[Hit]:
        members = ([(0, whole, True)] if whole else []) + [
            (offset, kind, False) for offset, kind in sorted(embedded.items())
        ]
        if len(members) > MAX_EMBEDDED:
            self.warnings.append(
                f"{name}: {len(members)} compressed blobs found; only the first {MAX_EMBEDDED} were inflated"
            )
            members = members[:MAX_EMBEDDED]
        hits: list[Hit] = []
        cap, size = self.max_decompressed, self.chunk_size
        for offset, kind, is_whole in members:
            if kind.startswith("base64+"):
                compression = kind.removeprefix("base64+")
                inflated = _InflatedSource(compression, _Base64Source(source, offset), 0, cap, size)
            else:
                inflated = _InflatedSource(kind, source, offset, cap, size)
            member = name if is_whole else f"{name}!{kind}@{offset}"
            hits += self._scan(inflated, member, f"{layers}{kind}+", depth + 1)
            # a compressed file that does not inflate is worth a word, a blob-like byte pattern that
            # does not is not; a capped stream always is (something was left unscanned)
            for problem in dict.fromkeys(inflated.problems):  # later passes may meet it again
                if CAPPED in problem or (is_whole and kind != "zlib"):
                    self.warnings.append(f"{member}: {problem}")
        return hits

    def _joined(self, source: _Source, name: str, layers: str) -> list[Hit]:
        engine = compile_literals(self.engine_name, self._joined_literals)
        lengths = [len(literal) for literal in self._joined_literals]
        hits: list[Hit] = []
        seen: set[tuple[int, int]] = set()
        with source.open() as read:
            found = list(
                scan_joined(read, engine, lengths, context=CONTEXT, chunk_size=self.chunk_size)
            )
        for joined in found:
            if not joined.split:
                continue
            match = joined.match
            for owner in self._joined_owners[match.literal]:
                if (owner, joined.offset) in seen:
                    continue
                seen.add((owner, joined.offset))
                canary = self.canaries[owner]
                hits.append(
                    Hit(
                        canary_id=canary.id,
                        role=str(canary.role),
                        fingerprint=self._fingerprints[owner],
                        form=f"{layers}sse-reassembled",
                        source=name,
                        offset=joined.offset,
                        line=joined.line,
                        excerpt="joined deltas: "
                        + excerpt(
                            match.window,
                            match.at,
                            match.at + len(canary.value.encode()),
                            canary.label,
                        ),
                        length=match.end - match.start,
                    )
                )
        return hits


_MEMBER = re.compile(r"!([^@!]+)@(\d+)(.*)", re.DOTALL)
_MEMBER_KINDS = re.compile(r"!([^@!]+)@\d+")


class _Placement:
    """Renames hits in a joined message stream after the message each starts in, at its offset there."""

    def __init__(
        self, joined: str, prefix: str, side: str, numbered: list[tuple[int, bytes]]
    ) -> None:
        self.joined = joined
        self.prefix = prefix
        self.side = side
        self.numbers = [number for number, _ in numbered]
        self.contents = [content for _, content in numbered]
        self.starts: list[int] = []
        position = 0
        for content in self.contents:
            self.starts.append(position)
            position += len(content)

    def _name(self, first: int, last: int) -> str:
        numbers = self.numbers
        span = f" {numbers[first]}" if first == last else f"s {numbers[first]}-{numbers[last]}"
        return f"{self.prefix}{span} ({self.side})"

    def _index(self, offset: int) -> int:
        return bisect_right(self.starts, offset) - 1

    def __call__(self, hit: Hit) -> Hit:
        members = hit.source[len(self.joined) :]
        # layers beyond those of the blobs named in the source: the whole stream was inflated first,
        # and offsets (the hit's, or its blob's) are in the inflated text
        blob_layers = sum(len(kind.split("+")) for kind in _MEMBER_KINDS.findall(members))
        if len(split_layers(hit.form)[0]) > blob_layers:
            return hit.model_copy(update={"source": self._name(0, len(self.numbers) - 1) + members})
        member = _MEMBER.fullmatch(members)
        if member is not None:  # a blob in the stream itself: named after the message it starts in
            kind, at, rest = member.group(1), int(member.group(2)), member.group(3)
            index = self._index(at)
            source = f"{self._name(index, index)}!{kind}@{at - self.starts[index]}{rest}"
            return hit.model_copy(update={"source": source})
        first = self._index(hit.offset)
        # a reassembled hit's length is measured in the joined deltas, not in the stream
        reach = hit.offset + (1 if hit.form == "sse-reassembled" else max(hit.length, 1))
        last = self._index(reach - 1)
        offset = hit.offset - self.starts[first]
        line = 1 + self.contents[first].count(b"\n", 0, offset)
        return hit.model_copy(
            update={"source": self._name(first, last), "offset": offset, "line": line}
        )


class _Assembler:
    """Turns ordered matches of one source into hits: most specific form wins, fragments merge into runs."""

    def __init__(self, scanner: Scanner, source: str, layers: str) -> None:
        self.scanner = scanner
        self.source = source
        self.layers = layers
        self.hits: list[Hit] = []
        self.strong_end: dict[int, int] = {}
        self.last_strong: dict[int, int] = {}  # owner -> index in hits of its latest strong hit
        self.runs: dict[int, _Run] = {}
        self.raw_spans: set[tuple[int, int]] = set()

    def canary(self, match: Match, target: _CanaryTarget) -> None:
        owner = target.owner
        if self.strong_end.get(owner, -1) >= match.end:
            return  # inside a hit already kept for this canary (a raw key holds its own fragments)
        if target.fragment:
            run = self.runs.get(owner)
            if run is not None and match.start < run.end:
                run.end = max(run.end, match.end)
                return
            if run is not None:
                self._emit_run(owner, run)
            self.runs[owner] = _Run(match, match.end)
            return
        overlapped = self.strong_end.get(owner, -1) > match.start
        self.strong_end[owner] = max(self.strong_end.get(owner, -1), match.end)
        if target.form == "raw":
            if len(self.raw_spans) > 4096:
                self.raw_spans = {s for s in self.raw_spans if s[0] >= match.start - CONTEXT}
            self.raw_spans.add((match.start, match.end))
        if overlapped:
            # one occurrence read two ways (UTF-16 text fits both byte orders one byte apart):
            # keep the longer reading, and little-endian on a tie (Windows, SQLite)
            previous = self.hits[self.last_strong[owner]]
            length = match.end - match.start
            if length > previous.length or (length == previous.length and target.form == "utf16le"):
                self.hits[self.last_strong[owner]] = self._hit(owner, target.form, match, match.end)
            return
        self.last_strong[owner] = len(self.hits)
        self._emit(owner, target.form, match, match.end)

    def shape(self, match: Match, anchor: bytes) -> None:
        found = key_shapes.confirm(anchor, match.window, match.at)
        if found is None:
            return
        name, begin, end = found
        start, stop = match.window_start + begin, match.window_start + end
        if (start, stop) in self.raw_spans:
            return  # it is one of our canaries, already reported as such
        value = match.window[begin:end]
        fp = fingerprint(value)
        self.hits.append(
            Hit(
                canary_id=None,
                role=f"shape:{name}",
                fingerprint=fp,
                form=f"{self.layers}raw",
                source=self.source,
                offset=start,
                line=0,  # counted after the scan, for sources with hits only
                excerpt=excerpt(match.window, begin, end, f"shape:{name}#{fp}"),
                length=stop - start,
            )
        )

    def finish(self) -> list[Hit]:
        for owner, run in sorted(self.runs.items()):
            self._emit_run(owner, run)
        self.runs.clear()
        return self.hits

    def _emit_run(self, owner: int, run: _Run) -> None:
        self._emit(owner, "fragment", run.first, run.end)

    def _emit(self, owner: int, form: str, match: Match, end: int) -> None:
        self.hits.append(self._hit(owner, form, match, end))

    def _hit(self, owner: int, form: str, match: Match, end: int) -> Hit:
        canary = self.scanner.canaries[owner]
        return Hit(
            canary_id=canary.id,
            role=str(canary.role),
            fingerprint=self.scanner._fingerprints[owner],
            form=f"{self.layers}{form}",
            source=self.source,
            offset=match.start,
            line=0,  # counted after the scan, for sources with hits only
            excerpt=excerpt(match.window, match.at, end - match.window_start, canary.label),
            length=end - match.start,
        )


def _base64_blob(match: Match, kind: str) -> bool:
    """The base64 magic starts a run (nothing base64 before it) that may stand for a ``kind`` stream."""
    if match.at > 0 and match.window[match.at - 1] in _BASE64_CHARS:
        return False
    return probe_base64(match.window[match.at :], kind)


def _ordered(hits: list[Hit]) -> list[Hit]:
    """Deterministic order, one hit per (needle, source, offset): the first (most specific) one."""
    seen: set[tuple[str | None, str, str, str, int]] = set()
    unique = []
    for hit in hits:
        key = (hit.canary_id, hit.role, hit.fingerprint, hit.source, hit.offset)
        if key not in seen:
            seen.add(key)
            unique.append(hit)
    return sorted(unique, key=lambda hit: hit.sort_key)


def iter_files(paths: Iterable[Path], unreadable: list[str]) -> Iterator[Path]:
    """Regular files under ``paths`` in a stable order; raises ``FileNotFoundError`` for a missing one.

    Directories are walked sorted, without following symlinked directories; sockets, FIFOs and devices
    are skipped (reading one could block). What cannot be listed or examined goes to ``unreadable``.
    """
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or directory")
        if not path.is_dir():
            if _regular(path, unreadable):
                yield path
            continue
        for root, dirs, files in os.walk(
            path, onerror=lambda e: unreadable.append(f"{e.filename}: {e.strerror}")
        ):
            dirs.sort()
            for name in sorted(files):
                candidate = Path(root) / name
                if _regular(candidate, unreadable):
                    yield candidate


def _regular(path: Path, unreadable: list[str]) -> bool:
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError as exc:
        unreadable.append(f"{path}: {exc.strerror or exc}")
        return False
