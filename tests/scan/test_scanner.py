from __future__ import annotations

import base64
import gzip
import json
import os
import random
import sqlite3
import zlib
from pathlib import Path

import brotli
import pytest
import zstandard

from byok_audit.models.canary import Canary, CanaryRole, CanaryTable
from byok_audit.models.evidence import CapturedFile, DbFile, DbSnapshot, Exchange, StreamMessage
from byok_audit.scan import Hit, Scanner
from tests.scan.support import canaries, values

VALUES = values()
KEY1 = VALUES["KEY1"]
KEY2 = VALUES["KEY2"]


def _scanner(**options) -> Scanner:
    return Scanner(canaries(), **options)


def _summary(hits: list[Hit]) -> list[tuple[str | None, str, str, int]]:
    return [(h.canary_id or h.role, h.form, h.source, h.offset) for h in hits]


def test_a_raw_key_is_one_hit_not_ninety_fragments(engine: str) -> None:
    hits = _scanner().scan_bytes(f"a {KEY1} b {KEY1}\n".encode(), "log")
    assert _summary(hits) == [("KEY1", "raw", "log", 2), ("KEY1", "raw", "log", 113)]
    assert hits[0].length == len(KEY1)
    assert hits[0].fingerprint == canaries()[0].fingerprint


def test_a_fragment_run_is_one_hit_with_its_length(engine: str) -> None:
    hits = _scanner().scan_bytes(f"cached {KEY1[13:60]} end".encode(), "log")
    assert _summary(hits) == [("KEY1", "fragment", "log", 7)]
    assert hits[0].length == 47


def test_switches_and_the_display_suffix(engine: str) -> None:
    data = f"{KEY1[20:40]} {KEY1}".encode()
    assert [h.form for h in _scanner(fragments=False).scan_bytes(data, "x")] == ["raw"]
    digest = base64.b64encode(__import__("hashlib").sha256(KEY1.encode()).digest())
    assert _scanner(digests=False).scan_bytes(digest, "x") == []
    assert [h.form for h in _scanner().scan_bytes(digest, "x")] == ["sha256-base64"]
    wide = _scanner(display_suffix_len=12)
    assert wide.scan_bytes(KEY1[-10:].encode(), "x") == []
    assert [h.form for h in wide.scan_bytes(KEY1[-14:].encode(), "x")] == ["fragment"]


def test_every_canary_is_matched_on_its_own(engine: str) -> None:
    data = " ".join(
        VALUES[name] for name in ("KEY1", "KEY2", "OAT1", "PROMPT", "RESPONSE", "MASTER")
    )
    hits = _scanner().scan_bytes(data.encode(), "x")
    assert [h.canary_id for h in hits] == ["KEY1", "KEY2", "OAT1", "PROMPT", "RESPONSE", "MASTER"]
    assert {h.role for h in hits} == {"key", "oauth_token", "prompt", "response", "master_secret"}


def test_shapes_mode_without_canaries() -> None:
    hits = Scanner([], shapes=True).scan_bytes(f"{VALUES['OTHERKEY']} {KEY1}".encode(), "x")
    assert [(h.canary_id, h.role, h.form) for h in hits] == [
        (None, "shape:anthropic-api03", "raw"),
        (None, "shape:anthropic-api03", "raw"),
    ]
    assert Scanner([]).scan_bytes(KEY1.encode(), "x") == []


def test_construction_rejects_what_cannot_be_searched_for() -> None:
    with pytest.raises(ValueError, match="'tiny'"):
        Scanner([Canary(id="tiny", role=CanaryRole.KEY, value="abc")])
    with pytest.raises(ValueError, match="min_fragment"):
        Scanner([], min_fragment=4)
    with pytest.raises(ValueError, match="display_suffix_len"):
        Scanner([], display_suffix_len=-1)
    with pytest.raises(ValueError, match="engine"):
        Scanner([], engine="turbo")


def test_a_canary_table_is_accepted_as_is() -> None:
    table = CanaryTable.fresh()
    key = table.key("key-a", "alice")
    hits = Scanner(table).scan_bytes(key.value.encode(), "x")
    assert [h.canary_id for h in hits] == ["key-a"]


def _exchange() -> Exchange:
    return Exchange(
        id=7,
        kind="http",
        started=0.0,
        method="POST",
        path=f"/v1/messages/{KEY2}",
        query=f"key={KEY1}",
        request_headers=[
            ("X-Api-Key", KEY1),
            ("Content-Encoding", "gzip"),
            ("Cookie", "a=1"),
            ("cookie", f"k={KEY2}"),
        ],
        request_body=gzip.compress(f'{{"prompt": "{VALUES["PROMPT"]}"}}'.encode()),
        response_status=200,
        response_headers=[("content-encoding", "br")],
        response_body=brotli.compress(f'{{"text": "{VALUES["RESPONSE"]}"}}'.encode()),
    )


def test_an_exchange_is_scanned_part_by_part(engine: str) -> None:
    hits = _scanner().scan_exchange(_exchange())
    assert [(h.canary_id, h.form, h.source) for h in hits] == [
        ("KEY2", "raw", "exchange 7 path"),
        ("KEY1", "raw", "exchange 7 query"),
        ("PROMPT", "gzip+raw", "exchange 7 request body"),
        ("KEY2", "raw", "exchange 7 request header cookie[2]"),
        ("KEY1", "raw", "exchange 7 request header x-api-key"),
        ("RESPONSE", "br+raw", "exchange 7 response body"),
    ]


def test_scan_request_sees_only_what_the_target_sent() -> None:
    sources = {h.source for h in _scanner().scan_request(_exchange())}
    assert sources and not any("response" in s for s in sources)


def _messages(*parts: tuple[bool, bytes]) -> list[StreamMessage]:
    return [
        StreamMessage(from_client=client, content=data, timestamp=float(n))
        for n, (client, data) in enumerate(parts)
    ]


def test_websocket_messages_are_scanned_one_by_one_with_their_direction(engine: str) -> None:
    exchange = Exchange(
        id=7,
        kind="http",
        started=0.0,
        method="GET",
        path="/socket",
        messages=_messages(
            (True, b'{"type":"hello"}'),
            (False, f'{{"echo":"{VALUES["RESPONSE"]}"}}'.encode()),
            (True, f'{{"auth":"{KEY1}"}}'.encode()),
            (True, base64.b64encode(f"prompt={VALUES['PROMPT']}".encode())),
        ),
    )
    sent = [(h.canary_id, h.form, h.source, h.offset) for h in _scanner().scan_request(exchange)]
    assert sent == [
        ("KEY1", "raw", "exchange 7 message 3 (client)", 9),
        ("PROMPT", "base64", "exchange 7 message 4 (client)", 10),
    ]
    both = [(h.canary_id, h.source) for h in _scanner().scan_exchange(exchange)]
    assert both == [
        ("RESPONSE", "exchange 7 message 2 (server)"),
        ("KEY1", "exchange 7 message 3 (client)"),
        ("PROMPT", "exchange 7 message 4 (client)"),
    ]


def test_a_key_split_across_tcp_chunks_is_found_where_it_starts(engine: str) -> None:
    exchange = Exchange(
        id=9,
        kind="tcp",
        started=0.0,
        messages=_messages(
            (True, b"HELLO v1\r\n"),
            (False, b"+OK\r\n"),
            (True, f"AUTH {KEY1[:50]}".encode()),
            (True, b""),
            (True, f"{KEY1[50:]}\r\nSEND {KEY2}\r\n".encode()),
            (False, f"LATER {KEY2[:40]}".encode()),
        ),
    )
    hits = _scanner(fragments=False).scan_request(exchange)
    assert [(h.canary_id, h.form, h.source, h.offset, h.length) for h in hits] == [
        ("KEY2", "raw", "exchange 9 message 5 (client)", len(KEY1) - 50 + 7, len(KEY2)),
        ("KEY1", "raw", "exchange 9 messages 3-5 (client)", 5, len(KEY1)),
    ]
    assert [h.line for h in hits] == [2, 1], "lines are those of the message the hit starts in"
    server = [h for h in _scanner().scan_exchange(exchange) if "server" in h.source]
    assert [(h.canary_id, h.form, h.source, h.offset) for h in server] == [
        ("KEY2", "fragment", "exchange 9 message 6 (server)", 6 + 13)
    ]


def test_compressed_data_in_a_tcp_stream_names_the_messages_it_came_from(engine: str) -> None:
    whole = gzip.compress(f"auth {KEY1}\n".encode() * 3, mtime=0)
    blob = zstandard.ZstdCompressor().compress(f"prompt {VALUES['PROMPT']}".encode())
    exchange = Exchange(
        id=4,
        kind="tcp",
        started=0.0,
        messages=_messages((True, whole[:20]), (False, b"ok"), (True, whole[20:])),
    )
    hits = _scanner().scan_request(exchange)
    assert {(h.form, h.source) for h in hits} == {("gzip+raw", "exchange 4 messages 1-3 (client)")}
    assert [h.line for h in hits] == [1, 2, 3]
    embedded = Exchange(
        id=5,
        kind="tcp",
        started=0.0,
        messages=_messages((True, b"x" * 10), (True, b"PUT " + blob[:9]), (True, blob[9:])),
    )
    hits = _scanner().scan_request(embedded)
    assert [(h.canary_id, h.form, h.source, h.offset) for h in hits] == [
        ("PROMPT", "zstd+raw", "exchange 5 message 2 (client)!zstd@4", 7),
        ("PROMPT", "raw", "exchange 5 message 3 (client)", blob.index(b"BYOKP") - 9),
    ]
    nested = gzip.compress(b"header " + blob, mtime=0)
    both = Exchange(
        id=6, kind="tcp", started=0.0, messages=_messages((True, nested[:15]), (True, nested[15:]))
    )
    hits = _scanner().scan_request(both)
    assert [(h.form, h.source, h.offset) for h in hits] == [
        ("gzip+raw", "exchange 6 messages 1-2 (client)", 7 + blob.index(b"BYOKP")),
        ("gzip+zstd+raw", "exchange 6 messages 1-2 (client)!zstd@7", 7),
    ], "a blob inside the inflated stream keeps its offset there"
    twice = gzip.compress(b"header " + gzip.compress(blob, mtime=0), mtime=0)
    alike = Exchange(
        id=8, kind="tcp", started=0.0, messages=_messages((True, twice[:15]), (True, twice[15:]))
    )
    assert {(h.form, h.source) for h in _scanner().scan_request(alike)} == {
        ("gzip+gzip+raw", "exchange 8 messages 1-2 (client)!gzip@7")
    }, "the zstd frame inside is one layer deeper than MAX_DEPTH"


COMPRESS = {
    "gzip": lambda data: gzip.compress(data, mtime=0),
    "zlib": zlib.compress,
    "zstd": zstandard.ZstdCompressor().compress,
}
BASE64_STYLES = {
    "standard": lambda blob: base64.b64encode(blob).decode(),
    "url-safe, unpadded": lambda blob: base64.urlsafe_b64encode(blob).rstrip(b"=").decode(),
    "json \\/": lambda blob: base64.b64encode(blob).decode().replace("/", "\\/"),
}


def _record(kind: str, style: str) -> tuple[bytes, int]:
    """A Kinesis PutRecords body whose record data is base64 of compressed JSON; where the data starts."""
    inner = json.dumps({"api_key": KEY1, "messages": [{"content": VALUES["PROMPT"]}]}).encode()
    data = BASE64_STYLES[style](COMPRESS[kind](inner))
    body = f'{{"StreamName":"events","Records":[{{"Data":"{data}","PartitionKey":"7"}}]}}'
    return body.encode(), body.index(data)


@pytest.mark.parametrize("style", sorted(BASE64_STYLES))
@pytest.mark.parametrize("kind", sorted(COMPRESS))
def test_base64_of_compressed_json_is_inflated_and_scanned(
    engine: str, kind: str, style: str
) -> None:
    body, at = _record(kind, style)
    exchange = Exchange(id=3, kind="http", started=0.0, method="POST", request_body=body)
    hits = [h for h in _scanner().scan_request(exchange) if h.form.startswith("base64+")]
    source = f"exchange 3 request body!base64+{kind}@{at}"
    assert [(h.canary_id, h.form, h.source, h.offset) for h in hits] == [
        ("KEY1", f"base64+{kind}+raw", source, 13),
        ("PROMPT", f"base64+{kind}+raw", source, 13 + len(KEY1) + 29),
    ]


def test_base64_of_compressed_data_is_found_inside_other_layers(
    engine: str, tmp_path: Path
) -> None:
    body, at = _record("zlib", "standard")
    exchange = Exchange(
        id=4,
        kind="http",
        started=0.0,
        request_headers=[("Content-Encoding", "gzip")],
        request_body=gzip.compress(body),
    )
    hits = _scanner().scan_request(exchange)
    assert {(h.form, h.source) for h in hits} == {
        ("gzip+base64+zlib+raw", f"exchange 4 request body!base64+zlib@{at}")
    }
    log = tmp_path / "shipper.log.gz"
    log.write_bytes(gzip.compress(b"batch " + body + b"\n"))
    hits = _scanner().scan_paths([log])
    assert {(h.form, h.source, h.line) for h in hits} == {
        ("gzip+base64+zlib+raw", f"{log}!base64+zlib@{at + 6}", 1)
    }


def test_mime_wrapped_base64_of_gzip_is_followed_across_lines(engine: str) -> None:
    noise = random.Random(1)
    text = "".join(f"{noise.randbytes(16).hex()} {VALUES['PROMPT']}\n" for _ in range(40))
    attachment = base64.encodebytes(gzip.compress(text.encode(), mtime=0))
    mail = b"Content-Transfer-Encoding: base64\r\n\r\n" + attachment.replace(b"\n", b"\r\n")
    assert attachment.count(b"\n") > 1
    hits = _scanner().scan_bytes(mail, "mail")
    assert len(hits) == 40
    assert {(h.form, h.source) for h in hits} == {("base64+gzip+raw", "mail!base64+gzip@37")}


def test_base64_look_alikes_are_not_inflated_and_say_nothing(engine: str) -> None:
    blob = base64.b64encode(gzip.compress(KEY1.encode())).decode()
    inside = base64.b64encode(b"\x00" * 30).decode()
    no_stream = base64.b64encode(b"x\x9c" + bytes(40)).decode()
    lines = [
        f"sid=QUJD{blob}",  # a run that does not start with the stream: not a compressed blob
        f"token={inside[:8]}H4sI{inside}",  # gzip's base64 magic in the middle of a run
        "status eJxample eNote eAEon",  # words that begin like zlib base64
        f"blob={no_stream}",  # a zlib header, then no stream
        f"short=H4sIAAAA {base64.b64encode(zlib.compress(b'seven!!')).decode()}",
    ]
    scanner = _scanner(fragments=False)
    assert scanner.scan_bytes("\n".join(lines).encode(), "log") == []
    assert scanner.warnings == []


def test_a_base64_bomb_stops_at_the_cap(engine: str) -> None:
    bomb = base64.b64encode(gzip.compress(bytes(8 << 20) + KEY1.encode(), mtime=0))
    line = b'{"Data":"' + bomb + b'"}'
    capped = _scanner(max_decompressed=1 << 20)
    assert capped.scan_bytes(line, "log") == []
    assert capped.warnings == [
        "log!base64+gzip@9: gzip output capped at 1048576 bytes (possible decompression bomb)"
    ]
    assert [h.form for h in _scanner().scan_bytes(line, "log")] == ["base64+gzip+raw"]


def test_a_raw_deflate_body_is_decoded(engine: str) -> None:
    deflater = zlib.compressobj(wbits=-15)
    body = deflater.compress(f"key={KEY1}".encode()) + deflater.flush()
    for data in (body, zlib.compress(f"key={KEY1}".encode())):
        exchange = Exchange(
            id=2,
            kind="http",
            started=0.0,
            request_headers=[("Content-Encoding", "deflate")],
            request_body=data,
        )
        scanner = _scanner()
        assert [h.form for h in scanner.scan_request(exchange)] == ["deflate+raw"]
        assert scanner.warnings == []


def test_an_undecodable_body_is_scanned_raw_with_a_warning() -> None:
    scanner = _scanner()
    exchange = Exchange(
        id=1,
        kind="http",
        started=0.0,
        request_headers=[("content-encoding", "gzip")],
        request_body=f"not gzip {KEY1}".encode(),
    )
    assert [h.form for h in scanner.scan_request(exchange)] == ["raw"]
    assert "exchange 1 request body" in scanner.warnings[0]


def test_captured_files_use_their_name() -> None:
    captured = CapturedFile(name="stderr", kind="stderr", path="", content=f"x {KEY1}".encode())
    assert [h.source for h in _scanner().scan_captured(captured)] == ["stderr"]
    missing = CapturedFile(name="app.log", kind="log", path="/nope", missing=True)
    assert _scanner().scan_captured(missing) == []


def _sqlite_files(tmp_path: Path, encoding: str = "UTF-8") -> dict[str, bytes]:
    """A real SQLite database: a key committed to the WAL, then overwritten in an open transaction."""
    path = tmp_path / "app.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(f"PRAGMA encoding = '{encoding}'")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA wal_autocheckpoint = 0")
    db.execute("CREATE TABLE keys (user TEXT, key TEXT)")
    db.execute("INSERT INTO keys VALUES ('alice', ?)", (KEY1,))
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    db.close()
    return files


def test_a_key_in_the_sqlite_wal_is_found(tmp_path: Path, engine: str) -> None:
    files = _sqlite_files(tmp_path)
    assert KEY1.encode() not in files["app.db"], "not checkpointed yet"
    snapshot = DbSnapshot(
        label="after-put",
        step_index=1,
        taken=0.0,
        engine="sqlite",
        raw_files=[DbFile(name=name, content=data) for name, data in sorted(files.items())],
    )
    hits = _scanner().scan_snapshot(snapshot)
    assert [(h.canary_id, h.form, h.source) for h in hits] == [
        ("KEY1", "raw", "db after-put app.db-wal")
    ]


def test_a_key_in_a_rollback_journal_is_found(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = DELETE")
    db.execute("CREATE TABLE keys (key TEXT)")
    db.execute("INSERT INTO keys VALUES (?)", (KEY1,))
    db.execute("BEGIN")
    db.execute("UPDATE keys SET key = 'deleted'")
    db.execute("PRAGMA cache_spill = 1")
    journal = tmp_path / "app.db-journal"
    assert journal.exists()
    hits = _scanner().scan_paths([journal])
    db.execute("ROLLBACK")
    db.close()
    assert [(h.canary_id, h.form) for h in hits] == [("KEY1", "raw")]


def test_a_utf16_sqlite_database_is_searched_in_utf16(tmp_path: Path) -> None:
    files = _sqlite_files(tmp_path, "UTF-16le")
    hits = _scanner().scan_bytes(files["app.db-wal"], "wal")
    assert [(h.canary_id, h.form) for h in hits] == [("KEY1", "utf16le")]


def test_paths_are_walked_in_a_stable_order(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.log").write_text(KEY1)
    (tmp_path / "a.log").write_text(KEY2)
    (tmp_path / "b" / "c.log.gz").write_bytes(gzip.compress(KEY1.encode()))
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    scanner = _scanner()
    hits = scanner.scan_paths([tmp_path])
    root = str(tmp_path)
    assert [(h.source.removeprefix(root), h.form) for h in hits] == [
        ("/a.log", "raw"),
        ("/b/c.log.gz", "gzip+raw"),
        ("/b/z.log", "raw"),
    ]
    assert scanner.unreadable == [f"{tmp_path / 'dangling'}: No such file or directory"]
    with pytest.raises(FileNotFoundError, match="nowhere"):
        scanner.scan_paths([tmp_path / "nowhere"])


def test_a_damaged_gz_log_is_scanned_as_far_as_it_goes(tmp_path: Path) -> None:
    data = gzip.compress(f"early {KEY1}\n".encode() + os.urandom(20000).hex().encode())
    (tmp_path / "app.log.2.gz").write_bytes(data[: len(data) // 2])
    scanner = _scanner()
    assert [h.form for h in scanner.scan_paths([tmp_path])] == ["gzip+raw"]
    assert "app.log.2.gz" in scanner.warnings[0] and "gzip" in scanner.warnings[0]


def test_the_decompression_cap_is_reported(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.gz"
    bomb.write_bytes(gzip.compress(bytes(8 << 20) + KEY1.encode()))
    scanner = _scanner(max_decompressed=1 << 20)
    assert scanner.scan_paths([bomb]) == []
    assert "capped" in scanner.warnings[0]
    assert [h.form for h in _scanner().scan_paths([bomb])] == ["gzip+raw"]
    embedded = _scanner(max_decompressed=1 << 20)
    assert embedded.scan_bytes(b"row " + bomb.read_bytes(), "db") == []
    assert embedded.warnings[0].startswith("db!gzip@4: gzip output capped")


def test_progress_is_reported_once_per_file(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_bytes(b"x" * 5000)
    (tmp_path / "b.log.gz").write_bytes(gzip.compress(os.urandom(3000)))
    seen: list[tuple[str, int]] = []
    Scanner(canaries(), chunk_size=1024, on_progress=lambda s, n: seen.append((s, n))).scan_paths(
        [tmp_path]
    )
    size = (tmp_path / "b.log.gz").stat().st_size
    assert [n for s, n in seen if s.endswith("a.log")] == [1024, 2048, 3072, 4096, 5000]
    assert [n for s, n in seen if s.endswith(".gz")][-1] == size, "inflating does not restart it"
    assert len([n for s, n in seen if s.endswith(".gz")]) == -(-size // 1024)
