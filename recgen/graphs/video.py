"""The agent graph: decode → instruct → visual → review (only with --review) → render shots (parallel) →
audio → effects → compose → critic → accept, or back to the agent the critic names (at most `max_revisions`
times). Wiring only: agent nodes live in agents/<role>.py, plumbing nodes in graphs/nodes.py."""

from __future__ import annotations

from typing import get_args

from langgraph.graph import END, START, StateGraph

from recgen.agents.audio import audio_node
from recgen.agents.critic import critic_node
from recgen.agents.effects import effects_node
from recgen.agents.instruction import instruct_node
from recgen.agents.review import review_node
from recgen.agents.visual import visual_node
from recgen.graphs import STAGES
from recgen.graphs.nodes import compose_node, decode_node, fan_out_renders, live, render_shot_node
from recgen.runtime import RunConfig
from recgen.schemas import AgentName, RenderTask, VideoState

# the critic may send a draft back to any agent; each name is the node that agent runs as
REVISABLE: tuple[str, ...] = get_args(AgentName)


def route_after_critic(state: VideoState) -> str:
    if state.revision is None or state.revision.agent not in REVISABLE:
        return "__end__"
    return state.revision.agent


def build_video_graph(checkpointer=None, interrupt_after: list[str] | None = None):
    """Compile the video graph; pass a checkpointer to make runs resumable by thread id (= run id)."""
    g = StateGraph(VideoState, context_schema=RunConfig)
    g.add_node("decode_sids", live(decode_node))  # D-SID → Semantics
    g.add_node("instruct", live(instruct_node))  # Instruction model → Brief
    g.add_node("visual", live(visual_node))  # Visual Planning agent → VisualPlan
    g.add_node("review", live(review_node))  # with --review: a creative approves or edits the plan (interrupt)
    g.add_node("render_shot", live(render_shot_node), input_schema=RenderTask)  # t2v / i2v, one task per shot
    g.add_node("audio", live(audio_node))  # Audio Alignment agent → voice + BGM mix
    g.add_node("effects", live(effects_node))  # Artistic Effects agent → subtitles, stickers, CTA, grade
    g.add_node("compose", live(compose_node))  # ffmpeg/moviepy → draft.mp4
    g.add_node("critic", live(critic_node))  # measure, score, accept or send back

    g.add_edge(START, "decode_sids")
    g.add_edge("decode_sids", "instruct")
    g.add_edge("instruct", "visual")
    g.add_edge("visual", "review")
    g.add_conditional_edges("review", fan_out_renders, ["render_shot"])
    g.add_edge("render_shot", "audio")
    g.add_edge("audio", "effects")
    g.add_edge("effects", "compose")
    g.add_edge("compose", "critic")
    g.add_conditional_edges("critic", route_after_critic, {**{a: a for a in REVISABLE}, "__end__": END})
    assert tuple(g.nodes) == STAGES, "graphs.STAGES must list the graph's nodes in order"
    return g.compile(checkpointer=checkpointer, interrupt_after=interrupt_after or None)
