"""What every node gets besides the state.

LangGraph carries a plain, serialisable `RunConfig` (the graph's context schema: LangGraph's server can
describe it, and any API client can send it). The live objects a run needs — settings, the SID space, the
tool registry, the policy and the run folder — are built from it inside the graph (`run_context`) and cached
per process. `generate_video` goes the same way; it only attaches what cannot travel as JSON (a policy
object given in Python, a progress callback) under the run's id before it starts the graph.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from recgen.agents.context import AgentContext, Policy
from recgen.agents.toolbox import ToolBox
from recgen.errors import InputError
from recgen.runs import RunFolder
from recgen.settings import Settings
from recgen.sid.semantics import SIDSpace, load_sid_space
from recgen.tools import build_registry
from recgen.tools.specs import ToolSpec


class RunConfig(BaseModel):
    """The graph's context: what a run is configured with, as plain JSON."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    settings: dict[str, Any] = Field(
        default_factory=dict, description="Overrides of recgen.Settings fields, e.g. {'width': 360, 'fps': 12}."
    )
    policy: str = Field(
        "builtin", description="'builtin' (offline rules) or 'openai:<model>' (any OpenAI-compatible chat model)."
    )


@dataclass
class RunContext:
    """The live objects of one run, built from its RunConfig."""

    settings: Settings
    policy: Policy
    folder: RunFolder
    space: SIDSpace
    registry: dict[str, ToolSpec] = field(default_factory=dict)
    on_event: Callable[[str, str], None] | None = None  # (node, message) for progress displays

    @property
    def run_dir(self) -> Path:
        return self.folder.path

    def tools(self, agent: str) -> ToolBox:
        return ToolBox(agent, self.registry)

    def agent_context(self, agent: str, state) -> AgentContext:
        """The shared context for `agent`: everything the agents before it produced, its own last output,
        the critic's violations addressed to it, and a toolbox bound to its tool mask."""
        previous = {
            "instruct": state.brief,
            "visual": state.visual,
            "audio": state.audio_plan,
            "effects": state.effects,
        }.get(agent)
        fixes = tuple(v for v in state.revision.violations if v.agent == agent) if state.revision else ()
        if fixes:  # what earlier rounds asked of this agent still holds (a fix is not undone by the next one)
            seen = {v.code for v in fixes}
            for report in state.reports:
                for v in report.violations:
                    if v.agent == agent and v.code not in seen:
                        seen.add(v.code)
                        fixes += (v,)
        return AgentContext(
            self.settings,
            state.request.product,
            state.semantics,
            self.tools(agent),
            state.request.seed,
            brief=state.brief,
            visual=state.visual,
            audio=state.audio_plan,
            tracks=state.tracks,
            effects=state.effects,
            previous=previous,
            fixes=fixes,
        )

    def emit(self, node: str, message: str) -> None:
        if self.on_event:
            self.on_event(node, message)


def settings_from(config: RunConfig) -> Settings:
    try:
        return Settings(**config.settings)
    except ValidationError as e:
        first = e.errors()[0]
        raise InputError(f"settings.{'.'.join(map(str, first['loc']))}: {first['msg']}") from e


def policy_from_spec(spec: str) -> Policy:
    """'builtin' or 'openai:<model>'."""
    from recgen.agents.builtin import BuiltinPolicy

    if spec == "builtin":
        return BuiltinPolicy()
    from recgen.agents.llm_policy import LLMPolicy, chat_model_from_spec

    return LLMPolicy(chat_model_from_spec(spec))


@functools.lru_cache(maxsize=4)
def _space(data_dir: Path, cache_dir: Path) -> SIDSpace:
    return load_sid_space(data_dir, cache_dir, seed=0)


def build_context(config: RunConfig, run_id: str, policy: Policy | None = None, on_event=None) -> RunContext:
    settings = settings_from(config)
    folder = RunFolder.of(settings.runs_dir, run_id)
    folder.path.mkdir(parents=True, exist_ok=True)
    return RunContext(
        settings=settings,
        policy=policy or policy_from_spec(config.policy),
        folder=folder,
        space=_space(settings.data_dir, settings.cache_dir),
        registry=build_registry(settings, folder.path),
        on_event=on_event,
    )


MAX_BUILT = 32
_lock = threading.Lock()
_attached: dict[str, RunContext] = {}
_built: dict[tuple[str, str], RunContext] = {}


def attach(run_id: str, rc: RunContext) -> None:
    """Make `rc` the live context of `run_id` in this process (what generate_video does before a run)."""
    with _lock:
        _attached[run_id] = rc


def detach(run_id: str) -> None:
    with _lock:
        _attached.pop(run_id, None)
        for key in [k for k in _built if k[0] == run_id]:
            del _built[key]


def run_context(context: RunConfig | dict | None, run_id: str) -> RunContext:
    """The live context of a run: the one attached under its id, else one built from its config (cached)."""
    with _lock:
        if run_id in _attached:
            return _attached[run_id]
    config = context if isinstance(context, RunConfig) else RunConfig.model_validate(context or {})
    key = (run_id, config.model_dump_json())
    with _lock:
        if key not in _built:
            if len(_built) >= MAX_BUILT:  # a long-lived server: keep the most recent runs' contexts only
                del _built[next(iter(_built))]
            _built[key] = build_context(config, run_id)
        return _built[key]
