"""Visual Planning agent: per shot composition, camera, duration on the beat, prompt and asset use;
then the parallel shot renders through its text/image-to-video tools."""

from __future__ import annotations

from typing import TYPE_CHECKING

from recgen.agents.context import AgentContext
from recgen.color import rgb_hex
from recgen.schemas import ShotBrief, ShotPlan, ShotRole, VideoState, VisualPlan
from recgen.sid.claim_visuals import ingredient_colour, named_part
from recgen.tools.product_render import part_anchor
from recgen.vocabulary import VOCAB, Composition

if TYPE_CHECKING:
    from recgen.runtime import RunContext


def fit_durations(roles: list[ShotRole], total: float, beat: float, min_shot: float = 1.0) -> list[float]:
    """Shot lengths in proportion to their roles, cuts snapped to the beat, summing exactly to `total`."""
    weights = [VOCAB.roles[r].weight for r in roles]
    scale = total / sum(weights)
    cuts, t = [], 0.0
    min_len = min(max(min_shot, beat), total / len(weights))  # a short ad with many shots: equal shares
    for i, w in enumerate(weights[:-1]):
        target = t + w * scale
        snapped = round(target / beat) * beat
        remaining = len(weights) - i - 1
        snapped = min(max(snapped, t + min_len), total - remaining * min_len)
        cuts.append(snapped)
        t = snapped
    edges = [0.0, *cuts, total]
    return [round(b - a, 4) for a, b in zip(edges, edges[1:], strict=False)]


def shot_type(sb: ShotBrief, asset: str, family: str, brand: str | None = None) -> tuple[Composition, str, str]:
    """What a shot shows, from what it says: an ingredient claim as a field of the ingredient's colour, a
    feature that names a part as a callout pointing at that part, a proof as a close-up of the label; the
    role's own composition otherwise (and always on the user's photo, whose parts are unknown). Returns the
    composition, the part's model role (callout) and the field's colour (hex)."""
    base = VOCAB.roles[sb.role].composition
    if asset != "packshot" or sb.role not in ("benefit", "proof"):
        return base, "", ""
    if sb.claim_type == "ingredient" and (ingredient := ingredient_colour(sb.claim, brand)):
        return "ingredient_field", "", rgb_hex(ingredient[1])
    part = named_part(sb.claim, family) if sb.claim_type in ("feature", "benefit", "use") else None
    if part is not None and part_anchor(family, part[1]) is not None:
        return "callout", part[1], ""
    if sb.role == "proof" and part_anchor(family, "label") is not None:
        return "label_macro", "label", ""
    return base, "", ""


def builtin_visual_plan(ctx: AgentContext) -> VisualPlan:
    brief, c = ctx.brief, ctx.semantics.creative
    assert brief is not None
    fixes = {v.code for v in ctx.fixes}
    beat = 60.0 / c.tempo_bpm
    roles = [s.role for s in brief.shots]
    durations = fit_durations(roles, brief.duration_s, beat if c.style.cut_rate > 0.25 else beat * 2)
    motion = round(0.25 + 0.7 * c.style.motion, 3)
    if "frozen" in fixes:
        motion = min(1.0, motion + 0.35)
    moves = VOCAB.camera_moves["energetic" if c.style.motion > 0.55 else "calm"]
    background = VOCAB.moods[c.mood].background
    if "black_frames" in fixes:
        background = "gradient"
    if "frame_shared" in fixes:  # another product's video has these frames: another backdrop
        kinds = ("shapes", "stripes", "spotlight", "gradient")
        background = kinds[(kinds.index(background) + 1) % len(kinds) if background in kinds else 0]
    dense = c.style.text_density > 0.45
    shots, t = [], 0.0
    for i, (sb, dur) in enumerate(zip(brief.shots, durations, strict=True)):
        camera = moves[(i + ctx.seed) % len(moves)]
        if "frozen" in fixes and camera == "static":
            camera = "push_in"
        asset = "user_image" if ctx.product.image_path and sb.role in ("product", "cta") else "packshot"
        if sb.role == "hook":
            headline = sb.message if dense or c.style.text_density > 0.15 else ""
        elif sb.role == "product":
            headline = brief.headline
        elif sb.role in ("benefit", "proof"):
            headline = sb.message.rstrip(".") if dense or sb.role == "benefit" else ""
        else:  # the end card: who makes it (the brand's moment, as in a logo end card), else what it is
            headline = ctx.semantics.content.facts.brand or brief.headline
        if "safe_area" in fixes and len(headline.split()) > 4:
            headline = " ".join(headline.split(".")[0].split()[:4])
        content = ctx.semantics.content
        composition, points_at, field = shot_type(sb, asset, content.product_type, content.facts.brand)
        prompt = (
            f"{sb.visual_idea}; {c.preset.replace('-', ' ')} look, palette {', '.join(c.palette[:3])}; "
            f"{camera.replace('_', ' ')} camera; {background} background; vertical 9:16 ad shot"
        )
        shots.append(
            ShotPlan(
                index=i,
                role=sb.role,
                start=round(t, 4),
                duration=dur,
                composition=composition,
                camera=camera,
                motion=motion,
                background=background,
                asset=asset,
                headline=headline,
                prompt=prompt,
                points_at=points_at,
                field_colour=field,
            )
        )
        t += dur
    return VisualPlan(palette=c.palette, shots=tuple(shots))


# --------------------------------------------------------------------------------------------------------
# nodes
# --------------------------------------------------------------------------------------------------------


def visual_node(state: VideoState, rc: RunContext) -> dict:
    ctx = rc.agent_context("visual", state)
    toolbox = ctx.tools
    plan = rc.policy.plan_visual(ctx)
    _check_plan(plan, state.brief.duration_s)
    rc.emit("visual", f"{len(plan.shots)} shots, {plan.duration_s:.2f}s")
    rc.folder.write_plan("visual", plan)
    return {"visual": plan, "tool_calls": toolbox.drain(), "notes": ctx.notes}


def _check_plan(plan: VisualPlan, target: float) -> None:
    from recgen.errors import InputError

    if not plan.shots:
        raise InputError("the visual plan has no shots")
    if abs(plan.duration_s - target) > 0.05:
        raise InputError(f"the visual plan lasts {plan.duration_s:.2f}s but the brief asks for {target:.2f}s")
