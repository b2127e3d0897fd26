"""A run that the operating system kills (SIGKILL) right after the checkpoint that follows a given node, or
that runs under a file-size limit: the fault-injection tests start it as a separate process.

    python tests/crashing_run.py kill NODE SETTINGS_JSON PRODUCT_JSON RUN_ID   (PRODUCT_JSON "-": resume RUN_ID)
    python tests/crashing_run.py fsize BYTES SETTINGS_JSON PRODUCT_JSON RUN_ID
    python tests/crashing_run.py resume - SETTINGS_JSON - RUN_ID
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys

from langgraph.checkpoint.sqlite import SqliteSaver

from recgen import Settings, generate_video
from recgen.errors import RecgenError

# the state field each node writes: the checkpoint whose new versions include it holds the node's work
WRITES = {
    "decode_sids": "semantics",
    "instruct": "brief",
    "visual": "visual",
    "render_shot": "clips",
    "audio": "tracks",
    "effects": "effects",
    "compose": "drafts",
    "critic": "reports",
}


def _kill_after(node: str) -> None:
    put = SqliteSaver.put

    def saved(self, config, checkpoint, metadata, new_versions):
        out = put(self, config, checkpoint, metadata, new_versions)
        if WRITES[node] in new_versions:  # the checkpoint holding the node's work is on disk: die now
            os.kill(os.getpid(), signal.SIGKILL)
        return out

    SqliteSaver.put = saved


def main() -> int:
    mode, arg, settings_json, product_json, run_id = sys.argv[1:6]
    settings = Settings(**json.loads(settings_json))
    if mode == "kill":
        _kill_after(arg)
    if mode == "fsize":
        resource.setrlimit(resource.RLIMIT_FSIZE, (int(arg), int(arg)))
    try:
        if mode == "resume" or product_json == "-":
            r = generate_video(resume=run_id, settings=settings)
        else:
            r = generate_video(json.loads(product_json), "fresh-botanical", settings=settings, run_id=run_id, seed=3)
    except RecgenError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(r.final_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
