"""Re-judge a finished run's video — or any mp4 made from its plans, such as an edited export — with the
critic's checks, without running an agent: `recgen critique RUN [--video FILE]`.

The run's plans say which agent owns a fault; what the checks read is listed per check in `SEEN_IN_FILE`:
those decide from the file's pixels and sound, the others still from the plan and the compositor's records
(a defect edited into the file there is not seen — the report says which checks those are)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from recgen.agents.critic import measure_draft, ranking
from recgen.errors import InputError, MediaError, RunStoreError
from recgen.generate import settings_like
from recgen.graphs.video import build_video_graph
from recgen.rewards.quality import CHECKS
from recgen.runs import RunFolder, checkpointer
from recgen.schemas import VideoState, Violation
from recgen.settings import Settings
from recgen.tools.probes import probe

# the checks whose verdict comes from the decoded file (pixels, sound, OCR and ASR of it)
SEEN_IN_FILE = frozenset(
    {
        "streams",
        "loudness",
        "black_frames",
        "frozen",
        "perceived",
        "product_colour",
        "text_contrast",
        "unplanned",
    }
)


@dataclass
class Critique:
    run_id: str
    video: Path
    violations: list[Violation]
    measures: dict[str, float]
    notes: list[str] = field(default_factory=list)
    from_file: tuple[str, ...] = ()
    from_plan: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.violations

    def as_json(self) -> dict:
        return {
            "run_id": self.run_id,
            "video": str(self.video),
            "passed": self.passed,
            "violations": [v.model_dump() for v in self.violations],
            "measures": self.measures,
            "notes": self.notes,
            "checks_from_file": list(self.from_file),
            "checks_from_plan": list(self.from_plan),
        }


def run_state(folder: RunFolder) -> VideoState:
    """The run's last checkpointed state (its plans, drafts and reports)."""
    if not folder.path.is_dir():
        raise RunStoreError(f"no run {folder.run_id!r} in {folder.path.parent}")
    saver = checkpointer(folder.path)
    try:
        snapshot = build_video_graph(saver).get_state({"configurable": {"thread_id": folder.run_id}})
    finally:
        saver.conn.close()
    if not snapshot.values:
        raise RunStoreError(f"run {folder.run_id} has no checkpoint to read its plans from")
    state = VideoState.model_validate(snapshot.values)
    if not state.drafts or not state.reports or state.visual is None or state.effects is None:
        raise RunStoreError(
            f"run {folder.run_id} has no finished draft yet: finish it first (recgen generate --resume)"
        )
    return state


def critique(run_id: str, settings: Settings, video: Path | None = None) -> Critique:
    """Judge `video` (default: the run's final video) against the run's plans with every check."""
    folder = RunFolder.of(settings.runs_dir, run_id)
    state = run_state(folder)
    settings = settings_like(folder.record(), settings)  # the run's size, fps and read-back; this machine's paths
    best = max(zip(state.reports, state.drafts, strict=False), key=lambda rd: ranking(rd[0]))[1]
    path = Path(video) if video is not None else (state.final_path or best.path)
    if not path.is_file():
        raise InputError(f"no video at {path}")
    try:
        p = probe(path)
    except MediaError as e:
        raise InputError(f"{path} is not a video this critic can read: {e}") from e
    if (p.width, p.height) != (settings.width, settings.height):
        raise InputError(
            f"{path.name} is {p.width}×{p.height}, the run was made at {settings.width}×{settings.height}: "
            "export at the run's size so text and product places can be compared"
        )
    draft = best.model_copy(update={"path": path})
    state = state.model_copy(update={"drafts": [*state.drafts[:-1], draft]})
    _, _, result = measure_draft(state, settings, folder.path)
    names = [c.__name__ for c in CHECKS]
    return Critique(
        run_id=run_id,
        video=path,
        violations=list(result.violations),
        measures={k: round(float(v), 4) for k, v in result.measures.items()},
        notes=list(dict.fromkeys(result.notes)),
        from_file=tuple(n for n in names if n in SEEN_IN_FILE),
        from_plan=tuple(n for n in names if n not in SEEN_IN_FILE),
    )
