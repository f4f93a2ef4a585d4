"""Gradio's queue spoken by hand over HTTP, as an attacker would: any event, any session hash, any data."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx

FILE_META = {"_type": "gradio.FileData"}


def file_payload(path: str) -> dict[str, Any]:
    """What Gradio takes for a file anywhere in a request's data: it moves such paths to its cache and serves them."""
    return {"path": path, "orig_name": "x", "meta": FILE_META}


@dataclass
class Event:
    """One event of the page, as /config describes it."""

    fn_index: int
    api_name: str | None
    inputs: list[int]
    outputs: list[int]


@dataclass
class Result:
    status: int
    messages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def completed(self) -> dict[str, Any] | None:
        return next((m for m in self.messages if m.get("msg") == "process_completed"), None)

    @property
    def output(self) -> list[Any] | None:
        done = self.completed
        if done is None or not done.get("success"):
            return None
        return list(done.get("output", {}).get("data", []))

    @property
    def text(self) -> str:
        return json.dumps(self.messages, ensure_ascii=False)


def events(client: httpx.Client) -> list[Event]:
    config = client.get("config").json()
    return [
        Event(i, d.get("api_name"), list(d.get("inputs", [])), list(d.get("outputs", [])))
        for i, d in enumerate(config["dependencies"])
    ]


def components(client: httpx.Client) -> dict[int, dict[str, Any]]:
    return {c["id"]: c for c in client.get("config").json()["components"]}


def call(client: httpx.Client, fn_index: int, data: list[Any], session_hash: str | None = None, timeout: float = 60) -> Result:
    """Join the queue with this event and data under this session hash, and read its messages to the end."""
    session_hash = session_hash or secrets.token_hex(6)
    joined = client.post(
        "gradio_api/queue/join",
        json={"data": data, "fn_index": fn_index, "session_hash": session_hash, "event_data": None, "trigger_id": None},
    )
    if joined.status_code != 200:
        return Result(joined.status_code, [{"detail": joined.text}])
    messages: list[dict[str, Any]] = []
    with client.stream("GET", "gradio_api/queue/data", params={"session_hash": session_hash}, timeout=timeout) as stream:
        for line in stream.iter_lines():
            if not line.startswith("data:"):
                continue
            message = json.loads(line[5:])
            messages.append(message)
            if message.get("msg") in ("process_completed", "close_stream", "unexpected_error"):
                break
    return Result(200, messages)
