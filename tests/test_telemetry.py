"""OpenTelemetry spans (RECGEN_OTEL): a run span, one span per node under it, tool-call spans under their node,
timed from the run trace."""

import pytest

trace = pytest.importorskip("opentelemetry.trace", reason="opentelemetry-sdk is not installed")
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402

from recgen import generate_video  # noqa: E402


@pytest.fixture(scope="module")
def exporter():
    exp = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exp))
    trace.set_tracer_provider(provider)
    return exp


def test_spans_per_node_and_tool_call(small, exporter):
    exporter.clear()
    r = generate_video("8", "fresh-botanical", settings=small.model_copy(update={"otel": True}))
    spans = exporter.get_finished_spans()
    root = next(s for s in spans if s.name == "recgen.run")
    assert root.attributes["recgen.run_id"] == r.run_id and root.attributes["recgen.status"] == "done"
    nodes = [s for s in spans if s.name.startswith("node ")]
    assert [s.name for s in nodes[:3]] == ["node decode_sids", "node instruct", "node visual"]
    assert nodes[-1].name == "node critic" and all(s.parent.span_id == root.context.span_id for s in nodes)
    audio = next(s for s in nodes if s.name == "node audio")
    tts = [s for s in spans if s.name == "tool tts" and s.parent.span_id == audio.context.span_id]
    assert tts and all(audio.start_time <= s.start_time <= s.end_time <= audio.end_time for s in tts)
    assert all(n.start_time <= n.end_time for n in nodes)
    assert nodes[-1].attributes["recgen.critic.verdict"] == "accept"


def test_off_by_default(small, exporter):
    exporter.clear()
    generate_video("8", "fresh-botanical", settings=small)
    assert not exporter.get_finished_spans()
