"""Runs INSIDE the SDK virtualenv (never .venv): the official SDKs as a target talking through the proxy.

Prints one JSON object with what each SDK parsed. Keys come from the environment; the proxy and the CA
come from HTTPS_PROXY / SSL_CERT_FILE, exactly as a platform built on these SDKs would get them.
"""

from __future__ import annotations

import json
import os
import sys

import anthropic
import openai


def run_anthropic(results: dict) -> None:
    client = anthropic.Anthropic(api_key=os.environ["AUDIT_ANTHROPIC_KEY"], max_retries=0)
    params = {
        "model": "claude-haiku-4-5",
        "max_tokens": 32,
        "messages": [{"role": "user", "content": "hello"}],
    }
    message = client.messages.create(**params)
    results["anthropic_plain"] = {
        "text": message.content[0].text,
        "model": message.model,
        "stop_reason": message.stop_reason,
        "output_tokens": message.usage.output_tokens,
    }
    with client.messages.stream(**params) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    results["anthropic_stream"] = {
        "pieces": pieces,
        "final_text": final.content[0].text,
        "stop_reason": final.stop_reason,
        "output_tokens": final.usage.output_tokens,
    }
    events = [event.type for event in client.messages.create(**params, stream=True)]
    results["anthropic_raw_events"] = events
    results["anthropic_count_tokens"] = client.messages.count_tokens(
        model=params["model"], messages=params["messages"]
    ).input_tokens
    results["anthropic_models"] = [m.id for m in client.models.list()]
    bad = anthropic.Anthropic(api_key="sk-ant-api03-not-issued", max_retries=0)
    try:
        bad.messages.create(**params)
    except anthropic.AuthenticationError as error:
        results["anthropic_bad_key"] = {"status": error.status_code, "body": error.body}


def run_openai(results: dict) -> None:
    client = openai.OpenAI(api_key=os.environ["AUDIT_OPENAI_KEY"], max_retries=0)
    params = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}
    completion = client.chat.completions.create(**params)
    results["openai_plain"] = {
        "text": completion.choices[0].message.content,
        "model": completion.model,
        "finish_reason": completion.choices[0].finish_reason,
        "total_tokens": completion.usage.total_tokens,
    }
    chunks = list(
        client.chat.completions.create(
            **params, stream=True, stream_options={"include_usage": True}
        )
    )
    results["openai_stream"] = {
        "text": "".join(c.choices[0].delta.content or "" for c in chunks if c.choices),
        "finish_reasons": [c.choices[0].finish_reason for c in chunks if c.choices],
        "usage_total": next(c.usage.total_tokens for c in chunks if c.usage),
    }
    with client.chat.completions.stream(**params) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    results["openai_stream_helper"] = final.choices[0].message.content
    results["openai_models"] = [m.id for m in client.models.list()]
    bad = openai.OpenAI(api_key="sk-proj-not-issued", max_retries=0)
    try:
        bad.chat.completions.create(**params)
    except openai.AuthenticationError as error:
        results["openai_bad_key"] = {"status": error.status_code, "code": error.code}


def main() -> None:
    results: dict = {
        "anthropic_version": anthropic.__version__,
        "openai_version": openai.__version__,
    }
    run_anthropic(results)
    run_openai(results)
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
