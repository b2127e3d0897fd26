"""recgen — Recommendation-as-Generation: D-SIDs in, a personalised short ad video out."""

from recgen.errors import RecgenError
from recgen.generate import RunResult, generate_video
from recgen.graphs.video import build_video_graph
from recgen.settings import Settings

__all__ = ["RecgenError", "RunResult", "Settings", "build_video_graph", "generate_video"]
__version__ = "0.1.0"
