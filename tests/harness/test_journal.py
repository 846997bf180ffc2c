from __future__ import annotations

from byok_audit.harness.journal import Journal, read_journal


def test_written_exchanges_read_back_with_ids_in_order(tmp_path):
    journal = Journal(tmp_path / "j.jsonl")
    journal.write(kind="http", host="a.example", request_body=b"\xff\x00binary")
    journal.write(kind="connect", host="b.example")
    exchanges = read_journal(tmp_path / "j.jsonl")  # readable before close: line-buffered
    journal.close()
    assert [(e.id, e.kind, e.host) for e in exchanges] == [
        (1, "http", "a.example"),
        (2, "connect", "b.example"),
    ]
    assert exchanges[0].request_body == b"\xff\x00binary"


def test_a_torn_last_line_is_skipped(tmp_path):
    path = tmp_path / "j.jsonl"
    journal = Journal(path)
    journal.write(kind="http", host="a.example")
    journal.close()
    with path.open("a") as f:
        f.write('{"id": 2, "kind": "ht')
    assert [e.id for e in read_journal(path)] == [1]


def test_missing_journal_is_empty(tmp_path):
    assert read_journal(tmp_path / "absent.jsonl") == []
