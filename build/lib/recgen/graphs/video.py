"""The agent graph: decode → instruct → visual → review (only with --review) → render shots (parallel) →
audio → effects → compose → critic → accept, or back to the agent the critic names (at most `max_revisions` times)."""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from recgen.agents.audio import audio_node
from recgen.agents.critic import compose_node, critic_node, route_after_critic
from recgen.agents.effects import effects_node
from recgen.agents.instruction import decode_node, instruct_node
from recgen.agents.review import review_node
from recgen.agents.visual import fan_out_renders, render_shot_node, visual_node
from recgen.runtime import RunContext
from recgen.schemas import RenderTask, VideoState


def build_video_graph(checkpointer=None, interrupt_after: list[str] | None = None):
    """Compile the video graph; pass a checkpointer to make runs resumable by thread id (= run id)."""
    g = StateGraph(VideoState, context_schema=RunContext)
    g.add_node("decode_sids", decode_node)  # D-SID → Semantics
    g.add_node("instruct", instruct_node)  # Instruction model → Brief
    g.add_node("visual", visual_node)  # Visual Planning agent → VisualPlan
    g.add_node("review", review_node)  # with --review: a creative approves or edits the plan (interrupt)
    g.add_node("render_shot", render_shot_node, input_schema=RenderTask)  # t2v / i2v, one task per shot
    g.add_node("audio", audio_node)  # Audio Alignment agent → voice + BGM mix
    g.add_node("effects", effects_node)  # Artistic Effects agent → subtitles, stickers, CTA, grade
    g.add_node("compose", compose_node)  # ffmpeg/moviepy → draft.mp4
    g.add_node("critic", critic_node)  # measure, score, accept or send back

    g.add_edge(START, "decode_sids")
    g.add_edge("decode_sids", "instruct")
    g.add_edge("instruct", "visual")
    g.add_edge("visual", "review")
    g.add_conditional_edges("review", fan_out_renders, ["render_shot"])
    g.add_edge("render_shot", "audio")
    g.add_edge("audio", "effects")
    g.add_edge("effects", "compose")
    g.add_edge("compose", "critic")
    g.add_conditional_edges(
        "critic", route_after_critic, {"visual": "visual", "audio": "audio", "effects": "effects", "__end__": END}
    )
    return g.compile(checkpointer=checkpointer, interrupt_after=interrupt_after or None)
