"""recgen — Recommendation-as-Generation: D-SIDs in, a personalised short ad video out.

The public names load on first use, so that `import recgen.sid.grm` (a training job, the HTTP server's
recommender) does not import the agents, the renderer and LangGraph it never calls.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recgen.errors import RecgenError
    from recgen.generate import RunResult, generate_video
    from recgen.graphs.video import build_video_graph
    from recgen.settings import Settings

_PUBLIC = {
    "RecgenError": "recgen.errors",
    "RunResult": "recgen.generate",
    "Settings": "recgen.settings",
    "build_video_graph": "recgen.graphs.video",
    "generate_video": "recgen.generate",
}

__all__ = ["RecgenError", "RunResult", "Settings", "build_video_graph", "generate_video"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'recgen' has no attribute {name!r}")
    value = getattr(import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value
