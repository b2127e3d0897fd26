"""Serving: the trace UI (FastAPI) over the run store, and the background jobs it starts."""
