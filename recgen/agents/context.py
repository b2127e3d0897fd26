"""What an agent decides from (AgentContext) and the interface every way of deciding implements (Policy).

Two policies implement it: the built-in rules (agents/builtin.py, the offline default and the reference for
golden plans) and any LangChain chat model (agents/llm_policy.py). Agent modules import only this module, so
the rules and the policies that call them never import each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from recgen.agents.toolbox import ToolBox
from recgen.schemas import (
    AudioPlan,
    AudioTracks,
    Brief,
    CriticDecision,
    EffectsPlan,
    Product,
    Semantics,
    Violation,
    VisualPlan,
)
from recgen.settings import Settings


@dataclass
class AgentContext:
    """The append-only shared context: each agent sees the brief and what the agents before it produced."""

    settings: Settings
    product: Product
    semantics: Semantics
    tools: ToolBox
    seed: int = 0
    brief: Brief | None = None
    visual: VisualPlan | None = None
    audio: AudioPlan | None = None
    tracks: AudioTracks | None = None
    effects: EffectsPlan | None = None
    previous: object | None = None  # this agent's own last output, when it is asked to revise
    fixes: tuple[Violation, ...] = field(default_factory=tuple)  # what the critic asks of this agent
    notes: list[str] = field(default_factory=list)  # what the policy wants on the run record (e.g. fallbacks)


class Policy(Protocol):
    name: str

    def instruct(self, ctx: AgentContext) -> Brief: ...

    def plan_visual(self, ctx: AgentContext) -> VisualPlan: ...

    def plan_audio(self, ctx: AgentContext) -> AudioPlan: ...

    def plan_effects(self, ctx: AgentContext) -> EffectsPlan: ...

    def critique(
        self, ctx: AgentContext, measures: dict[str, float], violations: tuple[Violation, ...]
    ) -> CriticDecision:
        """Called only while revisions are left; with no budget left the system stops by itself."""
        ...
