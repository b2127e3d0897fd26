"""Prompts and copy as data files; loaded by name so they are reviewed like code, not buried in it.

Role prompts are `string.Template`s. Each is checked against the variables its caller declares when it is
loaded: a placeholder nobody fills is an error then, never text left in a prompt sent to a model."""

from __future__ import annotations

import functools
import json
from importlib.resources import files
from string import Template

from recgen.errors import RecgenError


class PromptError(RecgenError):
    """A prompt file uses a placeholder its caller does not fill (or is not a valid template)."""


@functools.cache
def load_json(name: str) -> dict:
    return json.loads(files("recgen.prompts").joinpath(name).read_text(encoding="utf-8"))


def load_text(name: str) -> str:
    return files("recgen.prompts").joinpath(name).read_text(encoding="utf-8")


def check_template(name: str, text: str, variables: frozenset[str]) -> Template:
    template = Template(text)
    if not template.is_valid():
        raise PromptError(f"prompt {name}: a '$' that is not a placeholder; write '$$' for a literal dollar sign")
    unknown = set(template.get_identifiers()) - variables
    if unknown:
        raise PromptError(
            f"prompt {name}: placeholder(s) {', '.join(sorted(unknown))} are not filled; "
            f"the caller provides {', '.join(sorted(variables)) or 'none'}"
        )
    return template


@functools.cache
def load_template(name: str, variables: frozenset[str]) -> Template:
    """The prompt file `name`, checked to use only `variables`."""
    return check_template(name, load_text(name), variables)


def render(name: str, **variables: object) -> str:
    """Fill a prompt strictly: every placeholder must be given."""
    return load_template(name, frozenset(variables)).substitute(**variables)
