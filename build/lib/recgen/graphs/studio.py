"""Entry point for `langgraph dev` / LangGraph Studio (langgraph.json points here). Kept apart from
graphs/video.py so importing recgen does not compile a graph. Runs need a RunContext as `context`."""

from recgen.graphs.video import build_video_graph

graph = build_video_graph()
