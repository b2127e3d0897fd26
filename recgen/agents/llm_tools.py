"""The tools an LLM agent may call while it plans, bound per agent (the paper's tool mask).

They measure rather than produce: how long a line is when spoken, where the beats fall, how many lines a
text needs on screen, what size a packshot comes out. Every call goes through the agent's ToolBox, so a
call to another agent's tool is refused there, recorded with the run's tool calls, and answered to the
model as a refusal (the model then answers without it).
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import StructuredTool

from recgen.agents.toolbox import TOOL_MASKS, ToolBox
from recgen.errors import RecgenError, ToolMaskError
from recgen.tools.specs import ToolSpec


def tools_for(agent: str, registry: dict[str, ToolSpec]) -> list[StructuredTool]:
    """LangChain tool definitions for the model: this agent's measuring tools, with their declared arguments."""
    allowed = TOOL_MASKS.get(agent, frozenset())
    return [
        StructuredTool.from_function(func=lambda **_: None, name=t.name, description=t.description, args_schema=t.args)
        for t in registry.values()
        if t.name in allowed and t.summarize is not None
    ]


def run_tool_call(toolbox: ToolBox, call: dict, notes: list[str]) -> ToolMessage:
    """Execute one tool call from the model through the agent's toolbox; every outcome is an answer."""
    name = call.get("name", "")
    call_id = call.get("id") or name
    spec = toolbox.registry.get(name)
    try:
        toolbox.require(name, **(call.get("args") or {}))  # the mask first: refused and recorded there
        if spec is None or spec.summarize is None:  # one of its own tools, but one that renders
            raise RecgenError(f"{name} runs after the plan; only the measuring tools can be called while planning")
        result = spec.summarize(toolbox.call(name, **(call.get("args") or {})))
        return ToolMessage(content=_json(result), tool_call_id=call_id, name=name)
    except ToolMaskError as e:
        notes.append(f"{toolbox.agent}: the model called {name!r}, outside its tools; refused")
        return ToolMessage(content=_json({"error": f"refused: {e}"}), tool_call_id=call_id, name=name, status="error")
    except Exception as e:  # bad arguments or a failing tool: tell the model, keep planning
        return ToolMessage(content=_json({"error": str(e)[:300]}), tool_call_id=call_id, name=name, status="error")


def _json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)
