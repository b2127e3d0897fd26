"""The critic: measures each draft, names the failed constraints and the agent to revisit with a concrete
fix; at most `max_revisions` rounds, and the best-scoring draft becomes final."""

from __future__ import annotations

import shutil

from langgraph.runtime import Runtime

from recgen.rewards.quality import measure, scores
from recgen.schemas import CriticReport, Revision, VideoState
from recgen.tools.compositor import compose
from recgen.tools.probes import probe

# upstream first: revising an agent re-runs everything after it, so the earliest fault is fixed first
_ORDER = ("visual", "audio", "effects")


def compose_node(state: VideoState, runtime: Runtime) -> dict:
    rc = runtime.context
    round_ = len(state.drafts)
    out = rc.run_dir / "drafts" / f"draft_r{round_}.mp4"
    draft = compose(state.visual, state.clips, state.effects, state.tracks, rc.settings, out, round_)
    rc.emit("compose", f"draft {round_} written in {draft.render_seconds:.1f}s")
    return {"drafts": [draft]}


def critic_node(state: VideoState, runtime: Runtime) -> dict:
    rc = runtime.context
    s = rc.settings
    draft = state.drafts[-1]
    p = probe(draft.path)
    measures, violations = measure(
        draft, p, state.visual, state.tracks, state.effects, s.width, s.height, s.target_lufs
    )
    sc = scores(measures, s.target_lufs)
    total = round(sum(sc.values()) / len(sc) - 0.1 * len(violations), 4)
    round_ = draft.round
    if not violations:
        verdict, agent, instruction = "accept", None, "all constraints hold"
    elif round_ >= s.max_revisions:
        verdict, agent, instruction = "stop", None, f"revision budget spent with {len(violations)} open violation(s)"
    else:
        agent = min((v.agent for v in violations), key=lambda a: _ORDER.index(a) if a in _ORDER else -1)
        verdict = "revise"
        instruction = "; ".join(f"{v.message} → {v.fix}" for v in violations if v.agent == agent)
    report = CriticReport(
        round=round_,
        measures={k: round(float(x), 4) for k, x in measures.items()},
        scores=sc,
        total=total,
        violations=tuple(violations),
        verdict=verdict,
        revise_agent=agent,
        instruction=instruction,
    )
    (rc.run_dir / "critic").mkdir(parents=True, exist_ok=True)
    (rc.run_dir / "critic" / f"round_{round_}.json").write_text(report.model_dump_json(indent=2))
    rc.emit("critic", f"round {round_}: {verdict}" + (f" → {agent}: {instruction}" if agent else ""))
    update: dict = {"reports": [report]}
    if verdict == "revise":
        update["revision"] = Revision(round=round_ + 1, agent=agent, violations=tuple(violations))
    else:
        update["revision"] = None
        best = max(zip(state.reports + [report], state.drafts, strict=True), key=lambda rd: rd[0].total)[1]
        final = rc.run_dir / "final.mp4"
        tmp = final.with_name("final.partial.mp4")
        shutil.copyfile(best.path, tmp)
        tmp.replace(final)
        update["final_path"] = final
    return update


def route_after_critic(state: VideoState) -> str:
    if state.revision is None:
        return "__end__"
    return state.revision.agent
