"""Optional OpenTelemetry spans for a run: one span for the run, one per finished node, one per tool call
inside it, so Phoenix-, Langfuse- or Jaeger-style tools show the same runs as the trace UI.

Spans are made from the same events the run trace records, with the times measured there. Which exporter
receives them is the application's choice (a TracerProvider, or `opentelemetry-instrument`).
"""

from __future__ import annotations

import time
from typing import Any

from recgen.errors import BackendUnavailableError


class RunTelemetry:
    def __init__(self, run_id: str, attributes: dict[str, Any], tracer: Any | None = None) -> None:
        try:
            from opentelemetry import trace
        except ImportError as e:
            raise BackendUnavailableError(
                "RECGEN_OTEL is on but OpenTelemetry is not installed: pip install 'recgen[otel]'"
            ) from e
        self._trace = trace
        self.tracer = tracer or trace.get_tracer("recgen")
        self.root = self.tracer.start_span("recgen.run", attributes={"recgen.run_id": run_id, **attributes})
        self._last = time.time_ns()

    def node(self, event: dict) -> None:
        """A span for one finished node (from the previous event to this one) and its tool calls."""
        end = int(event["t"] * 1e9)
        start = min(self._last, end)
        ctx = self._trace.set_span_in_context(self.root)
        update = event.get("update") or {}
        span = self.tracer.start_span(
            f"node {event['node']}", context=ctx, start_time=start, attributes={"recgen.node": event["node"]}
        )
        for key in ("brief", "visual", "audio_plan", "effects"):
            if update.get(key):
                span.set_attribute(f"recgen.{key}", str(update[key])[:2000])
        for r in update.get("reports") or []:
            span.set_attribute("recgen.critic.total", float(r.get("total", 0.0)))
            span.set_attribute("recgen.critic.verdict", str(r.get("verdict")))
        t = start
        child_ctx = self._trace.set_span_in_context(span)
        for call in update.get("tool_calls") or []:
            dur = int(float(call.get("seconds") or 0) * 1e9)
            tool = self.tracer.start_span(
                f"tool {call.get('tool')}",
                context=child_ctx,
                start_time=t,
                attributes={
                    "recgen.agent": str(call.get("agent")),
                    "recgen.tool": str(call.get("tool")),
                    **{f"recgen.arg.{k}": str(v) for k, v in (call.get("args") or {}).items()},
                },
            )
            if not call.get("ok", True):
                tool.set_status(self._trace.Status(self._trace.StatusCode.ERROR, str(call.get("error"))))
            tool.end(end_time=min(t + dur, end))
            t = min(t + dur, end)
        span.end(end_time=end)
        self._last = end

    def close(self, status: str, error: str | None = None) -> None:
        self.root.set_attribute("recgen.status", status)
        if error:
            self.root.set_status(self._trace.Status(self._trace.StatusCode.ERROR, error[:300]))
        self.root.end()
