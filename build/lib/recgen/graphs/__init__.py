"""LangGraph graphs: video.py (D-SIDs → ad video)."""
