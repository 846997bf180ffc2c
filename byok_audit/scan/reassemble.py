"""Join streamed text deltas back together, so a prompt split across SSE events is still found.

Streaming APIs send text in slivers: Anthropic ``content_block_delta`` events, OpenAI
``chat.completion.chunk`` choices, Responses API ``*.delta`` events. A platform that logs the raw stream
(or forwards it to telemetry) leaks the text even though no single event holds it whole. Lines are read
as SSE ``data:`` payloads or JSON objects (also after a log prefix, and once more inside a JSON string
that itself holds an escaped stream); their delta texts are concatenated and scanned like any stream.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from byok_audit.scan.engine import LiteralEngine
from byok_audit.scan.stream import Match, Reader, chunk_reader, iter_chunks, scan_stream

#: Literals whose presence makes a source worth reassembling: a ``"delta":`` key, plain or escaped
#: inside a JSON string (``"delta_ms":`` and other look-alike keys do not count).
MARKERS = (b'"delta":', b'\\"delta\\":')

_MAX_LINE = 1 << 20
_BATCH = 1 << 16
_DECODER = json.JSONDecoder()


@dataclass(frozen=True, slots=True)
class Piece:
    text: bytes
    offset: int  #: source offset of the line (event) the text came from
    line: int


def iter_lines(chunks: Iterable[bytes]) -> Iterator[tuple[int, int, bytes]]:
    """``(offset, line number, line)`` for each line; lines over 1 MiB are skipped (not event lines)."""
    offset, number, start = 0, 1, 0
    partial = bytearray()
    overflow = False
    for chunk in chunks:
        position = 0
        while True:
            newline = chunk.find(b"\n", position)
            if newline < 0:
                if not overflow:
                    partial += chunk[position:]
                    if len(partial) > _MAX_LINE:
                        overflow = True
                        partial.clear()
                break
            if not overflow:
                partial += chunk[position:newline]
                yield start, number, bytes(partial)
            partial.clear()
            overflow = False
            number += 1
            position = newline + 1
            start = offset + position
        offset += len(chunk)
    if partial and not overflow:
        yield start, number, bytes(partial)


def delta_texts(event: object) -> list[str]:
    """The text fragments one streaming event carries, in order."""
    if not isinstance(event, dict):
        return []
    texts: list[str] = []
    delta = event.get("delta")
    if isinstance(delta, str):  # OpenAI Responses API: response.output_text.delta
        texts.append(delta)
    elif isinstance(delta, dict):  # Anthropic content_block_delta
        texts.extend(
            delta[key]
            for key in ("text", "partial_json", "thinking", "content")
            if isinstance(delta.get(key), str)
        )
    choices = event.get("choices")
    if isinstance(choices, list):  # OpenAI chat.completion.chunk / legacy completions
        for choice in choices:
            if not isinstance(choice, dict):
                continue
            inner = choice.get("delta")
            if isinstance(inner, dict) and isinstance(inner.get("content"), str):
                texts.append(inner["content"])
            if isinstance(choice.get("text"), str):
                texts.append(choice["text"])
    return texts


def _payloads(text: str) -> Iterator[object]:
    """JSON values in a line: an SSE ``data:`` payload, a JSON line, or JSON after a log prefix."""
    stripped = text.strip()
    if stripped.startswith("data:"):
        stripped = stripped[5:].strip()
    brace = stripped.find("{")
    if brace < 0:
        return
    try:
        value, _ = _DECODER.raw_decode(stripped, brace)
    except ValueError:
        return
    yield value


def _texts_of_line(line: bytes, depth: int = 0) -> list[str]:
    if not any(marker in line for marker in MARKERS):
        return []
    texts: list[str] = []
    for value in _payloads(line.decode("utf-8", errors="replace")):
        found = delta_texts(value)
        if found:
            texts.extend(found)
        elif depth == 0 and isinstance(value, dict):
            # a log record whose field holds a whole captured stream as a string
            for field in value.values():
                if isinstance(field, str) and '"delta":' in field:
                    for inner in field.splitlines():
                        texts.extend(_texts_of_line(inner.encode(), depth + 1))
    return texts


def pieces(chunks: Iterable[bytes]) -> Iterator[Piece]:
    for offset, number, line in iter_lines(chunks):
        for text in _texts_of_line(line):
            if text:
                yield Piece(text.encode(), offset, number)


@dataclass(frozen=True, slots=True)
class Joined:
    """A match in the joined text, placed back at the event where it began."""

    match: Match
    offset: int
    line: int
    split: bool  #: the match spans more than one piece (a whole one is already a plain hit)


def scan_joined(
    read: Reader,
    engine: LiteralEngine,
    lengths: Sequence[int],
    *,
    context: int,
    chunk_size: int,
) -> Iterator[Joined]:
    """Matches in the concatenated delta text of the stream."""
    origins: deque[tuple[int, int, int]] = deque()  # (joined position, source offset, line)
    lag = 2 * _BATCH + 2 * context + max(lengths, default=0)

    def joined() -> Iterator[bytes]:
        position = 0
        batch = bytearray()
        for piece in pieces(iter_chunks(read, chunk_size)):
            origins.append((position, piece.offset, piece.line))
            batch += piece.text
            position += len(piece.text)
            if len(batch) >= _BATCH:
                yield bytes(batch)
                batch.clear()
                while len(origins) > 2 and origins[1][0] < position - lag:
                    origins.popleft()
        if batch:
            yield bytes(batch)

    found = scan_stream(chunk_reader(joined()), engine, lengths, context=context, chunk_size=_BATCH)
    for match in found:
        while len(origins) > 2 and origins[1][0] <= match.start:
            origins.popleft()
        starts = [origin[0] for origin in origins]
        first = bisect_right(starts, match.start) - 1
        last = bisect_right(starts, match.end - 1) - 1
        _, offset, line = origins[first]
        yield Joined(match, offset, line, split=last != first)
