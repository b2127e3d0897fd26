"""How an agent decides: the Policy interface, and the built-in deterministic policy (the offline default).

An LLM policy implements the same methods (four planners and the critic's decision); the built-in one
plans from the decoded semantics with explicit ad-craft rules (hook → product → benefit → proof → CTA, pace
from the creative codes, durations on the beat, voice fitted to its shot) and is the reference for golden
plans.
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


class BuiltinPolicy:
    name = "builtin"

    def instruct(self, ctx: AgentContext) -> Brief:
        from recgen.agents.instruction import builtin_brief

        return builtin_brief(ctx)

    def plan_visual(self, ctx: AgentContext) -> VisualPlan:
        from recgen.agents.visual import builtin_visual_plan

        return builtin_visual_plan(ctx)

    def plan_audio(self, ctx: AgentContext) -> AudioPlan:
        from recgen.agents.audio import builtin_audio_plan

        return builtin_audio_plan(ctx)

    def plan_effects(self, ctx: AgentContext) -> EffectsPlan:
        from recgen.agents.effects import builtin_effects_plan

        return builtin_effects_plan(ctx)

    def critique(
        self, ctx: AgentContext, measures: dict[str, float], violations: tuple[Violation, ...]
    ) -> CriticDecision:
        from recgen.agents.critic import builtin_critique

        return builtin_critique(violations)
