from __future__ import annotations

import json

from byok_audit.scan.reassemble import delta_texts, iter_lines, pieces


def test_delta_texts_of_each_streaming_api() -> None:
    anthropic = {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "Hel"}}
    tool = {
        "type": "content_block_delta",
        "delta": {"type": "input_json_delta", "partial_json": '{"a'},
    }
    openai = {"object": "chat.completion.chunk", "choices": [{"delta": {"content": "lo"}}]}
    responses = {"type": "response.output_text.delta", "delta": "!"}
    legacy = {"choices": [{"text": "?"}]}
    assert [delta_texts(e) for e in (anthropic, tool, openai, responses, legacy)] == [
        ["Hel"],
        ['{"a'],
        ["lo"],
        ["!"],
        ["?"],
    ]
    assert delta_texts(["not", "an", "event"]) == []
    assert delta_texts({"type": "ping"}) == []


def test_lines_carry_offsets_and_numbers_across_chunks() -> None:
    data = b"first\nsecond line\n\nlast"
    chunks = [data[i : i + 3] for i in range(0, len(data), 3)]
    assert list(iter_lines(chunks)) == [
        (0, 1, b"first"),
        (6, 2, b"second line"),
        (18, 3, b""),
        (19, 4, b"last"),
    ]


def test_an_overlong_line_is_skipped_not_buffered() -> None:
    data = b"short\n" + b"x" * (2 << 20) + b"\nafter\n"
    lines = list(iter_lines([data[i : i + 65536] for i in range(0, len(data), 65536)]))
    assert [line for _, _, line in lines] == [b"short", b"after"]
    assert lines[1][1] == 3


def test_pieces_come_from_sse_json_lines_and_log_records() -> None:
    event = json.dumps({"type": "content_block_delta", "delta": {"text": "AB"}})
    record = json.dumps({"msg": "upstream body", "body": f"event: x\ndata: {event}\n\n"})
    data = (
        f"data: {event}\n"
        f'2026-08-01 DEBUG chunk {{"choices": [{{"delta": {{"content": "CD"}}}}]}} trailing\n'
        f"{record}\n"
    ).encode()
    assert [(p.text, p.line) for p in pieces([data])] == [(b"AB", 1), (b"CD", 2), (b"AB", 3)]
