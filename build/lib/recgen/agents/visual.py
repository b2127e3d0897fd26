"""Visual Planning agent: per shot composition, camera, duration on the beat, prompt and asset use;
then the parallel shot renders through its text/image-to-video tools."""

from __future__ import annotations

from langgraph.runtime import Runtime
from langgraph.types import Send

from recgen.agents.policy import AgentContext
from recgen.schemas import Background, Camera, Composition, RenderTask, ShotPlan, ShotRole, VideoState, VisualPlan
from recgen.tools.video_gen import plan_hash

_ROLE_WEIGHT: dict[str, float] = {"hook": 0.85, "product": 1.1, "benefit": 1.0, "proof": 1.0, "cta": 1.35}
_COMPOSITION: dict[str, Composition] = {
    "hook": "closeup",
    "product": "hero_center",
    "benefit": "split_text",
    "proof": "lifestyle_card",
    "cta": "cta_card",
}
_BACKGROUND: dict[str, Background] = {
    "calm": "spotlight",
    "dramatic": "spotlight",
    "bold": "stripes",
    "playful": "shapes",
    "clinical": "gradient",
    "energetic": "particles",
    "warm": "gradient",
    "fresh": "shapes",
}
_CALM_MOVES: tuple[Camera, ...] = ("push_in", "pull_out", "push_in", "tilt_up")
_ENERGETIC_MOVES: tuple[Camera, ...] = ("push_in", "pan_left", "tilt_up", "pan_right", "pull_out", "tilt_down")


def fit_durations(roles: list[ShotRole], total: float, beat: float, min_shot: float = 1.0) -> list[float]:
    """Shot lengths in proportion to their roles, cuts snapped to the beat, summing exactly to `total`."""
    weights = [_ROLE_WEIGHT[r] for r in roles]
    scale = total / sum(weights)
    cuts, t = [], 0.0
    min_len = max(min_shot, beat)
    for i, w in enumerate(weights[:-1]):
        target = t + w * scale
        snapped = round(target / beat) * beat
        remaining = len(weights) - i - 1
        snapped = min(max(snapped, t + min_len), total - remaining * min_len)
        cuts.append(snapped)
        t = snapped
    edges = [0.0, *cuts, total]
    return [round(b - a, 4) for a, b in zip(edges, edges[1:], strict=False)]


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
    moves = _ENERGETIC_MOVES if c.style.motion > 0.55 else _CALM_MOVES
    background = _BACKGROUND[c.mood]
    if "black_frames" in fixes:
        background = "gradient"
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
        else:
            headline = brief.headline if c.style.text_density > 0.3 else ""
        if "safe_area" in fixes and len(headline.split()) > 4:
            headline = " ".join(headline.split(".")[0].split()[:4])
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
                composition=_COMPOSITION[sb.role],
                camera=camera,
                motion=motion,
                background=background,
                asset=asset,
                headline=headline,
                prompt=prompt,
            )
        )
        t += dur
    return VisualPlan(palette=c.palette, shots=tuple(shots))


# --------------------------------------------------------------------------------------------------------
# nodes
# --------------------------------------------------------------------------------------------------------


def visual_node(state: VideoState, runtime: Runtime) -> dict:
    rc = runtime.context
    ctx = rc.agent_context("visual", state)
    toolbox = ctx.tools
    plan = rc.policy.plan_visual(ctx)
    _check_plan(plan, state.brief.duration_s)
    rc.emit("visual", f"{len(plan.shots)} shots, {plan.duration:.2f}s")
    (rc.run_dir / "plans").mkdir(parents=True, exist_ok=True)
    (rc.run_dir / "plans" / "visual_plan.json").write_text(plan.model_dump_json(indent=2))
    return {"visual": plan, "tool_calls": toolbox.drain(), "notes": ctx.notes}


def _check_plan(plan: VisualPlan, target: float) -> None:
    from recgen.errors import InputError

    if not plan.shots:
        raise InputError("the visual plan has no shots")
    if abs(plan.duration - target) > 0.05:
        raise InputError(f"the visual plan lasts {plan.duration:.2f}s but the brief asks for {target:.2f}s")


def fan_out_renders(state: VideoState, runtime: Runtime) -> list[Send]:
    """One render task per shot whose plan changed; unchanged shots keep their clip."""
    s = runtime.context.settings
    have = {c.index: c.plan_hash for c in state.clips}
    sends = []
    for shot in state.visual.shots:
        h = plan_hash(shot, state.visual.palette, state.request.product, (s.width, s.height, s.fps))
        if have.get(shot.index) != h:
            sends.append(Send("render_shot", RenderTask(shot=shot, hash=h, state=state)))
    return sends or [Send("render_shot", RenderTask(shot=None, hash="", state=state))]


def render_shot_node(task: RenderTask, runtime: Runtime) -> dict:
    shot, state = task.shot, task.state
    if shot is None:
        return {}
    rc = runtime.context
    toolbox = rc.tools("visual")
    tool = "image_to_video" if shot.asset == "user_image" else "text_to_video"
    clip = toolbox.call(
        tool,
        shot=shot,
        product=state.request.product,
        palette=state.visual.palette,
        product_kind=state.semantics.content.product_type,
        typeface=state.semantics.creative.typeface,
        text_color=state.visual.palette[3],
        seed=state.request.seed,
    )
    rc.emit("render", f"shot {shot.index} rendered")
    return {"clips": [clip.model_copy(update={"plan_hash": task.hash})], "tool_calls": toolbox.drain()}
