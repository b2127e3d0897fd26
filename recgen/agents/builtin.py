"""The built-in deterministic policy: each agent's own rules, from agents/<role>.py (the offline default).

It plans from the decoded semantics with explicit ad-craft rules (hook → product → benefit → proof → CTA, pace
from the creative codes, durations on the beat, voice fitted to its shot) and is the reference for golden
plans.
"""

from __future__ import annotations

from recgen.agents.audio import builtin_audio_plan
from recgen.agents.context import AgentContext
from recgen.agents.critic import builtin_critique
from recgen.agents.effects import builtin_effects_plan
from recgen.agents.instruction import builtin_brief
from recgen.agents.visual import builtin_visual_plan
from recgen.schemas import AudioPlan, Brief, CriticDecision, EffectsPlan, Violation, VisualPlan


class BuiltinPolicy:
    name = "builtin"

    def instruct(self, ctx: AgentContext) -> Brief:
        return builtin_brief(ctx)

    def plan_visual(self, ctx: AgentContext) -> VisualPlan:
        return builtin_visual_plan(ctx)

    def plan_audio(self, ctx: AgentContext) -> AudioPlan:
        return builtin_audio_plan(ctx)

    def plan_effects(self, ctx: AgentContext) -> EffectsPlan:
        return builtin_effects_plan(ctx)

    def critique(
        self, ctx: AgentContext, measures: dict[str, float], violations: tuple[Violation, ...]
    ) -> CriticDecision:
        return builtin_critique(violations)
