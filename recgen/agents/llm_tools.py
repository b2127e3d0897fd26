"""The tools an LLM agent may call while it plans, bound per agent (the paper's tool mask).

They measure rather than produce: how long a line is when spoken, where the beats fall, how many lines a
text needs on screen, what size a packshot comes out. Every call goes through the agent's ToolBox, so a
call to another agent's tool is refused there, recorded with the run's tool calls, and answered to the
model as a refusal (the model then answers without it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import StructuredTool
from pydantic import BaseModel, Field

from recgen.agents.toolbox import TOOL_MASKS, ToolBox
from recgen.errors import RecgenError, ToolMaskError
from recgen.schemas import BgmSpec, Mood, Typeface


class TtsArgs(BaseModel):
    text: str = Field(description="the voice line to measure", max_length=400)
    rate: float = Field(1.0, gt=0.4, le=2.5, description="speaking rate (1.0 = normal)")


class BgmArgs(BaseModel):
    tempo_bpm: float = Field(ge=50, le=200)
    mood: Mood = "calm"
    duration: float = Field(gt=0, le=120, description="seconds of music")


class TypographyArgs(BaseModel):
    text: str = Field(max_length=400)
    typeface: Typeface = "sans"
    size: int = Field(32, ge=8, le=200, description="font size in pixels")
    max_width: int = Field(600, ge=40, le=4000, description="line width in pixels")


class PackshotArgs(BaseModel):
    kind: str = Field(description="packshot type from the content semantics, e.g. dropper, jar, tube")
    brand: str = ""
    name: str = ""
    height: int = Field(400, ge=32, le=2000)


@dataclass(frozen=True)
class LLMTool:
    """A registry tool as a model sees it: its arguments, and what of its result goes back to the model."""

    name: str
    description: str
    args: type[BaseModel]
    prepare: Callable[[BaseModel], dict[str, Any]]
    summarize: Callable[[Any], dict[str, Any]]


LLM_TOOLS: dict[str, LLMTool] = {
    t.name: t
    for t in (
        LLMTool(
            "tts",
            "Speak a voice line with the run's voice and return how many seconds it lasts.",
            TtsArgs,
            lambda a: {"text": a.text, "rate": a.rate},
            lambda speech: {"seconds": round(speech.seconds, 3)},
        ),
        LLMTool(
            "bgm",
            "Synthesise background music and return its beat times (cut on these).",
            BgmArgs,
            lambda a: {
                "spec": BgmSpec(tempo_bpm=a.tempo_bpm, mood=a.mood, genre="probe", root_hz=110.0, seed=0),
                "duration": a.duration,
                "rate": 22050,
            },
            lambda music: {"beats": [round(b, 3) for b in music.beats[:64]]},
        ),
        LLMTool(
            "typography",
            "Set a text and return how many lines it needs at that size and width.",
            TypographyArgs,
            lambda a: a.model_dump(),
            lambda n: {"lines": int(n)},
        ),
        LLMTool(
            "packshot_asset",
            "Draw the product packshot and return its size in pixels.",
            PackshotArgs,
            lambda a: a.model_dump(),
            lambda img: {"width": int(img.shape[1]), "height": int(img.shape[0])} if hasattr(img, "shape") else {},
        ),
    )
}


def tools_for(agent: str) -> list[StructuredTool]:
    """LangChain tool definitions for the model: only this agent's measuring tools."""
    allowed = TOOL_MASKS.get(agent, frozenset())
    return [
        StructuredTool.from_function(func=lambda **_: None, name=t.name, description=t.description, args_schema=t.args)
        for t in LLM_TOOLS.values()
        if t.name in allowed
    ]


def run_tool_call(toolbox: ToolBox, call: dict, notes: list[str]) -> ToolMessage:
    """Execute one tool call from the model through the agent's toolbox; every outcome is an answer."""
    name = call.get("name", "")
    call_id = call.get("id") or name
    spec = LLM_TOOLS.get(name)
    try:
        toolbox.require(name, **(call.get("args") or {}))  # the mask first: refused and recorded there
        if spec is None:  # one of its own tools, but one that renders: the system runs it after the plan
            raise RecgenError(f"{name} runs after the plan; only the measuring tools can be called while planning")
        args = spec.args.model_validate(call.get("args") or {})
        result = spec.summarize(toolbox.call(name, **spec.prepare(args)))
        return ToolMessage(content=_json(result), tool_call_id=call_id, name=name)
    except ToolMaskError as e:
        notes.append(f"{toolbox.agent}: the model called {name!r}, outside its tools; refused")
        return ToolMessage(content=_json({"error": f"refused: {e}"}), tool_call_id=call_id, name=name, status="error")
    except Exception as e:  # bad arguments or a failing tool: tell the model, keep planning
        return ToolMessage(content=_json({"error": str(e)[:300]}), tool_call_id=call_id, name=name, status="error")


def _json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)
