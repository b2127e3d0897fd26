"""LangGraph graphs: video.py (D-SIDs → ad video, the wiring), nodes.py (its plumbing nodes), rec2video.py
(user → GRM → video), studio.py (the entry `langgraph dev` loads).

STAGES names the video graph's nodes in pipeline order; the graph, the CLI's progress and `--stop-after`, and
the trace UI all read it from here."""

STAGES: tuple[str, ...] = (
    "decode_sids",
    "instruct",
    "visual",
    "review",
    "render_shot",
    "audio",
    "effects",
    "compose",
    "critic",
)
# where a run may be paused with --stop-after (review pauses by itself; renders and the critic loop do not)
STOP_AFTER: tuple[str, ...] = tuple(s for s in STAGES if s not in ("review", "render_shot", "critic"))
