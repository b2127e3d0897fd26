"""The critic: measures each draft, names the failed constraints and the agent to revisit with a concrete
fix; at most `max_revisions` rounds, and the best-scoring draft becomes final."""

from __future__ import annotations

import shutil
import sqlite3
from typing import TYPE_CHECKING

from recgen.errors import InputError
from recgen.rewards.combine import VIOLATION_PENALTY, components, scores_of, total
from recgen.rewards.draft import reward_draft
from recgen.rewards.quality import DraftView, evaluate
from recgen.rewards.shared_frames import FrameIndex, frame_hashes, product_key
from recgen.schemas import CriticDecision, CriticReport, Revision, VideoState, Violation
from recgen.tools.probes import probe
from recgen.tools.readback import read_back

if TYPE_CHECKING:
    from pathlib import Path

    from recgen.runtime import RunContext
    from recgen.settings import Settings

# upstream first: revising an agent re-runs everything after it, so the earliest fault is fixed first
_ORDER = ("instruct", "visual", "audio", "effects")
MAX_INSTRUCTION = CriticDecision.model_fields["instruction"].metadata[0].max_length
# faults no agent's plan can change: the product model's colour is drawn from the title's, so a mismatch is
# the renderer's or the grade's and is reported (the run ends flagged) rather than sent back to re-render
REPORT_ONLY = frozenset({"colour_mismatch"})


def builtin_critique(violations: tuple[Violation, ...]) -> CriticDecision:
    """Accept a clean draft; otherwise send it to the most upstream agent at fault with the fixes."""
    if not violations:
        return CriticDecision(verdict="accept", instruction="all constraints hold")
    agent = min((v.agent for v in violations), key=_ORDER.index)
    instruction = "; ".join(f"{v.message} → {v.fix}" for v in violations if v.agent == agent)
    if len(instruction) > MAX_INSTRUCTION:  # every violation still reaches the agent as a fix
        instruction = instruction[: MAX_INSTRUCTION - 1] + "…"
    return CriticDecision(verdict="revise", revise_agent=agent, instruction=instruction)


def check_decision(d: CriticDecision, violations: tuple[Violation, ...]) -> None:
    """The constraints are hard: a draft with violations is not accepted, and a revision goes to an agent
    that has one (or, on a clean draft, to any agent, with an instruction)."""
    at_fault = {v.agent for v in violations}
    if d.verdict == "accept" and violations:
        raise InputError(f"{len(violations)} constraint(s) fail ({', '.join(v.code for v in violations)}); revise")
    if d.verdict == "revise":
        if d.revise_agent is None:
            raise InputError("a revision must name the agent to revise (" + ", ".join(_ORDER) + ")")
        if at_fault and d.revise_agent not in at_fault:
            raise InputError(f"revise one of the agents at fault: {', '.join(sorted(at_fault))}")
        if not d.instruction.strip():
            raise InputError("a revision needs an instruction for the agent")


def _reviewed(state: VideoState) -> tuple[str, ...]:
    """The lines a creative wrote at the review pause."""
    r = state.review
    return () if r is None else tuple(t for t in (r.headline, r.cta, *r.voice_lines.values()) if t)


def ranking(r: CriticReport) -> float:
    """What the final draft is chosen by: the constrained reward less the open-violation penalty, or the
    quality total while the thresholds are not calibrated."""
    return r.total if r.reward is None else r.reward - VIOLATION_PENALTY * len(r.violations)


def measure_draft(state: VideoState, s: Settings, workdir: Path, record_as: str | None = None):
    """The last draft as rendered: its probe, what a viewer reads and hears, and every check on it (also
    `recgen critique`, on any file made from the run's plans). `record_as`: the run whose frames the draft's
    are, kept in the frame index so later ads of other products are checked against them."""
    draft = state.drafts[-1]
    facts = state.semantics.content.facts
    p = probe(draft.path)
    seen_s = min(state.visual.duration_s, p.duration)  # a file cut short is read as far as it goes
    rb = read_back(draft.path, draft.text_boxes, seen_s, p.audio, p.audio_rate, s, facts.title, workdir)
    view = DraftView(draft, p, state.visual, state.tracks, state.effects, s.width, s.height, s.target_lufs,
                     state.brief, facts, _reviewed(state), rb)  # fmt: skip
    result = evaluate(view)
    if s.compare_frames:
        _compare_frames(state, s, seen_s, result, record_as)
    return p, rb, result


def _compare_frames(state: VideoState, s: Settings, seen_s: float, result, record_as: str | None) -> None:
    """The draft's frames against other products' videos (rewards/shared_frames.py)."""
    draft, facts = state.drafts[-1], state.semantics.content.facts
    key = product_key(facts.title, facts.brand)
    hashes = frame_hashes(draft.path, seen_s, s.fps, (s.width, s.height))
    try:
        index = FrameIndex(s.cache_dir / "frames.sqlite")
        shared = index.shared(key, hashes)
        if record_as is not None:
            index.record(key, facts.title, record_as, hashes)
    except sqlite3.DatabaseError as e:  # the index is a check's memory, not the run's: the run goes on
        result.notes.append(f"critic: the frame index {s.cache_dir / 'frames.sqlite'} is unreadable ({e}); "
                            "frames not compared with other products' videos")  # fmt: skip
        return
    result.measures["frames_shared"] = float(len(shared))
    if shared:
        first = shared[0]
        result.violations.append(
            Violation(
                code="frame_shared",
                agent="visual",
                message=f"{len(shared)} frame(s) the same as another product's video, e.g. at {first.t:.1f}s as "
                f"{first.product[:60]!r} at {first.other_t:.1f}s (run {first.run})",
                fix="draw the backgrounds anew: another background",
            )
        )


def _soft_revision(state: VideoState, rc: RunContext, dr, round_: int) -> Violation | None:
    """A clean draft the policy accepted goes back once per constraint when its combined reward falls short
    there and the agent at fault has a fix (settings.revise_on_reward)."""
    if not rc.settings.revise_on_reward or dr.soft is None or round_ >= rc.settings.max_revisions:
        return None
    if any(r.verdict == "revise" and r.shortfall == dr.shortfall and not r.violations for r in state.reports):
        return None  # this constraint was sent back once already: the best draft is kept instead
    return dr.soft


def _digest(path) -> str:
    import hashlib

    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha1").hexdigest()


def _unchanged_revision(state: VideoState, violations: tuple[Violation, ...] = ()) -> str | None:
    """Why another round would be wasted: the last revision left the rendered video byte for byte as it
    was, or left every fault of the agent it was sent to exactly as it was (the same lines, the same
    measurements): sending them back again can only get the same answer."""
    if len(state.drafts) < 2 or not state.reports or state.reports[-1].verdict != "revise":
        return None
    last, before = state.drafts[-1], state.drafts[-2]
    agent = state.reports[-1].revise_agent
    try:
        same = _digest(last.path) == _digest(before.path)
    except OSError:
        same = False
    if same:
        return (
            f"the revision of {agent} changed nothing in the video (round {last.round} is identical to {before.round})"
        )
    mine = {(v.code, v.message) for v in violations if v.agent == agent}
    asked = {(v.code, v.message) for v in state.reports[-1].violations if v.agent == agent}
    if mine and mine == asked:
        return f"the revision of {agent} changed nothing it was asked to fix ({', '.join(sorted(c for c, _ in mine))})"
    return None


def _stop_unchanged(state: VideoState, rc: RunContext) -> dict:
    """The revision changed no plan, so the video would be the last one again (not rendered), or it changed
    plans but the rendered file is the last one again: no measuring; the last round's findings stand and the
    run ends with them (flagged if any check failed)."""
    draft, before = state.drafts[-1], state.reports[-1]
    agent = state.revision.agent if state.revision else before.revise_agent
    was = draft.unchanged_from
    why = (
        f"the revision of {agent} changed no frame or sound (its draft is round {was}'s file again)"
        if draft.render_seconds
        else f"the revision of {agent} would change nothing (its plans equal round {was}'s); not rendered"
    )
    n = len(before.violations)
    report = before.model_copy(
        update={
            "round": draft.round,
            "verdict": "stop" if n else "accept",  # a clean draft a wish was not acted on still stands
            "revise_agent": None,
            "instruction": why + (f"; stopped with {n} open violation(s)" if n else "; the clean draft stands"),
        }
    )
    rc.folder.write_critic(draft.round, report)
    rc.emit("critic", f"round {draft.round}: {report.verdict} ({why})")
    return {"reports": [report], "notes": [f"critic: {why}"], "revision": None, **_finish(state, report, rc)}


def _finish(state: VideoState, report: CriticReport, rc: RunContext) -> dict:
    """The best-scoring draft becomes the run's final video."""
    best = max(zip(state.reports + [report], state.drafts, strict=True), key=lambda rd: ranking(rd[0]))[1]
    final = rc.folder.final_path
    tmp = final.with_name("final.partial.mp4")
    shutil.copyfile(best.path, tmp)
    tmp.replace(final)
    return {"final_path": final}


def critic_node(state: VideoState, rc: RunContext) -> dict:
    s = rc.settings
    draft = state.drafts[-1]
    if draft.unchanged_from is not None and state.reports:
        return _stop_unchanged(state, rc)
    p, rb, result = measure_draft(state, s, rc.folder.path, record_as=rc.folder.path.name)
    measures, violations = result.measures, tuple(result.violations)
    parts = components(measures, s.target_lufs)
    sc = scores_of(parts)
    dr = reward_draft(rc.space, state, p, rb, parts, s)
    round_ = draft.round
    ctx = rc.agent_context("critic", state)
    unchanged = _unchanged_revision(state, violations)
    fixable = tuple(v for v in violations if v.code not in REPORT_ONLY)
    if violations and not fixable:
        verdict, agent = "stop", None
        instruction = "reported, not sent back (no agent's plan can change it): " + "; ".join(
            v.message for v in violations
        )
    elif unchanged is not None and violations:
        verdict, agent, instruction = "stop", None, f"{unchanged}; stopped with {len(violations)} open violation(s)"
    elif round_ >= s.max_revisions and violations:
        verdict, agent, instruction = "stop", None, f"revision budget spent with {len(violations)} open violation(s)"
    elif round_ >= s.max_revisions:
        verdict, agent, instruction = "accept", None, "all constraints hold"
    else:
        d = rc.policy.critique(ctx, measures, fixable)
        verdict, agent, instruction = d.verdict, d.revise_agent, d.instruction
    soft = _soft_revision(state, rc, dr, round_) if verdict == "accept" and not violations else None
    if soft is not None:
        verdict, agent, instruction = "revise", soft.agent, f"{soft.message} → {soft.fix}"
    report = CriticReport(
        round=round_,
        measures={k: round(float(x), 4) for k, x in measures.items()},
        scores=sc,
        total=total(sc, violations),
        violations=violations,
        verdict=verdict,
        revise_agent=agent,
        instruction=instruction,
        claims=tuple(result.claims),
        reencoding=dr.reencoding,
        rewards=dr.rewards,
        reward=dr.reward,
        shortfall=dr.shortfall,
    )
    rc.folder.write_critic(round_, report)
    rc.emit("critic", f"round {round_}: {verdict}" + (f" → {agent}: {instruction}" if agent else ""))
    notes = [n for n in dict.fromkeys(ctx.notes + rb.notes + result.notes + dr.notes) if n not in state.notes]
    update: dict = {"reports": [report], "notes": notes}
    if verdict == "revise":
        sent = violations or ((soft,) if soft is not None else ())
        if not any(v.agent == agent for v in violations):  # a critic's own request reaches the agent as a fix
            sent += (Violation(code="critic_note", agent=agent, message=instruction, fix=instruction),)
        update["revision"] = Revision(round=round_ + 1, agent=agent, violations=sent)
    else:
        update["revision"] = None
        update.update(_finish(state, report, rc))
    return update
