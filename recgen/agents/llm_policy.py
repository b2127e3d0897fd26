"""An agent policy on any LangChain chat model, with validation, one repair, fallback, retry and replay.

Each role gets its prompt from recgen/prompts/roles/, rendered with the shared context (semantics, product,
then the earlier agents' outputs, in that order so a server with prefix caching reuses it). The answer must
validate against the role's pydantic schema and the plan's own checks; an invalid answer gets one repair
turn that shows the model its error; if that fails too, the built-in policy decides that step and the
fallback is recorded. Timeouts and rate limits are retried with backoff. A run never dies because a model
answered badly.
"""

from __future__ import annotations

import hashlib
import json
import queue
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ValidationError

from recgen.agents.builtin import BuiltinPolicy
from recgen.agents.context import AgentContext, Policy
from recgen.agents.critic import check_decision
from recgen.agents.llm_tools import run_tool_call, tools_for
from recgen.errors import BackendUnavailableError, RecgenError
from recgen.prompts import load_template, load_text, render
from recgen.schemas import AudioPlan, Brief, CriticDecision, EffectsPlan, Violation, VisualPlan

MAX_TOOL_ROUNDS = 4  # tool-call turns an agent may take before it must answer with its plan
AGENT_OF_ROLE = {
    "instruction": "instruct",
    "visual": "visual",
    "audio": "audio",
    "effects": "effects",
    "critic": "critic",
}
# what each role's prompt may use; checked when this module loads, so a stray placeholder fails at once
ROLE_VARIABLES: dict[str, frozenset[str]] = {
    "instruction": frozenset({"schema", "min_shots", "max_shots", "duration"}),
    "visual": frozenset({"schema", "duration", "beat"}),
    "audio": frozenset({"schema", "lufs"}),
    "effects": frozenset({"schema", "duration"}),
    "critic": frozenset({"schema", "max_revisions"}),
    "repair": frozenset({"error"}),
}
for _role, _names in ROLE_VARIABLES.items():
    load_template(f"roles/{_role}.md", _names)
TRANSIENT = ("timeout", "ratelimit", "rate limit", "temporarily", "connection", "overloaded", "503", "429")


class ReplayMissError(RecgenError):
    """Replay mode met a prompt that was not recorded."""


def _is_transient(e: BaseException) -> bool:
    text = f"{type(e).__name__} {e}".lower()
    return isinstance(e, TimeoutError | ConnectionError) or any(t in text for t in TRANSIENT)


def extract_json(text: str) -> str:
    """The JSON object in a model's answer (tolerates code fences and a sentence around it)."""
    fenced = re.search(r"```(?:json)?\s*(\{.*\})\s*```", text, re.S)
    if fenced:
        return fenced.group(1)
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("the answer contains no JSON object")
    return text[start : end + 1]


def _dump(obj: Any) -> Any:
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    return obj


TIMINGS = frozenset({"readback_s"})  # what the critic's work cost: not the model's to judge, and never the same twice


class Exchanges:
    """Record/replay of model exchanges as plain JSON files (one per call), reviewable in a diff."""

    def __init__(self, record_dir: Path | None = None, replay_dir: Path | None = None) -> None:
        self.record_dir, self.replay_dir = record_dir, replay_dir
        self._answers: dict[str, str] = {}
        self._count = 0
        if replay_dir is not None:
            files = sorted(Path(replay_dir).glob("*.json"))
            if not files:
                raise RecgenError(f"no recorded exchanges in {replay_dir}; record some with --record")
            for f in files:
                rec = json.loads(f.read_text(encoding="utf-8"))
                self._answers[rec["key"]] = rec["response"]

    @staticmethod
    def key(messages: list[BaseMessage]) -> str:
        blob = json.dumps([_message_json(m) for m in messages], ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()[:24]

    def replay(self, messages: list[BaseMessage]) -> str | dict:
        k = self.key(messages)
        if k not in self._answers:
            raise ReplayMissError(
                f"the replay folder {self.replay_dir} has no answer for this prompt ({k}); "
                "the prompts changed since recording: record again"
            )
        return self._answers[k]

    def record(self, role: str, messages: list[BaseMessage], response: str | dict) -> None:
        if self.record_dir is None:
            return
        self.record_dir.mkdir(parents=True, exist_ok=True)
        self._count += 1
        rec = {
            "role": role,
            "key": self.key(messages),
            "messages": [
                dict(zip(("type", "content", "tool_calls"), _message_json(m), strict=False)) for m in messages
            ],
            "response": response,
        }
        path = self.record_dir / f"{self._count:03d}_{role}.json"
        path.write_text(json.dumps(rec, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


class LLMPolicy:
    """Policy on a LangChain chat model (or on recorded answers alone, when `replay_dir` is given)."""

    name = "llm"

    def __init__(
        self,
        model: Any | None = None,
        *,
        fallback: Policy | None = None,
        record_dir: Path | None = None,
        replay_dir: Path | None = None,
        retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        if model is None and replay_dir is None:
            raise BackendUnavailableError("an LLM policy needs a chat model, or a replay folder")
        self.model = model
        self.fallback = fallback or BuiltinPolicy()
        self.exchanges = Exchanges(record_dir, replay_dir)
        self.retries, self.backoff = retries, backoff
        self.spent_s = 0.0  # LLM wall time so far (a run builds its own policy; a reused one keeps counting)

    # -- plumbing -----------------------------------------------------------------------------------------
    def _model_for(self, role: str, ctx: AgentContext) -> Any:
        """The chat model bound to this agent's own tools (models without tool support get none)."""
        tools = tools_for(AGENT_OF_ROLE.get(role, ""), ctx.tools.registry)
        if not tools or not hasattr(self.model, "bind_tools"):
            return self.model
        try:
            return self.model.bind_tools(tools)
        except NotImplementedError:
            return self.model

    def _invoke(self, role: str, model: Any, messages: list[BaseMessage], deadline: float) -> AIMessage:
        if self.exchanges.replay_dir is not None:
            answer = self.exchanges.replay(messages)
            if isinstance(answer, dict):
                return AIMessage(content=answer.get("content", ""), tool_calls=answer.get("tool_calls") or [])
            return AIMessage(content=answer)
        attempt = 0
        while True:  # timeouts and rate limits: retry with exponential backoff, within the decision's deadline
            t0 = time.monotonic()
            try:
                answer = within(lambda: model.invoke(messages), deadline - t0)
                break
            except LLMDeadlineError:
                raise
            except Exception as e:
                attempt += 1
                wait = min(8.0, self.backoff * 2**attempt)
                if not _is_transient(e) or attempt >= self.retries or time.monotonic() + wait >= deadline:
                    raise
                time.sleep(wait)
            finally:
                self.spent_s += time.monotonic() - t0
        text = answer.content if isinstance(answer.content, str) else json.dumps(answer.content)
        calls = [{"name": c["name"], "args": c["args"], "id": c.get("id")} for c in getattr(answer, "tool_calls", [])]
        self.exchanges.record(role, messages, {"content": text, "tool_calls": calls} if calls else text)
        return AIMessage(content=text, tool_calls=calls)

    def _call(
        self, role: str, messages: list[BaseMessage], ctx: AgentContext, deadline: float
    ) -> tuple[str, list[BaseMessage]]:
        """The model's final answer, after any tool calls it made (run through the agent's toolbox), and the
        conversation so far (a repair turn continues it)."""
        model = self._model_for(role, ctx)
        for _ in range(MAX_TOOL_ROUNDS + 1):
            answer = self._invoke(role, model, messages, deadline)
            if not answer.tool_calls:
                return answer.content, messages
            replies = [run_tool_call(ctx.tools, call, ctx.notes) for call in answer.tool_calls]
            messages = [*messages, answer, *replies]
        ctx.notes.append(f"{role}: the model kept calling tools; its last answer was used")
        return answer.content, messages

    def _ask(
        self,
        role: str,
        schema: type[BaseModel],
        ctx: AgentContext,
        variables: dict[str, Any],
        context: dict[str, Any],
        check: Callable[[Any], None] | None,
        fallback: Callable[[], Any],
    ) -> Any:
        system = (
            load_text("roles/shared.md")
            + "\n\n"
            + render(
                f"roles/{role}.md", schema=json.dumps(schema.model_json_schema(), separators=(",", ":")), **variables
            )
        )
        messages: list[BaseMessage] = [
            SystemMessage(system),
            HumanMessage(
                json.dumps({k: _dump(v) for k, v in context.items() if v is not None}, ensure_ascii=False, indent=1)
            ),
        ]
        s = ctx.settings
        left = s.llm_run_s - self.spent_s
        if left <= 0 and self.exchanges.replay_dir is None:
            ctx.notes.append(f"{role}: the run's LLM time ({s.llm_run_s:g} s, settings.llm_run_s) is spent; "
                             "the built-in policy decided")  # fmt: skip
            return fallback()
        deadline = time.monotonic() + min(s.llm_decision_s, left)
        error = ""
        for attempt in range(2):  # the answer, then one repair
            try:
                text, messages = self._call(role, messages, ctx, deadline)
            except ReplayMissError:
                raise
            except Exception as e:  # the model failed outright (after retries): decide without it
                error = f"model error: {type(e).__name__}: {e}"
                break
            try:
                plan = schema.model_validate_json(extract_json(text))
                if check:
                    check(plan)
                return plan
            except (ValidationError, ValueError, RecgenError) as e:
                error = str(e).splitlines()[0] if isinstance(e, ValueError | RecgenError) else _brief_error(e)
                if attempt == 0:
                    messages = [
                        *messages,
                        AIMessage(text),
                        HumanMessage(render("roles/repair.md", error=error)),
                    ]
        ctx.notes.append(f"{role}: the LLM's answer was unusable ({error[:200]}); the built-in policy decided")
        return fallback()

    @staticmethod
    def _base(ctx: AgentContext) -> dict[str, Any]:
        return {
            "product": ctx.product,
            "semantics": ctx.semantics,
            "critic_fixes": [v.model_dump() for v in ctx.fixes] or None,
            "your_previous_output": ctx.previous if ctx.fixes else None,
        }

    # -- roles --------------------------------------------------------------------------------------------
    def instruct(self, ctx: AgentContext) -> Brief:
        s = ctx.settings

        def check(b: Brief) -> None:
            if not s.min_shots <= len(b.shots) <= s.max_shots:
                raise ValueError(f"the brief needs {s.min_shots}–{s.max_shots} shots, got {len(b.shots)}")
            if b.shots[0].role != "hook" or b.shots[-1].role != "cta":
                raise ValueError("the first shot must be the hook and the last the CTA")
            if abs(b.duration_s - s.duration_s) > 1e-6:
                raise ValueError(f"duration_s must be {s.duration_s}")

        return self._ask(
            "instruction",
            Brief,
            ctx,
            {"min_shots": s.min_shots, "max_shots": s.max_shots, "duration": s.duration_s},
            self._base(ctx),
            check,
            lambda: self.fallback.instruct(ctx),
        )

    def plan_visual(self, ctx: AgentContext) -> VisualPlan:
        brief = ctx.brief

        def check(p: VisualPlan) -> None:
            if [s.role for s in p.shots] != [s.role for s in brief.shots]:
                raise ValueError("the shots must follow the brief's shots, in order, with the same roles")
            if abs(p.duration_s - brief.duration_s) > 0.05:
                raise ValueError(f"shot durations sum to {p.duration_s:.2f}s; they must sum to {brief.duration_s}s")

        return self._ask(
            "visual",
            VisualPlan,
            ctx,
            {"duration": brief.duration_s, "beat": round(60 / ctx.semantics.creative.tempo_bpm, 3)},
            {**self._base(ctx), "brief": brief},
            check,
            lambda: self.fallback.plan_visual(ctx),
        )

    def plan_audio(self, ctx: AgentContext) -> AudioPlan:
        shots = {s.index for s in ctx.visual.shots}

        def check(p: AudioPlan) -> None:
            if any(ln.shot_index not in shots for ln in p.lines):
                raise ValueError("every voice line needs the index of an existing shot")
            if any(ln.shot_index + ln.span - 1 > max(shots) for ln in p.lines):
                raise ValueError("a voice line's span runs past the last shot")

        return self._ask(
            "audio",
            AudioPlan,
            ctx,
            {"lufs": ctx.settings.target_lufs},
            {**self._base(ctx), "brief": ctx.brief, "visual": ctx.visual},
            check,
            lambda: self.fallback.plan_audio(ctx),
        )

    def plan_effects(self, ctx: AgentContext) -> EffectsPlan:
        duration = ctx.visual.duration_s
        return self._ask(
            "effects",
            EffectsPlan,
            ctx,
            {"duration": duration},
            {
                **self._base(ctx),
                "brief": ctx.brief,
                "visual": ctx.visual,
                "audio": ctx.audio,
                "voice_timing": [ln.model_dump(mode="json") for ln in ctx.tracks.lines],
            },
            None,
            lambda: self.fallback.plan_effects(ctx),
        )

    def critique(self, ctx: AgentContext, measures: dict, violations: tuple[Violation, ...]) -> CriticDecision:
        return self._ask(
            "critic",
            CriticDecision,
            ctx,
            {"max_revisions": ctx.settings.max_revisions},
            {
                "product": ctx.product,
                "semantics": ctx.semantics,
                "brief": ctx.brief,
                "visual": ctx.visual,
                "audio": ctx.audio,
                "effects": ctx.effects,
                "measures": {k: round(float(v), 4) for k, v in measures.items() if k not in TIMINGS},
                "violations": [v.model_dump() for v in violations] or None,
            },
            lambda d: check_decision(d, violations),
            lambda: self.fallback.critique(ctx, measures, violations),
        )


def _message_json(m: BaseMessage) -> list:
    """What identifies a message in a recording: type and content, plus tool calls when there are any."""
    calls = [{"name": c["name"], "args": c["args"]} for c in getattr(m, "tool_calls", None) or []]
    return [m.type, m.content, calls] if calls else [m.type, m.content]


class LLMDeadlineError(TimeoutError):
    """The model did not answer before the decision's deadline."""


def within(call: Callable[[], Any], seconds: float) -> Any:
    """`call()`'s result, or LLMDeadlineError after `seconds`: a model server that accepts and never answers
    cannot hold a run. The call goes on in a daemon thread until its own client gives up (its answer is
    dropped); the run does not wait for it, and neither does the process's exit."""
    if seconds <= 0:
        raise LLMDeadlineError("no time was left for the model before the decision's deadline")
    box: queue.Queue = queue.Queue(maxsize=1)

    def run() -> None:
        try:
            box.put((True, call()))
        except BaseException as e:  # noqa: BLE001 - handed to the caller's thread as it is
            box.put((False, e))

    threading.Thread(target=run, daemon=True, name="llm-call").start()
    try:
        ok, value = box.get(timeout=seconds)
    except queue.Empty:
        raise LLMDeadlineError(
            f"no answer within {seconds:.1f} s (settings.llm_decision_s bounds one decision)"
        ) from None
    if not ok:
        raise value
    return value


def _brief_error(e: ValidationError) -> str:
    parts = [f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors()[:5]]
    return f"{e.error_count()} validation error(s): " + "; ".join(parts)


def chat_model_from_spec(spec: str) -> Any:
    """'openai:<model>' → ChatOpenAI (OPENAI_API_KEY / OPENAI_BASE_URL, so any OpenAI-compatible server)."""
    provider, _, name = spec.partition(":")
    if provider != "openai" or not name:
        raise RecgenError(f"--llm takes openai:<model>, e.g. openai:gpt-4o-mini; got {spec!r}")
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as e:
        raise BackendUnavailableError("LLM policies need: pip install langchain-openai") from e
    try:
        return ChatOpenAI(model=name, temperature=0.2, timeout=120, max_retries=0)
    except Exception as e:  # noqa: BLE001 - the client raises its own error types for missing credentials
        raise BackendUnavailableError(
            f"cannot set up the chat model {spec!r} ({str(e).splitlines()[0][:160]}); set OPENAI_API_KEY, and "
            "OPENAI_BASE_URL for a local OpenAI-compatible server (a local server accepts any key)"
        ) from e
