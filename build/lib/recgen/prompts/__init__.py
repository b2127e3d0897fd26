"""Prompts and copy as data files; loaded by name so they are reviewed like code, not buried in it."""

from __future__ import annotations

import functools
import json
from importlib.resources import files


@functools.cache
def load_json(name: str) -> dict:
    return json.loads(files("recgen.prompts").joinpath(name).read_text(encoding="utf-8"))


def load_text(name: str) -> str:
    return files("recgen.prompts").joinpath(name).read_text(encoding="utf-8")
