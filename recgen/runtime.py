"""What every node gets besides the state: settings, the policy, the run folder and the tool registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recgen.agents.policy import AgentContext, Policy
from recgen.agents.toolbox import ToolBox
from recgen.settings import Settings
from recgen.sid.semantics import SIDSpace


@dataclass
class RunContext:
    settings: Settings
    policy: Policy
    run_dir: Path
    space: SIDSpace
    registry: dict[str, Callable[..., Any]] = field(default_factory=dict)
    on_event: Callable[[str, str], None] | None = None  # (node, message) for progress displays

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
