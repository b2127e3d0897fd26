"""Read-only views of the run store for the trace UI: a summary per run for the list, and the full data flow
of one run (semantics → brief → shots → audio → effects → drafts with critic reports → changes per round),
rebuilt from run.json, the plan files and the append-only trace."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recgen.errors import RunStoreError
from recgen.graphs import STAGES
from recgen.plandiff import FieldChange, field_changes
from recgen.runs import PLAN_FILES, RunFolder, live_status, read_record, run_dir
from recgen.schemas import DSID
from recgen.trace import read_events

STATUS_LABELS = {
    "running": "running",
    "done": "done",
    "flagged": "done, checks failed",
    "failed": "failed",
    "interrupted": "interrupted (resume it)",
    "paused": "paused",
    "review": "waiting for review",
}
# nodes a run passes through once (render_shot counts once per shot; review only when asked); the progress bar
PIPELINE = tuple(s for s in STAGES if s != "review")


def progress(nodes_seen: set[str]) -> float:
    """Share of the pipeline's stages a run has passed."""
    return round(sum(n in nodes_seen for n in PIPELINE) / len(PIPELINE), 3)


@dataclass
class RunSummary:
    run_id: str
    started: float
    status: str
    product_id: str
    product_title: str
    dsid: str
    creative: str
    score: float | None
    thumbnail: str | None  # path inside the run folder
    user: str | None = None  # set for runs made user → GRM → D-SIDs (recgen demo --user)

    @property
    def started_text(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started)) if self.started else "?"

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


@dataclass
class Round:
    """One critic round: the plans the draft was made from, the draft, and the critic's report."""

    index: int
    plans: dict[str, Any]
    draft: dict | None
    report: dict | None
    changes: list[FieldChange] = field(default_factory=list)  # against the round before


@dataclass
class RunView:
    summary: RunSummary
    record: dict
    semantics: dict | None
    brief: dict | None
    visual: dict | None
    audio_plan: dict | None
    tracks: dict | None
    effects: dict | None
    rounds: list[Round]
    tool_calls: dict[str, list[dict]]
    notes: list[str]
    events: list[dict]
    review_payload: dict | None
    keyframes: dict[int, str]
    final: str | None

    @property
    def progress(self) -> float:
        """Share of the pipeline's stages this run has passed (1.0 when finished)."""
        if self.summary.status in ("done", "flagged"):
            return 1.0
        return progress({e["node"] for e in self.events})


class RunStore:
    """The runs folder as the UI sees it. Paths handed out are always inside one run's folder."""

    def __init__(self, runs_dir: Path):
        self.root = Path(runs_dir).resolve()

    # ---- list ---------------------------------------------------------------------------------------
    def summaries(self, product: str = "", creative: str = "") -> list[RunSummary]:
        """Newest first; `product` matches id or title (case-insensitive), `creative` a D-SID prefix
        ('s3', 'c1.2/s3.0') or the creative preset name."""
        out = []
        if not self.root.is_dir():
            return out
        for folder in self.root.iterdir():
            rec_path = folder / "run.json"
            if not rec_path.is_file():
                continue
            try:
                rec = json.loads(rec_path.read_text())
            except (OSError, json.JSONDecodeError):
                continue
            s = self._summary(folder, rec)
            if product and product.lower() not in f"{s.product_id} {s.product_title} user {s.user}".lower():
                continue
            if creative and not _creative_match(creative, s):
                continue
            out.append(s)
        out.sort(key=lambda s: (s.started, s.run_id), reverse=True)
        return out

    def _summary(self, folder: Path, rec: dict) -> RunSummary:
        req = rec.get("request") or {}
        prod = req.get("product") or {}
        dsid = req.get("dsid") or {}
        reports = rec.get("reports") or []
        thumb = folder / "shots" / "shot_00_key.png"
        return RunSummary(
            run_id=rec.get("run_id", folder.name),
            started=float(rec.get("started") or 0),
            status=live_status(folder, rec),
            product_id=str(prod.get("id", "")),
            product_title=str(prod.get("title", "")),
            dsid=str(DSID.model_validate(dsid)) if dsid else "",
            creative=str(rec.get("creative", "")),
            score=max((r.get("total", 0.0) for r in reports), default=None),
            thumbnail="shots/shot_00_key.png" if thumb.is_file() else None,
            user=(rec.get("grm") or {}).get("user"),
        )

    # ---- one run ------------------------------------------------------------------------------------
    def folder(self, run_id: str) -> Path:
        folder = run_dir(self.root, run_id)
        if not (folder / "run.json").is_file():
            raise RunStoreError(f"no run {run_id!r} in {self.root}")
        return folder

    def file(self, run_id: str, rel: str) -> Path:
        """A file inside one run's folder; anything that resolves outside it (.., absolute paths, links out)
        is refused."""
        folder = self.folder(run_id).resolve()
        path = (folder / rel).resolve()
        if not path.is_relative_to(folder) or not path.is_file():
            raise RunStoreError(f"no file {rel!r} in run {run_id}")
        return path

    def relative(self, run_id: str, path: str | Path | None) -> str | None:
        """A path recorded in the state, made relative to the run folder (None if it lies elsewhere)."""
        if not path:
            return None
        folder = (self.root / run_id).resolve()
        p = Path(path).resolve()
        return str(p.relative_to(folder)) if p.is_relative_to(folder) and p.is_file() else None

    def view(self, run_id: str) -> RunView:
        folder = self.folder(run_id)
        rec = read_record(folder)
        events, _ = read_events(folder)
        latest: dict[str, Any] = {}
        rounds: list[Round] = []
        tool_calls: dict[str, list[dict]] = {}
        notes: list[str] = []
        draft: dict | None = None
        clips: dict[int, dict] = {}
        review_payload = None
        for ev in events:
            up = ev.get("update") or {}
            if ev["node"] == "review_wait":
                review_payload = (up.get("payload") or [None])[0]
                continue
            if ev["node"] == "review":
                review_payload = None
            for key in ("semantics", "brief", "visual", "audio_plan", "tracks", "effects"):
                if up.get(key) is not None:
                    latest[key] = up[key]
            for c in up.get("clips") or []:
                clips[c["index"]] = c
            for call in up.get("tool_calls") or []:
                tool_calls.setdefault(call.get("agent", "?"), []).append(call)
            notes += up.get("notes") or []
            for d in up.get("drafts") or []:
                draft = d
            for r in up.get("reports") or []:
                plans = {k: latest.get(k) for k in ("brief", "visual", "audio_plan", "effects")}
                before = rounds[-1].plans if rounds else None
                changes = [] if before is None else field_changes(before, plans)
                rounds.append(Round(r.get("round", len(rounds)), plans, draft, r, changes))
                draft = None
        if not events:  # a run made before traces existed: the plan files and critic reports
            latest = {k: _read_json(RunFolder(folder).plan_path(k)) for k in PLAN_FILES}
            for i, p in enumerate(sorted((folder / "critic").glob("round_*.json"))):
                rounds.append(Round(i, {}, None, _read_json(p)))
        if rec.get("status") == "review" and review_payload is None:
            review_payload = {"brief": latest.get("brief"), "visual": latest.get("visual")}
        keyframes = {}
        for i, c in clips.items():
            rel = self.relative(run_id, c.get("keyframe_path"))
            if rel:
                keyframes[i] = rel
        for i in range(len((latest.get("visual") or {}).get("shots") or [])):
            if i not in keyframes and (folder / "shots" / f"shot_{i:02d}_key.png").is_file():
                keyframes[i] = f"shots/shot_{i:02d}_key.png"
        for rd in rounds:
            if rd.draft:
                rd.draft["rel_path"] = self.relative(run_id, rd.draft.get("path"))
        return RunView(
            summary=self._summary(folder, rec),
            record=rec,
            semantics=latest.get("semantics"),
            brief=latest.get("brief"),
            visual=latest.get("visual"),
            audio_plan=latest.get("audio_plan"),
            tracks=latest.get("tracks"),
            effects=latest.get("effects"),
            rounds=rounds,
            tool_calls=tool_calls,
            notes=notes or list(rec.get("notes") or []),
            events=events,
            review_payload=review_payload,
            keyframes=keyframes,
            final="final.mp4" if (folder / "final.mp4").is_file() else None,
        )

    def waveform(self, run_id: str, buckets: int = 480) -> np.ndarray | None:
        """Peak amplitude per time bucket of the audio mix (for drawing), or None before the audio step."""
        from recgen.tools.mixer import read_wav

        path = self.folder(run_id) / "audio" / "mix.wav"
        if not path.is_file():
            return None
        audio, _ = read_wav(path)
        if audio.ndim > 1:
            audio = np.abs(audio).max(axis=1)
        n = len(audio) // buckets
        if n == 0:
            return None
        return np.abs(audio[: n * buckets]).reshape(buckets, n).max(axis=1)


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _creative_match(query: str, s: RunSummary) -> bool:
    """A full D-SID prefix ('c1.2/s3'), a creative-code prefix ('s3.0'), or the preset name."""
    q = query.strip().lower()
    return s.dsid.startswith(q) or s.dsid.split("/", 1)[-1].startswith(q) or q == s.creative.lower()
