"""The run trace: every node's update appended to `trace.jsonl` in the run folder as it finishes.

It is what the trace UI reads (plans per round, tool calls with timings, live progress) and it survives
crashes and resumes, because lines are only ever appended.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from pydantic_core import to_jsonable_python

TRACE_FILE = "trace.jsonl"


def append_event(folder: Path, node: str, update: Any) -> dict:
    event = {"t": round(time.time(), 3), "node": node, "update": to_jsonable_python(update or {}, fallback=str)}
    with open(Path(folder) / TRACE_FILE, "a", encoding="utf-8") as f:
        f.write(json.dumps(event, ensure_ascii=False) + "\n")
    return event


def read_events(folder: Path, offset: int = 0) -> tuple[list[dict], int]:
    """Complete events from byte `offset` on, and the offset after the last complete line (a line being
    written while we read is left for the next call)."""
    path = Path(folder) / TRACE_FILE
    if not path.is_file():
        return [], offset
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read()
    end = data.rfind(b"\n") + 1
    events = []
    for line in data[:end].splitlines():
        try:
            ev = json.loads(line.removeprefix(b"\xef\xbb\xbf"))  # a byte-order mark from an editor
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue  # a torn line from a crash: skip it, keep the rest
        if isinstance(ev, dict) and isinstance(ev.get("node"), str):  # JSON, but not an event: skipped too
            if not isinstance(ev.get("update"), dict):
                ev["update"] = {}
            events.append(ev)
    return events, offset + end
