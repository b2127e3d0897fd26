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
    "damaged": "damaged (see its reason)",
}
# what a viewer of a run may fetch from its folder; the checkpoint database, locks and partial files are not
SERVED = frozenset({".mp4", ".png", ".jpg", ".jpeg", ".json", ".jsonl", ".wav", ".m4a", ".txt"})
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
                s = self._summary(folder, read_record(folder))
            except RunStoreError as e:  # one damaged run is listed as such; the rest of the list stands
                s = _damaged(folder, str(e))
            if product and product.lower() not in f"{s.product_id} {s.product_title} user {s.user}".lower():
                continue
            if creative and not _creative_match(creative, s):
                continue
            out.append(s)
        out.sort(key=lambda s: (s.started, s.run_id), reverse=True)
        return out

    def _summary(self, folder: Path, rec: dict) -> RunSummary:
        """The list's row for a run; fields of the wrong type in its record read as unknown, not as a crash."""
        req = _obj(rec.get("request"))
        prod, dsid = _obj(req.get("product")), _obj(req.get("dsid"))
        reports = (
            [r for r in rec.get("reports") or [] if isinstance(r, dict)] if isinstance(rec.get("reports"), list) else []
        )
        thumb = folder / "shots" / "shot_00_key.png"
        try:
            code = str(DSID.model_validate(dsid)) if dsid else ""
        except ValueError:
            code = ""
        scores = [float(r["total"]) for r in reports if isinstance(r.get("total"), int | float)]
        return RunSummary(
            run_id=folder.name,
            started=_number(rec.get("started")),
            status=live_status(folder, rec),
            product_id=str(prod.get("id", "")),
            product_title=str(prod.get("title", "")),
            dsid=code,
            creative=str(rec.get("creative", "")),
            score=max(scores, default=None),
            thumbnail="shots/shot_00_key.png" if thumb.is_file() else None,
            user=str(user) if (user := _obj(rec.get("grm")).get("user")) is not None else None,
        )

    # ---- one run ------------------------------------------------------------------------------------
    def folder(self, run_id: str) -> Path:
        if "\x00" in run_id:
            raise RunStoreError(f"no run {run_id!r} in {self.root}")
        folder = run_dir(self.root, run_id)
        if not (folder / "run.json").is_file():
            raise RunStoreError(f"no run {run_id!r} in {self.root}")
        return folder

    def file(self, run_id: str, rel: str) -> Path:
        """A file inside one run's folder; anything that resolves outside it (.., absolute paths, links out)
        is refused."""
        folder = self.folder(run_id).resolve()
        try:
            path = (folder / rel).resolve()
        except (ValueError, OSError) as e:  # a NUL byte, a name too long
            raise RunStoreError(f"no file {rel!r} in run {run_id}") from e
        if not path.is_relative_to(folder) or not path.is_file() or path.suffix.lower() not in SERVED:
            raise RunStoreError(f"no file {rel!r} in run {run_id}")
        if {".partial", ".tmp"} & set(path.suffixes):
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
            up = _shaped(ev["update"])
            if ev["node"] == "review_wait":
                review_payload = (up.get("payload") or [None])[0]
                continue
            if ev["node"] == "review":
                review_payload = None
            for key in ("semantics", "brief", "visual", "audio_plan", "tracks", "effects"):
                if isinstance(up.get(key), dict):
                    latest[key] = up[key]
            for c in up["clips"]:
                if isinstance(c.get("index"), int):
                    clips[c["index"]] = c
            for call in up["tool_calls"]:
                tool_calls.setdefault(str(call.get("agent", "?")), []).append(call)
            notes += (
                [n for n in up.get("notes") or [] if isinstance(n, str)] if isinstance(up.get("notes"), list) else []
            )
            for d in up["drafts"]:
                draft = d
            for r in up["reports"]:
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


def _shaped(update: dict) -> dict:
    """A trace event's update with its lists holding only objects (a hand-edited or damaged trace line
    keeps the page up: what is not in the shape we write is left out)."""
    out = dict(update)
    for key in ("clips", "tool_calls", "drafts", "reports"):
        got = update.get(key)
        out[key] = [x for x in got if isinstance(x, dict)] if isinstance(got, list) else []
    got = update.get("notes")
    out["notes"] = [n for n in got if isinstance(n, str)] if isinstance(got, list) else []
    return out


def _obj(x: Any) -> dict:
    return x if isinstance(x, dict) else {}


def _number(x: Any) -> float:
    """A record's time stamp; anything but a number (a date string, null) reads as unknown (0)."""
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) and x == x and abs(x) < 1e11 else 0.0


def _damaged(folder: Path, reason: str) -> RunSummary:
    """The list's row for a run whose record cannot be read: there, with why, and nothing else claimed."""
    try:
        started = folder.stat().st_mtime
    except OSError:
        started = 0.0
    return RunSummary(run_id=folder.name, started=started, status="damaged", product_id="", product_title=reason,
                      dsid="", creative="", score=None, thumbnail=None)  # fmt: skip


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError):  # JSON and UTF-8 errors are ValueErrors
        return None
    return data if isinstance(data, dict) else None


def _creative_match(query: str, s: RunSummary) -> bool:
    """A full D-SID prefix ('c1.2/s3'), a creative-code prefix ('s3.0'), or the preset name."""
    q = query.strip().lower()
    return s.dsid.startswith(q) or s.dsid.split("/", 1)[-1].startswith(q) or q == s.creative.lower()
