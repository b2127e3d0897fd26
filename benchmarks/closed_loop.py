"""Closed loop, offline: does generating the video a viewer's D-SIDs call for beat retrieving the nearest
pre-rendered one, and does feedback flowing back into a creative policy (GDPO) change that?

What is real: the Beauty histories, the GRM, the agents, the renders, the critic's measurements. What is
synthetic: the viewers' creative taste, their click and watch behaviour, the creative codes of the GRM's
training data (synthetic exposures) — see recgen/sim/. The simulator sees only the rendered files'
measurements and its own data; the system sees only the feedback events of its training viewers.

1. Data split by user: the system (GRM with creative codes, feedback model) trains on the first
   `--system-users` users; the simulator's content model (co-occurrence) counts the remaining users only.
2. Viewers: `--viewers` held-out A/B viewers and `--train-viewers` others, all system users with ≥ 5 items.
3. The GRM (generation mode, over the whole catalog) proposes each viewer's D-SID;
   the inventory is every proposed item × every style preset, plus each proposed D-SID itself; every video
   is rendered once (cached by D-SID) and measured by the critic. The simulator's look space is fixed from
   the inventory's measurements now, before any comparison.
4. A/B on the held-out viewers (paired, `--impressions` each, feed positions drawn the same for both arms):
   (a) GRM retrieval from a pool of k creatives per proposed item (k = 1, 2, 4, 8: creative coverage);
   (b) RaG: the GRM's own D-SID, generated; (c) RaG with the creative policy's style for that product.
5. GDPO over `--rounds`: each round the policy picks styles for the training viewers' products, their
   simulated responses are logged as feedback events, the feedback reward's creative side is re-learned
   from the store, and the policy takes a GDPO step on groups of its choices per product (the combined
   constrained reward as objective). The A/B of (c) is re-measured after every round.

Writes `benchmarks/results/closed_loop.json` and `closed_loop.png`, prints the tables.

    python benchmarks/closed_loop.py [--viewers 300 --train-viewers 200 --rounds 6]
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from readme_tables import replace_block
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from video_args import add_video_args, provenance

from recgen import Settings, generate_video
from recgen.agents.creative_policy import CreativePolicy
from recgen.agents.critic import ranking
from recgen.feedback import FeedbackStore, creative_effects, parse_events
from recgen.rewards.combine import load_constraints
from recgen.rewards.constraints import Constraints
from recgen.rewards.feedback import scorer_of, train_feedback
from recgen.rewards.feedback_scorer import FeedbackScorer
from recgen.rewards.gdpo import Batch, group_advantages, ppo_update
from recgen.sid.beam import CodeTrie, score_paths
from recgen.sid.creative import PRESETS
from recgen.sid.data import Interactions, leave_one_out, load_code_table, load_interactions
from recgen.sid.grm_train import TrainConfig
from recgen.sid.recommender import load_recommender, train_recommender
from recgen.sid.semantics import load_sid_space
from recgen.sim.ab import paired_bootstrap
from recgen.sim.engagement import respond
from recgen.sim.users import VideoLook, build_panel

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "closed_loop.json"
STYLES = tuple(sorted(PRESETS))
POOL_SIZES = (1, 2, 4, 8)


class Inventory:
    """Every video made in the loop, once per (product, creative codes): its look and its critic rewards.
    With a `path`, what was measured is kept there (for the same video format) so a rerun renders nothing
    it already has."""

    def __init__(self, settings: Settings, space, on_render=None, path: Path | None = None, load: bool = False):
        self.s, self.space, self.videos, self.on_render, self.path = settings, space, {}, on_render, path
        self.format = [settings.width, settings.height, settings.fps, settings.duration_s]
        if path and load and path.is_file():
            data = json.loads(path.read_text())
            if data["format"] == self.format:
                for v in data["videos"]:
                    look = VideoLook(v["look"], v["seconds"]) if v["look"] else None
                    self.videos[(v["item"], tuple(v["creative"]))] = {"look": look, "rewards": v["rewards"],
                                                                     "run": v["run"]}  # fmt: skip

    def save(self) -> None:
        if self.path:
            videos = [{"item": k[0], "creative": list(k[1]), "look": v["look"].measures if v["look"] else None,
                       "seconds": v["look"].seconds if v["look"] else None, "rewards": v["rewards"], "run": v["run"]}
                      for k, v in self.videos.items()]  # fmt: skip
            self.path.write_text(json.dumps({"format": self.format, "videos": videos}))

    def get(self, item: int, creative: tuple[int, ...]) -> dict:
        key = (item, tuple(creative))
        if key not in self.videos:
            code = "s" + ".".join(map(str, creative))
            r = generate_video(self.space.catalog.get(str(item)), code, settings=self.s)
            best = max(r.state.reports, key=ranking)
            look = VideoLook(best.reencoding.measures, self.s.duration_s) if best.reencoding else None
            self.videos[key] = {"look": look, "rewards": dict(best.rewards), "run": r.run_id}
            if len(self.videos) % 25 == 0:
                self.save()  # an interrupted run keeps what it measured (--reuse)
            if self.on_render:
                self.on_render()
        return self.videos[key]


def style_codes(space) -> dict[str, tuple[int, ...]]:
    return {p: space.resolve_creative(p) for p in STYLES}


def train_grm(s: Settings, a, console, name: str, clicks=None):
    t0 = time.perf_counter()
    out = Path(a.work) / f"{name}.pt"
    if clicks is None and out.is_file() and a.reuse:
        console.print(f"GRM {name}: reused {out}")
        return load_recommender(out)
    cfg = TrainConfig(epochs=a.grm_epochs, patience=a.grm_epochs, min_epochs=a.grm_epochs, eval_users=500,
                      batch_size=256, lr=2e-3, seed=a.seed)  # fmt: skip
    model = {"d_model": 128, "n_layer": 2, "history": "items", "seen_bias": False, "constrained": False}
    rec, report = train_recommender(s.data_dir, out, users=a.system_users, model_cfg=model,
                                    train_cfg=cfg, creative=True, cache_dir=s.cache_dir, clicks=clicks)  # fmt: skip
    console.print(f"GRM {name}: {report.epochs_run} epochs, {time.perf_counter() - t0:.0f} s, {report.best_valid}")
    return rec


def grm_and_data(s: Settings, a, console) -> tuple:
    t0 = time.perf_counter()
    rec = train_grm(s, a, console, "grm")
    full = load_interactions(s.data_dir / "amazon-beauty" / "Beauty.inter.json")
    system = Interactions(full.users[: a.system_users], full.sequences[: a.system_users], full.n_items)
    simulator = list(full.sequences[a.system_users :])
    return rec, system, simulator, time.perf_counter() - t0


def system_feedback(system: Interactions, s: Settings) -> FeedbackScorer:
    codes = load_code_table(s.data_dir / "amazon-beauty" / "Beauty.index.json", system.n_items)
    model, _ = train_feedback(leave_one_out(system), codes, epochs=4)
    return scorer_of(model)


def proposals(rec, users: list[str], with_text: set[int]) -> dict[str, dict]:
    out = {}
    for u in users:
        path, _, _ = rec.generate(u, k=1, content_items=with_text)[0]
        d = rec.dsid(path)
        out[u] = {"item": rec.item_for_content(d.content), "creative": d.creative, "grm_content": d.content}
    return out


def pool_choice(rec, user: str, item: int, grm_content: tuple, pool: list[tuple[int, ...]]) -> tuple[int, ...]:
    """Arm (a): the GRM's retrieval among the pool's videos for the proposed item — the creative variant it
    scores highest for this viewer."""
    paths = np.asarray([[list(grm_content) + list(c) for c in pool]])
    scores = score_paths(rec.model, rec.tok, [rec.history(user)], paths, CodeTrie(paths[0]))
    return pool[int(np.argmax(scores[0]))]


def expose(panel, viewers, choose, inventory, impressions: int, seed: int) -> np.ndarray:
    """Per viewer: click rate and watch share over `impressions`; the same random stream per viewer for
    every arm (positions and noise are paired)."""
    out = np.zeros((len(viewers), 3))
    for i, v in enumerate(viewers):
        item, creative = choose(v)
        video = inventory.get(item, creative)["look"]
        rng = np.random.default_rng([seed, i])
        resp = [respond(panel, v, item, video, rng) for _ in range(impressions)]
        out[i] = [np.mean([r.click for r in resp]), np.mean([r.watch_seconds for r in resp]) / video.seconds,
                  np.mean([r.p_click for r in resp])]  # fmt: skip
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_video_args(ap, 144, 256, 12, 6.0)
    ap.add_argument("--viewers", type=int, default=300)
    ap.add_argument("--train-viewers", type=int, default=200)
    ap.add_argument("--system-users", type=int, default=4000)
    ap.add_argument("--impressions", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--group", type=int, default=8, help="styles sampled per product per GDPO round")
    ap.add_argument("--grm-epochs", type=int, default=20)
    ap.add_argument("--pid-kp", type=float, default=4.0, help="the loop's PID gains for every λ (per unit of "
                    "mean shortfall, per round)")  # fmt: skip
    ap.add_argument("--pid-ki", type=float, default=4.0)
    ap.add_argument(
        "--panels",
        type=int,
        default=3,
        help="panels of simulated viewers (seeds seed+1, seed+2, …): "
        "every A/B and the GDPO rounds run on each; intervals over panels beside those over viewers",
    )
    ap.add_argument(
        "--skip-retrain", action="store_true", help="leave out the two GRM retrainings (part 6; first panel only)"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--work", type=Path, help="keep the GRMs, renders' measurements and runs here (default: a "
                    "temporary folder)")  # fmt: skip
    ap.add_argument("--reuse", action="store_true", help="with --work: reuse its GRM and measured videos instead "
                    "of training and rendering again (a rerun of the loop only)")  # fmt: skip
    ap.add_argument("--readme-from", type=Path, help="only write the README's table from this results file "
                    "(one this script wrote, e.g. with --out elsewhere) and stop")  # fmt: skip
    a = ap.parse_args()
    console = Console()
    if a.readme_from:
        console.print(
            replace_block("closed_loop", "closed_loop.py", readme_table(json.loads(a.readme_from.read_text())))
        )
        return
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        a.work = a.work or Path(tmp)
        a.work.mkdir(parents=True, exist_ok=True)
        s = Settings(runs_dir=a.work / "runs", width=a.width, height=a.height, fps=a.fps, duration_s=a.duration)
        result = run(a, s, console)
    result["seconds"] = round(time.perf_counter() - t_start, 1)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=1) + "\n")
    plot(result, a.out.with_suffix(".png"))
    report(result, console)
    if a.out == OUT:
        console.print(replace_block("closed_loop", "closed_loop.py", readme_table(result)))


def run(a, s: Settings, console) -> dict:
    space = load_sid_space(s.data_dir, s.cache_dir)
    codes = style_codes(space)
    rec, system, simulator, grm_seconds = grm_and_data(s, a, console)
    scorer = system_feedback(system, s)
    with_text = {int(p.id) for p in space.catalog.products if p.id.isdigit()}
    rng = np.random.default_rng(a.seed)
    eligible = [u for u, seq in zip(system.users, system.sequences, strict=True) if len(seq) >= 5]
    chosen = rng.choice(len(eligible), a.viewers + a.train_viewers, replace=False)
    users = [eligible[i] for i in chosen]
    prop = proposals(rec, users, with_text)
    items = sorted({p["item"] for p in prop.values()})
    with Progress(console=console) as bar:
        task = bar.add_task("inventory renders", total=len(items) * len(STYLES))
        inv = Inventory(s, space, lambda: bar.advance(task), a.work / "inventory.json", a.reuse)
        for item in items:
            for style in STYLES:
                inv.get(item, codes[style])
        bar.update(task, total=len(items) * len(STYLES) + len({(p["item"], p["creative"]) for p in prop.values()}))
        for p in prop.values():
            inv.get(p["item"], p["creative"])
    inv.save()
    histories = {u: rec.item_of_entry[rec.history(u)] for u in users}
    needed = [(i, codes[st]) for i in items for st in STYLES] + [(p["item"], p["creative"]) for p in prop.values()]
    looks = {k: inv.get(*k)["look"] for k in needed}  # this run's videos only, not all that --reuse kept
    world = {"rec": rec, "prop": prop, "inv": inv, "codes": codes, "histories": histories, "simulator": simulator,
             "system": system, "with_text": with_text, "reference": [look.measures for look in looks.values() if look],
             "content_of": {i: space.content_codes(space.catalog.get(str(i)))[0] for i in items},
             "n_content": len(space.content_rq.codebooks[0]), "scorer": scorer}  # fmt: skip
    panels = []
    for j in range(a.panels):
        console.print(f"panel {j + 1} of {a.panels} (seed {a.seed + 1 + j})")
        panels.append(panel_run(a, s, console, world, a.seed + 1 + j, retrain=j == 0 and not a.skip_retrain))
    inv.save()
    first = panels[0]
    return {
        **provenance(),
        "settings": {
            "width": a.width,
            "height": a.height,
            "fps": a.fps,
            "duration_s": a.duration,
            "viewers": a.viewers,
            "train_viewers": a.train_viewers,
            "system_users": a.system_users,
            "impressions": a.impressions,
            "rounds": a.rounds,
            "group": a.group,
            "panels": a.panels,
            "pid": {"kp": a.pid_kp, "ki": a.pid_ki},
        },  # fmt: skip
        "grm_seconds": round(grm_seconds, 1),
        "proposed_items": len(items),
        "proposed_dsids": len({(p["item"], p["creative"]) for p in prop.values()}),
        "videos_rendered": len(inv.videos),
        # the first panel in full (plot, GDPO rounds); every panel's A/B tables under "panels"
        "panel": first["panel"],
        "ab_before_gdpo": first["ab_before_gdpo"],
        "gdpo": first["gdpo"],
        "ab_after_gdpo": first["ab_after_gdpo"],
        "grm_retrained_with_clicks": first["grm_retrained_with_clicks"],
        "panels": [{k: v for k, v in p.items() if k != "gdpo"} for p in panels],
        "across_panels": across_panels(panels),
        "synthetic": "viewers' creative taste, click/watch/like/purchase behaviour, feed positions, and the GRM's "
        "training creatives (synthetic exposures); histories, GRM, agents, renders and measurements are real",
    }


def panel_run(a, s: Settings, console, w: dict, seed: int, retrain: bool) -> dict:
    """One panel of simulated viewers (its own tastes, seed): the A/B before feedback, GDPO rounds on its
    training viewers' logged events, the A/B after, with the per-product best style from the same events."""
    panel = build_panel(w["histories"], w["simulator"], w["system"].n_items, sorted(w["with_text"]), w["reference"],
                        seed=seed)  # fmt: skip
    ab_viewers, train_viewers = panel.viewers[: a.viewers], panel.viewers[a.viewers :]
    rec, prop, inv, codes, content_of = w["rec"], w["prop"], w["inv"], w["codes"], w["content_of"]
    policy = CreativePolicy(w["n_content"], STYLES)
    start_policy = copy.deepcopy(policy)
    ab = ab_tables(a, rec, prop, panel, ab_viewers, inv, codes, policy, content_of)
    shutil.rmtree(a.work / f"feedback-{seed}", ignore_errors=True)  # each panel logs its own events
    store = FeedbackStore(a.work / f"feedback-{seed}")
    scorer = copy.deepcopy(w["scorer"])  # its creative side is learned from this panel's events only
    constraints = copy.deepcopy(load_constraints(None, s.cache_dir))  # the loop's own λ state
    constraints.retune(a.pid_kp, a.pid_ki)
    rounds = gdpo_rounds(a, policy, start_policy, prop, panel, train_viewers, ab_viewers, inv, codes, content_of,
                         scorer, store, constraints, rec)  # fmt: skip
    best = best_style_per_product(store, codes, content_of)
    ab_after = ab_tables(a, rec, prop, panel, ab_viewers, inv, codes, policy, content_of, best)
    retrained = grm_from_feedback(a, s, console, store, ab_viewers, w["with_text"], panel, inv) if retrain else None
    return {
        "seed": seed,
        "panel": {"look_mean": panel.look_mean.round(4).tolist(), "look_scale": panel.look_scale.round(4).tolist()},
        "events": len(store.events()),
        "best_style": {str(i): st for i, st in best.items()},
        "ab_before_gdpo": ab,
        "gdpo": rounds,
        "ab_after_gdpo": ab_after,
        "grm_retrained_with_clicks": retrained,
    }


def best_style_per_product(store: FeedbackStore, codes: dict, content_of: dict) -> dict[int, str]:
    """The baseline a team without generation would run: per product, the style whose videos got the most
    clicks per impression in the logged events (the same events GDPO learned from); a product never shown
    gets the style with the best click rate over all products."""
    style_of = {"s" + ".".join(map(str, c)): st for st, c in codes.items()}
    shown: dict[tuple[int, str], list[int]] = {}
    for e in store.events():
        style = style_of.get(e.dsid.split("/", 1)[1])
        if style is None or e.item is None or e.kind not in ("impression", "click"):
            continue
        tally = shown.setdefault((e.item, style), [0, 0])
        tally[e.kind == "click"] += 1

    def rate(pairs) -> float:
        imps, clicks = sum(p[0] for p in pairs), sum(p[1] for p in pairs)
        return (clicks + 1) / (imps + 2)  # a style shown twice and clicked once is not above one shown 200 times

    overall = max(STYLES, key=lambda st: rate([v for (_, s2), v in shown.items() if s2 == st]))
    out = {}
    for item in content_of:
        seen = {st: rate([shown[(item, st)]]) for st in STYLES if (item, st) in shown}
        out[item] = max(seen, key=seen.get) if seen else overall
    return out


def across_panels(panels: list[dict]) -> dict:
    """Each arm against retrieval from a full pool (8 of 8 styles) and against the GRM's own D-SID: the
    lift in click probability per panel, its mean over panels and a t interval over the panels (viewers'
    intervals are inside each panel's tables)."""
    from scipy import stats

    out = {}
    for table in ("ab_before_gdpo", "ab_after_gdpo"):
        for k in POOL_SIZES:
            for arm in panels[0][table][f"pool_{k}"]:
                lifts = [p[table][f"pool_{k}"][arm]["click_probability"]["lift"] for p in panels]
                out[f"{table}/pool_{k}/{arm}"] = _interval(lifts, stats)
    for arm in ("rag_policy", "best_style"):
        lifts = [p["ab_after_gdpo"]["vs_rag"][arm]["click_probability"]["lift"] for p in panels]
        out[f"ab_after_gdpo/vs_rag/{arm}"] = _interval(lifts, stats)
    lifts = [p["ab_after_gdpo"]["policy_vs_best_style"]["click_probability"]["lift"] for p in panels]
    out["ab_after_gdpo/policy_vs_best_style"] = _interval(lifts, stats)
    return out


def _interval(values: list[float], stats) -> dict:
    v = np.asarray(values, dtype=float)
    mean = float(v.mean())
    if len(v) < 2:
        return {"per_panel": v.round(5).tolist(), "mean": round(mean, 5), "ci": None}
    half = float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))
    ci = [round(mean - half, 5), round(mean + half, 5)]
    return {"per_panel": v.round(5).tolist(), "mean": round(mean, 5), "ci": ci}


def ab_tables(a, rec, prop, panel, viewers, inv, codes, policy, content_of, best: dict | None = None) -> dict:
    def rag(v):
        return prop[v.user]["item"], prop[v.user]["creative"]

    def policy_arm(v):
        item = prop[v.user]["item"]
        return item, codes[policy.best(content_of[item])]

    rng = np.random.default_rng(a.seed + 7)
    order = {item: list(rng.permutation(STYLES)) for item in content_of}  # nested pools: k=1 ⊂ k=2 ⊂ …
    out = {}
    arms_b = {"rag": expose(panel, viewers, rag, inv, a.impressions, a.seed),
              "rag_policy": expose(panel, viewers, policy_arm, inv, a.impressions, a.seed)}  # fmt: skip
    if best is not None:

        def best_arm(v):
            item = prop[v.user]["item"]
            return item, codes[best[item]]

        arms_b["best_style"] = expose(panel, viewers, best_arm, inv, a.impressions, a.seed)
        out["vs_rag"] = {name: _compare(arms_b["rag"], arms_b[name]) for name in ("rag_policy", "best_style")}
        out["policy_vs_best_style"] = _compare(arms_b["best_style"], arms_b["rag_policy"])
    for k in POOL_SIZES:

        def retrieval(v, k=k):
            p = prop[v.user]
            pool = [codes[st] for st in order[p["item"]][:k]]
            return p["item"], pool_choice(rec, v.user, p["item"], p["grm_content"], pool)

        arm_a = expose(panel, viewers, retrieval, inv, a.impressions, a.seed)
        out[f"pool_{k}"] = {name: _compare(arm_a, b) for name, b in arms_b.items()}
    return out


def _compare(a: np.ndarray, b: np.ndarray) -> dict:
    """Arm b against arm a, paired over the same viewers: clicks, watch share and click probability."""
    return {
        "click": paired_bootstrap(a[:, 0], b[:, 0]),
        "watch": paired_bootstrap(a[:, 1], b[:, 1]),
        "click_probability": paired_bootstrap(a[:, 2], b[:, 2]),
    }


def grm_from_feedback(a, s: Settings, console, store: FeedbackStore, viewers, with_text, panel, inv) -> dict:
    """The GRM's creative side taught by the training viewers' logged clicks: two GRMs retrained alike, one
    with the clicks joined to the histories (`train_recommender(clicks=…)`), one without (training noise);
    each proposes the held-out viewers' D-SIDs, rendered as needed, and the two arms are compared."""
    clicks = store.clicks()
    users = [v.user for v in viewers]
    arms = {}
    for name, given in (("without_clicks", None), ("with_clicks", clicks)):
        prop = proposals(train_grm(s, a, console, name, given), users, with_text)
        arms[name] = expose(panel, viewers, lambda v, p=prop: (p[v.user]["item"], p[v.user]["creative"]), inv,
                            a.impressions, a.seed)  # fmt: skip
    base, new = arms["without_clicks"], arms["with_clicks"]
    return {
        "clicks": len(clicks),
        "click_probability": paired_bootstrap(base[:, 2], new[:, 2]),
        "click": paired_bootstrap(base[:, 0], new[:, 0]),
        "watch": paired_bootstrap(base[:, 1], new[:, 1]),
    }


def gdpo_rounds(a, policy, start, prop, panel, train_viewers, ab_viewers, inv, codes, content_of, scorer, store,
                constraints: Constraints, rec) -> list[dict]:  # fmt: skip
    gen = torch.Generator().manual_seed(a.seed)
    rounds, event = [], 0
    items = sorted(content_of)
    for rnd in range(a.rounds):
        events = []
        for i, v in enumerate(train_viewers):  # serving: the policy's style for each training viewer's product
            item = prop[v.user]["item"]
            style = STYLES[policy.sample(content_of[item], 1, gen)[0]]
            resp = respond(panel, v, item, inv.get(item, codes[style])["look"], np.random.default_rng([a.seed, rnd, i]))
            dsid = f"c{content_of[item]}/s" + ".".join(map(str, codes[style]))
            for kind, ok in (("impression", True), ("click", resp.click)):
                if ok:
                    events.append({"event_id": f"r{rnd}-{event}", "user": v.user, "dsid": dsid, "kind": kind,
                                   "item": item})  # fmt: skip
                    event += 1
            events.append({"event_id": f"r{rnd}-{event}", "user": v.user, "dsid": dsid, "kind": "watch",
                           "item": item, "watch_seconds": resp.watch_seconds})  # fmt: skip
            event += 1
        store.record(parse_events(events))
        scorer = replace(scorer, creative_bias=creative_effects(store))
        ctx, act, old, adv, rewards = [], [], [], [], []
        for item in items:
            choices = policy.sample(content_of[item], a.group, gen)
            group = []
            for c in choices:
                rw = dict(inv.get(item, codes[STYLES[c]])["rewards"])
                rw["feedback"] = scorer.engagement(item, codes[STYLES[c]])
                group.append(rw)
            with torch.no_grad():
                lp = policy.log_probs(torch.tensor([content_of[item]]))[0]
            ctx += [content_of[item]] * len(choices)
            act += choices
            old += [float(lp[c]) for c in choices]
            adv += list(group_advantages(group, constraints))
            rewards += group
        batch = Batch(torch.tensor(ctx), torch.tensor(act), torch.tensor(old), torch.tensor(adv, dtype=torch.float32))
        stats = ppo_update(policy, start, batch, lr=0.02)
        lambdas = constraints.step(rewards)  # the PID moves each λ by this round's mean shortfall
        expected = expected_under_policy(policy, items, content_of, inv, codes, scorer, constraints)

        def policy_arm(v):
            item = prop[v.user]["item"]
            return item, codes[policy.best(content_of[item])]

        def rag(v):
            return prop[v.user]["item"], prop[v.user]["creative"]

        base, new = (expose(panel, ab_viewers, f, inv, a.impressions, a.seed) for f in (rag, policy_arm))
        held = paired_bootstrap(base[:, 0], new[:, 0])
        held_p = paired_bootstrap(base[:, 2], new[:, 2])
        rounds.append(
            {
                "round": rnd + 1,
                "events": len(store.events()),
                **expected,
                "lambda": {k: round(v, 4) for k, v in lambdas.items()},
                "combined_reward": round(float(np.mean([constraints.reward(r["feedback"], r) for r in rewards])), 5),
                "penalty": round(
                    float(np.mean([r["feedback"] - constraints.reward(r["feedback"], r) for r in rewards])), 5
                ),
                "violation_share": round(
                    float(np.mean([any(s > 0 for s in constraints.shortfalls(r).values()) for r in rewards])), 4
                ),  # fmt: skip
                "train_click_rate": round(sum(e["kind"] == "click" for e in events) / len(train_viewers), 4),
                "policy": {str(i): policy.best(content_of[i]) for i in items},
                "held_out_click_lift_vs_rag": held,
                "held_out_click_probability_lift_vs_rag": held_p,
                **stats,
            }
        )
    return rounds


def expected_under_policy(policy, items, content_of, inv, codes, scorer, constraints: Constraints) -> dict:
    """Σ_style π(style | product) × reward, averaged over the products, with the feedback reward as learned
    so far: the policy's expected combined reward and constraint penalty, without sampling noise."""
    out = {"expected_combined_reward": 0.0, "expected_penalty": 0.0, "expected_feedback": 0.0,
           "expected_shortfall": 0.0}  # fmt: skip
    for item in items:
        with torch.no_grad():
            p = policy.log_probs(torch.tensor([content_of[item]])).exp()[0].numpy()
        for style, w in zip(STYLES, p, strict=True):
            rw = dict(inv.get(item, codes[style])["rewards"])
            rw["feedback"] = scorer.engagement(item, codes[style])
            r = constraints.reward(rw["feedback"], rw)
            share = w / len(items)
            out["expected_combined_reward"] += share * r
            out["expected_penalty"] += share * (rw["feedback"] - r)
            out["expected_feedback"] += share * rw["feedback"]
            out["expected_shortfall"] += share * sum(max(0.0, s) for s in constraints.shortfalls(rw).values())
    return {k: round(float(v), 5) for k, v in out.items()}


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    arms = (
        ("ab_before_gdpo", "rag", "RaG: the GRM's own D-SID"),
        ("ab_after_gdpo", "rag_policy", f"RaG: style from the creative policy after {len(result['gdpo'])} GDPO rounds"),
    )
    for table, name, label in arms:
        lifts = [result[table][f"pool_{k}"][name]["click_probability"] for k in POOL_SIZES]
        y = [100 * x["lift"] for x in lifts]
        err = [
            [100 * (x["lift"] - x["lift_ci"][0]) for x in lifts],
            [100 * (x["lift_ci"][1] - x["lift"]) for x in lifts],
        ]
        axes[0].errorbar([k / len(STYLES) for k in POOL_SIZES], y, yerr=err, marker="o", capsize=3, label=label)
    axes[0].axhline(0, color="grey", lw=0.8)
    axes[0].set_xlabel("pool coverage: styles pre-rendered per product / 8")
    axes[0].set_ylabel("lift in click probability over GRM retrieval\nfrom the pool, % (95% CI)")
    axes[0].legend(fontsize=8)
    g = result["gdpo"]
    x = [r["round"] for r in g]
    axes[1].plot(x, [r["expected_feedback"] for r in g], marker="o", label="feedback reward expected under π")
    axes[1].plot(x, [r["expected_shortfall"] for r in g], marker="s", label="constraint shortfall Σ ReLU(τ−R) under π")
    axes[1].plot(x, [r["held_out_click_probability_lift_vs_rag"]["lift"] for r in g], marker="^",
                 label="held-out lift in click probability, π's style vs the GRM's")  # fmt: skip
    axes[1].axhline(0, color="grey", lw=0.8)
    axes[1].set_xlabel("GDPO round")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def readme_table(result: dict) -> str:
    """Each arm's lift in click probability: the mean over panels with its t interval over panels, then
    each panel's own figure (whose viewer intervals are in the JSON)."""
    ap = result["across_panels"]
    rounds = result["settings"]["rounds"]

    def cell(key: str) -> str:
        r = ap[key]
        ci = f" [{r['ci'][0]:+.1%}, {r['ci'][1]:+.1%}]" if r["ci"] else ""
        return f"{r['mean']:+.1%}{ci} ({', '.join(f'{x:+.1%}' for x in r['per_panel'])})"

    rows = [
        "| arm | against | lift in click probability: mean over panels [95 % t interval over panels] (each panel) |",
        "|---|---|---|",
        f"| RaG, the GRM's own D-SID | retrieval, full pool (8 of 8 styles) | {cell('ab_before_gdpo/pool_8/rag')} |",
        f"| RaG, the GRM's own D-SID | retrieval, 1 style per product | {cell('ab_before_gdpo/pool_1/rag')} |",
        f"| most-clicked style per product (same events) | retrieval, full pool | "
        f"{cell('ab_after_gdpo/pool_8/best_style')} |",
        f"| RaG, style from the creative policy after {rounds} GDPO rounds | retrieval, full pool | "
        f"{cell('ab_after_gdpo/pool_8/rag_policy')} |",
        f"| RaG, style from the creative policy | most-clicked style per product | "
        f"{cell('ab_after_gdpo/policy_vs_best_style')} |",
        f"| most-clicked style per product | RaG, the GRM's own D-SID | {cell('ab_after_gdpo/vs_rag/best_style')} |",
    ]
    n = result["settings"]["panels"]
    head = (
        f"{n} panels of {result['settings']['viewers']} held-out viewers; the GRM proposed "
        f"{result['proposed_items']} distinct products ({result.get('proposed_dsids', '?')} D-SIDs); "
        f"{result['videos_rendered']} videos rendered; {result['seconds']:.0f} s."
    )
    return head + "\n\n" + "\n".join(rows)


def report(result: dict, console) -> None:
    t = Table("pool (styles/product)", "arm", "click a", "click b", "lift [95% CI]", "watch lift [95% CI]")
    for k in POOL_SIZES:
        for name, r in result["ab_before_gdpo"][f"pool_{k}"].items():
            c, w = r["click"], r["watch"]
            t.add_row(str(k), name, f"{c['a']:.4f}", f"{c['b']:.4f}",
                      f"{c['lift']:+.1%} [{c['lift_ci'][0]:+.1%}, {c['lift_ci'][1]:+.1%}]",
                      f"{w['lift']:+.1%} [{w['lift_ci'][0]:+.1%}, {w['lift_ci'][1]:+.1%}]")  # fmt: skip
    console.print(t)
    g = Table("round", "events", "E[feedback]", "E[shortfall]", "E[combined]", "held-out lift vs GRM creative")
    for r in result["gdpo"]:
        h = r["held_out_click_lift_vs_rag"]
        g.add_row(str(r["round"]), str(r["events"]), f"{r['expected_feedback']:.4f}",
                  f"{r['expected_shortfall']:.4f}", f"{r['expected_combined_reward']:.4f}",
                  f"{h['lift']:+.1%} [{h['lift_ci'][0]:+.1%}, {h['lift_ci'][1]:+.1%}]")  # fmt: skip
    console.print(g)


if __name__ == "__main__":
    main()
