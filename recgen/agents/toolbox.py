"""Tool masks: each agent is bound only to its own tools, and every call is timed and recorded."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from recgen.errors import InputError, RecgenError, ToolMaskError
from recgen.schemas import ToolCall
from recgen.tools.specs import ToolSpec

# The paper's tool mask: visual → t2v/i2v/asset; audio → tts/bgm (+ listening back); effects → typography/
# button/sticker.
# (Transitions are a field of the effects plan that the compositor applies; there is nothing to call.)
TOOL_MASKS: dict[str, frozenset[str]] = {
    "visual": frozenset({"text_to_video", "image_to_video", "packshot_asset"}),
    "audio": frozenset({"tts", "bgm", "transcribe"}),
    "effects": frozenset({"typography", "cta_button", "sticker"}),
}


@dataclass
class ToolBox:
    """The view of the tool registry one agent gets; calls outside its mask are refused and recorded."""

    agent: str
    registry: dict[str, ToolSpec]
    calls: list[ToolCall] = field(default_factory=list)

    @property
    def allowed(self) -> frozenset[str]:
        return TOOL_MASKS.get(self.agent, frozenset())

    @staticmethod
    def _args(kwargs: dict[str, Any]) -> dict[str, str]:
        return {k: (str(v)[:120]) for k, v in kwargs.items()}

    def require(self, tool: str, **kwargs: Any) -> None:
        """Refuse (and record) a call outside this agent's mask, without running anything."""
        if tool in self.allowed:
            return
        self.calls.append(
            ToolCall(
                agent=self.agent,
                tool=tool,
                args=self._args(kwargs),
                seconds=0.0,
                ok=False,
                error="refused: outside the tool mask",
            )
        )
        raise ToolMaskError(
            f"agent {self.agent!r} may not call {tool!r}; its tools are: {', '.join(sorted(self.allowed))}"
        )

    def call(self, tool: str, **kwargs: Any) -> Any:
        self.require(tool, **kwargs)
        args = self._args(kwargs)
        if tool not in self.registry:
            raise RecgenError(f"tool {tool!r} is not registered")
        spec = self.registry[tool]
        try:
            parsed = spec.args.model_validate(kwargs)
        except ValidationError as e:
            first = e.errors()[0]
            raise InputError(f"{tool}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from e
        t0 = time.perf_counter()
        try:
            out = spec.run(parsed)
        except Exception as e:
            self.calls.append(
                ToolCall(
                    agent=self.agent,
                    tool=tool,
                    args=args,
                    seconds=time.perf_counter() - t0,
                    ok=False,
                    error=str(e)[:300],
                )
            )
            raise
        self.calls.append(
            ToolCall(agent=self.agent, tool=tool, args=args, seconds=round(time.perf_counter() - t0, 4), ok=True)
        )
        return out

    def drain(self) -> list[ToolCall]:
        out, self.calls = self.calls, []
        return out
