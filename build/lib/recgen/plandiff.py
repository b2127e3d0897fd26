"""Readable plan diffs: what changed between two plans, as field paths with old and new values.

Used by the trace UI (what changed between critic rounds) and by the golden-plan tests (a failing golden
prints the changed fields, not a JSON blob).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

_MISSING = object()


@dataclass(frozen=True)
class FieldChange:
    path: str
    old: Any
    new: Any

    @property
    def kind(self) -> str:
        if self.old is _MISSING:
            return "added"
        if self.new is _MISSING:
            return "removed"
        return "changed"

    def __str__(self) -> str:
        if self.kind == "added":
            return f"+ {self.path}: {_short(self.new)}"
        if self.kind == "removed":
            return f"- {self.path}: {_short(self.old)}"
        return f"~ {self.path}: {_short(self.old)} → {_short(self.new)}"


def _short(v: Any, limit: int = 90) -> str:
    text = repr(v) if isinstance(v, str) else str(v)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plain(v: Any) -> Any:
    return to_jsonable_python(v.model_dump(mode="json") if isinstance(v, BaseModel) else v, fallback=str)


def field_changes(old: Any, new: Any, path: str = "") -> list[FieldChange]:
    """Leaf-level differences between two plans (pydantic models, dicts, lists or scalars)."""
    old, new = _plain(old), _plain(new)
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[FieldChange] = []
        for k in list(old) + [k for k in new if k not in old]:
            sub = f"{path}.{k}" if path else str(k)
            out += (
                field_changes(old.get(k, _MISSING), new.get(k, _MISSING), sub)
                if k in old and k in new
                else [FieldChange(sub, old.get(k, _MISSING), new.get(k, _MISSING))]
            )
        return out
    if isinstance(old, list) and isinstance(new, list):
        out = []
        for i in range(max(len(old), len(new))):
            sub = f"{path}[{i}]"
            if i < len(old) and i < len(new):
                out += field_changes(old[i], new[i], sub)
            else:
                out.append(FieldChange(sub, old[i] if i < len(old) else _MISSING, new[i] if i < len(new) else _MISSING))
        return out
    return [] if old == new else [FieldChange(path or "(value)", old, new)]


def describe(changes: list[FieldChange], limit: int = 60) -> str:
    lines = [str(c) for c in changes[:limit]]
    if len(changes) > limit:
        lines.append(f"… and {len(changes) - limit} more changed fields")
    return "\n".join(lines) or "(no changes)"
