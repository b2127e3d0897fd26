"""The critic's reward modules beyond quality: content re-encoding, alignment, feedback, the constrained
combination and its calibration, and the critic recording them for every draft."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from recgen.errors import InputError
from recgen.rewards.alignment import instruction_alignment, rank_score, representation_alignment
from recgen.rewards.calibration import LAMBDA0, constraints_from
from recgen.rewards.combine import constrained, load_constraints, representation_owner, soft_violation
from recgen.rewards.constraints import K_AGENT, K_INSTRUCTION, Constraints, PIDMultiplier, Threshold
from recgen.rewards.feedback import held_out_auc, pad_histories, save_model, scorer_of, train_feedback
from recgen.rewards.feedback_cache import _scorer
from recgen.rewards.reencode import Reencoded, content_codes
from recgen.schemas import StyleVector
from recgen.sid.creative import preset_style
from recgen.sid.data import Split
from recgen.sid.encoders import style_features
from recgen.sid.semantics import load_sid_space

from .conftest import DATA_DIR

SLOGANS = ["Take a moment for yourself.", "Get yours now.", "All eyes here.", "Wait for it."]


@pytest.fixture(scope="module")
def space(cache_dir):
    return load_sid_space(DATA_DIR, cache_dir)


def test_content_re_encoding_leaves_out_slogans_and_keeps_the_product_code(space):
    """200 catalog items drawn at random: what an ad of each shows and says (brand and name, its first
    claims) shuffled among style slogans that name no product. The slogans are not used, and the first code
    is the item's own for ≥ 90 %, the first two for ≥ 85 % (measured 93.5 % and 89 %)."""
    from recgen.sid.facts import fact_sheet

    ids = np.random.default_rng(0).choice(len(space.catalog), 200, replace=False)
    first = two = 0
    for k, i in enumerate(ids):
        facts = fact_sheet(space.catalog.products[i])
        shown = " ".join(filter(None, [facts.brand, facts.name]))
        lines = [SLOGANS[k % 4], shown, SLOGANS[(k + 1) % 4], *(c.text for c in facts.claims[:3])]
        codes, text, _ = content_codes(space, lines)
        assert not any(s in text for s in SLOGANS), text
        first += codes[0] == int(space.item_codes[i][0])
        two += codes[:2] == tuple(int(c) for c in space.item_codes[i][:2])
    assert first >= 0.9 * len(ids) and two >= 0.85 * len(ids), (first, two)


def test_content_re_encoding_of_nothing_but_slogans_still_gives_codes(space):
    codes, text, vec = content_codes(space, SLOGANS)
    assert len(codes) == len(space.content_rq.codebooks) + 1 and text and vec.shape == (space.content_rq.dim,)


def test_rank_score_is_the_share_of_alternatives_farther_than_the_target():
    q = np.zeros(2)
    assert rank_score(q, np.array([1.0, 0]), np.array([[2.0, 0], [3.0, 0]])) == 1.0
    assert rank_score(q, np.array([2.5, 0]), np.array([[2.0, 0], [3.0, 0]])) == 0.5
    assert rank_score(q, np.array([9.0, 0]), np.array([[2.0, 0], [3.0, 0]])) == 0.0


@pytest.fixture(scope="module")
def two_briefs(tmp_path_factory, cache_dir, space):
    """Briefs (instruction only) for two products whose first content codes differ."""
    from recgen import generate_video

    from .conftest import small_settings

    s = small_settings(tmp_path_factory.mktemp("runs"), cache_dir)
    ids = [p.id for p in space.catalog.products]
    first = {i: int(space.item_codes[k][0]) for k, i in enumerate(ids)}
    a = ids[0]
    b = next(i for i in ids if first[i] != first[a])
    return [generate_video(x, "calm-luxury", settings=s, stop_after="instruct").state for x in (a, b)]


def test_instruction_alignment_is_high_for_its_own_target_and_lower_for_another(space, two_briefs):
    a, b = two_briefs
    own = instruction_alignment(space, a.brief, a.semantics)
    crossed = instruction_alignment(space, a.brief, b.semantics)
    assert own >= 0.75 and crossed < own, (own, crossed)


def test_representation_alignment_rewards_a_video_that_carries_its_dsid(space, two_briefs):
    sem = two_briefs[0].semantics
    centre = space.content_rq.decode(sem.dsid.content[:3])[0]

    def video(content, style):
        return Reencoded(content, space.creative_codes(style), tuple(style_features(style)), "", tuple(centre))

    faithful, _ = representation_alignment(space, video(sem.dsid.content, sem.creative.style), sem)
    wrong_codes = tuple((c + 1) % len(space.content_rq.codebooks[0]) for c in sem.dsid.content)
    other = "energetic-ugc" if sem.creative.preset != "energetic-ugc" else "calm-luxury"
    off, detail = representation_alignment(space, video(wrong_codes, preset_style(other)), sem)
    assert faithful == 1.0
    assert off < 0.75 and detail["creative_rank"] < 1.0 and not any(detail["content_levels"])


def _grouped_split(rng, n_items=160, users=300):
    """Users in four groups; each only takes items whose first code is their group's."""
    codes = np.stack([np.arange(n_items) % 4, rng.integers(0, 8, n_items)], 1)
    seqs = []
    for u in range(users):
        pool = np.flatnonzero(codes[:, 0] == u % 4)
        seqs.append(rng.choice(pool, 12))
    train = tuple(s[:-2] for s in seqs)
    return Split(train, train, np.array([s[-2] for s in seqs]), tuple(s[:-1] for s in seqs),
                 np.array([s[-1] for s in seqs]), n_items), codes  # fmt: skip


def test_the_feedback_model_learns_content_preference_beyond_popularity(tmp_path):
    split, codes = _grouped_split(np.random.default_rng(0))
    model, info = train_feedback(split, codes, epochs=8, batch=256)
    auc = held_out_auc(model, split, negatives=40)
    assert auc["auc"] > 0.85 and auc["auc"] > auc["auc_popularity"] + 0.2, auc
    scorer = scorer_of(model)
    history = list(split.test_history[0])  # a group-0 user
    in_group, out_group = int(np.flatnonzero(codes[:, 0] == 0)[0]), int(np.flatnonzero(codes[:, 0] == 2)[0])
    assert scorer.engagement(in_group, (0, 0), history) > scorer.engagement(out_group, (0, 0), history)
    with torch.no_grad():  # the arrays a run scores with give what the trained torch model gives
        logit = model.logits(model.user_vec(pad_histories([history])), torch.as_tensor([[in_group]]))[0, 0]
    assert scorer.engagement(in_group, (0, 0), history) == pytest.approx(float(torch.sigmoid(logit)), abs=2e-4)
    # the creative side starts neutral: any creative code scores the same until feedback is logged
    assert scorer.engagement(in_group, (0, 0), history) == scorer.engagement(in_group, (5, 1), history)
    path = save_model(model, tmp_path / "fb.npz")
    again = _scorer(path, path.stat().st_mtime)
    assert again.engagement(in_group, (0, 0), history) == scorer.engagement(in_group, (0, 0), history)
    assert 0.0 < again.engagement(in_group, (0, 0)) < 1.0  # no history: the population


def test_calibration_sets_tau_from_baseline_drafts_with_the_papers_k():
    rng = np.random.default_rng(3)
    samples = [
        {"visual": v, "alignment_instruction": a, "feedback": 0.1}
        for v, a in zip(rng.uniform(0.7, 0.9, 20), rng.uniform(0.5, 1.0, 20), strict=True)
    ]
    c = constraints_from(samples)
    assert set(c.thresholds) == {"visual", "alignment_instruction"}  # feedback is the objective, not a constraint
    v = np.array([s["visual"] for s in samples])
    assert c.thresholds["visual"].tau == pytest.approx(v.mean() + K_AGENT * v.std(ddof=1))
    assert c.thresholds["alignment_instruction"].k == K_INSTRUCTION
    assert all(m.lam == LAMBDA0 for m in c.multipliers.values())
    raised = c.step([{"visual": 0.0, "alignment_instruction": 1.0}])
    assert raised["visual"] > LAMBDA0 > raised["alignment_instruction"]
    saturated = constraints_from([{"visual": x} for x in (0.99, 1.0, 1.0, 0.98)])
    assert saturated.thresholds["visual"].tau == 1.0  # μ + k·σ = 1.007 would be out of any draft's reach


def test_the_combined_reward_names_the_costliest_constraint(tmp_path):
    c = constraints_from([{"visual": x, "audio": x} for x in (0.8, 0.9, 0.85)])
    reward, worst = constrained(c, {"visual": 0.5, "audio": 0.8, "feedback": 0.3})
    assert worst == "visual" and reward < 0.3
    reward, worst = constrained(c, {"visual": 1.0, "audio": 1.0, "feedback": 0.3})
    assert worst is None and reward == 0.3
    path = c.save(tmp_path / "c.json")
    assert load_constraints(path, tmp_path).thresholds["visual"].tau == c.thresholds["visual"].tau
    with pytest.raises(InputError, match="not found"):
        load_constraints(tmp_path / "missing.json", tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"thresholds": {"visual": {"mu": 1}}}))
    with pytest.raises(InputError, match="recalibrate"):
        load_constraints(bad, tmp_path)


def test_a_video_off_its_style_is_sent_to_the_agent_of_the_dimension_furthest_off():
    target = StyleVector(**dict.fromkeys(StyleVector.model_fields, 0.5))
    assert representation_owner(0.2, 0.9, target, target) == "instruct"
    assert representation_owner(0.9, 0.5, target.model_copy(update={"tempo": 0.95}), target) == "audio"
    assert representation_owner(0.9, 0.5, target.model_copy(update={"text_density": 0.0}), target) == "effects"
    near_on_circle = target.model_copy(update={"hue": 0.99, "motion": 0.7})
    assert representation_owner(0.9, 0.5, near_on_circle, target.model_copy(update={"hue": 0.01})) == "visual"


def test_the_critic_records_every_reward_and_the_constraint_at_fault(tmp_path, cache_dir):
    """A real run read back, with thresholds no draft can meet: every draft's report carries its
    re-encoding, alignment, feedback, the combined reward below the predicted feedback and the constraint
    with the agent at fault; the final draft is the one with the best combined reward."""
    from recgen import generate_video
    from recgen.agents.critic import ranking

    from .conftest import small_settings

    names = ("visual", "audio", "effects", "alignment_representation")
    strict = Constraints(  # out of any draft's reach
        {k: Threshold(mu=1.01, sigma=0.0, k=K_AGENT) for k in names}, {k: PIDMultiplier(lam=1.0) for k in names}
    )
    path = strict.save(tmp_path / "strict.json")
    s = small_settings(tmp_path / "runs", cache_dir, read_back=True).model_copy(update={"constraints_file": path})
    r = generate_video("3", "energetic-ugc", settings=s)
    for rep in r.state.reports:
        assert rep.reencoding is not None and rep.reencoding.lines and rep.reencoding.measures
        assert {"alignment_instruction", "alignment_representation", "feedback"} <= set(rep.rewards)
        assert rep.reward is not None and rep.reward < rep.rewards["feedback"]
        constraint, agent = rep.shortfall.split(" → ")
        assert constraint in strict.thresholds and agent in ("instruct", "visual", "audio", "effects")
    best = max(r.state.reports, key=ranking)
    shown = next(d for d in r.state.drafts if d.round == best.round)
    assert r.final_path.read_bytes() == shown.path.read_bytes()
    from fastapi.testclient import TestClient

    from recgen.serving.ui import create_app

    with TestClient(create_app(s), base_url="http://127.0.0.1") as client:
        html = client.get(f"/runs/{r.run_id}").text
    re0 = r.state.reports[0].reencoding
    assert f"<code>c{'.'.join(map(str, re0.content))}/s{'.'.join(map(str, re0.creative))}</code>" in html
    assert "<td>alignment representation</td>" in html and best.shortfall.replace(">", "&gt;") in html


def test_without_read_back_the_video_is_not_re_encoded_and_a_failed_reading_says_so(small, monkeypatch):
    """Reading switched off (as these tests do): no re-encoding, no note. Reading on but nothing comes back
    (a recogniser that fails): the run says the video was not re-encoded."""
    from recgen import generate_video
    from recgen.tools import readback

    r = generate_video("3", "calm-luxury", settings=small)
    rep = r.state.reports[-1]
    assert rep.reencoding is None and "alignment_representation" not in rep.rewards and "feedback" in rep.rewards
    assert not any("re-encoded" in n for n in r.state.notes)
    monkeypatch.setattr(readback, "read_back", lambda *a, **k: readback.ReadBack())
    monkeypatch.setattr("recgen.agents.critic.read_back", lambda *a, **k: readback.ReadBack())
    listening = small.model_copy(update={"asr_backend": "whisper"})
    r = generate_video("3", "calm-luxury", settings=listening, run_id="listening")
    assert r.state.reports[-1].reencoding is None
    assert any("not re-encoded" in n for n in r.state.notes)


def test_a_clean_draft_short_of_a_threshold_goes_to_the_agent_that_can_move_its_weakest_part():
    target = StyleVector(**dict.fromkeys(StyleVector.model_fields, 0.5))
    parts = {"effects": {"subtitle_sync": 0.95, "text_contrast": 0.8, "safe_area": 1.0, "cta": 1.0}}
    v = soft_violation("effects", 1.0, 0.94, parts, None, target)
    assert (v.code, v.agent) == ("text_contrast", "effects") and "0.94" in v.message and "4.5:1" in v.fix
    parts = {"visual": {"black_frames": 1.0, "frozen": 1.0, "off_beat": 0.7, "duration": 1.0}}
    assert soft_violation("visual", 1.0, 0.92, parts, None, target) is None  # no agent has a fix for the beat
    slow = target.model_copy(update={"motion": 0.2})
    v = soft_violation("alignment_representation", 1.0, 0.7, {}, slow, target)
    assert (v.code, v.agent) == ("frozen", "visual")
    assert soft_violation("alignment_representation", 1.0, 0.7, {}, target, target) is None


def test_the_critic_sends_a_constraint_back_once_and_only_while_rounds_remain(small):
    from types import SimpleNamespace

    from recgen.agents.critic import _soft_revision
    from recgen.schemas import Violation

    soft = Violation(code="text_contrast", agent="effects", message="m", fix="f")
    dr = SimpleNamespace(soft=soft, shortfall="effects → effects")
    rc = SimpleNamespace(settings=small)
    fresh = SimpleNamespace(reports=[])
    assert _soft_revision(fresh, rc, dr, 0) is soft
    assert _soft_revision(fresh, rc, dr, small.max_revisions) is None  # no round left
    sent = SimpleNamespace(reports=[SimpleNamespace(verdict="revise", shortfall="effects → effects", violations=())])
    assert _soft_revision(sent, rc, dr, 1) is None  # this constraint went back once already
    off = SimpleNamespace(settings=small.model_copy(update={"revise_on_reward": False}))
    assert _soft_revision(fresh, off, dr, 0) is None


def _finished_run(runs, run_id: str, visual: float) -> None:
    folder = runs / run_id
    (folder / "critic").mkdir(parents=True)
    (folder / "final.mp4").write_bytes(b"")
    for rnd, (v, reward) in enumerate([(visual - 0.1, -0.5), (visual, 0.1)]):  # the second draft is kept
        rep = {"round": rnd, "rewards": {"visual": v, "feedback": 0.1}, "reward": reward, "violations": []}
        (folder / "critic" / f"round_{rnd}.json").write_text(json.dumps(rep))


def test_the_multipliers_step_once_per_batch_of_finished_runs_and_keep_their_state(tmp_path, cache_dir):
    """λ rises over a batch of runs short of τ, a second update with no new run changes nothing, and a
    batch that meets τ brings λ back down; the CLI does the same on the user's copy of the file."""
    from typer.testing import CliRunner

    from recgen.cli import app
    from recgen.rewards.calibration import step_multipliers
    from recgen.runs import finished_reports

    path = constraints_from([{"visual": x} for x in (0.8, 0.85, 0.9)]).save(tmp_path / "c.json")
    runs = tmp_path / "runs"
    for i in range(3):
        _finished_run(runs, f"short-{i}", 0.7)
    (runs / "unfinished" / "critic").mkdir(parents=True)  # no final video: not counted
    c, counted = step_multipliers(path, finished_reports(runs))
    risen = c.multipliers["visual"].lam
    assert counted == ["short-0", "short-1", "short-2"] and risen > LAMBDA0
    c, counted = step_multipliers(path, finished_reports(runs))
    assert counted == [] and c.multipliers["visual"].lam == risen
    for i in range(3):
        _finished_run(runs, f"fine-{i}", 1.0)
    c, counted = step_multipliers(path, finished_reports(runs))
    assert len(counted) == 3 and c.multipliers["visual"].lam < risen
    env = {"RECGEN_DATA_DIR": str(DATA_DIR), "RECGEN_CACHE_DIR": str(tmp_path / "cache"), "RECGEN_RUNS_DIR": str(runs)}
    r = CliRunner().invoke(app, ["rewards", "update", "--file", str(path)], env=env)
    assert r.exit_code == 0 and "0 new finished run(s)" in r.output, r.output
    r = CliRunner().invoke(app, ["rewards", "update"], env=env)  # the shipped file is copied, never changed
    assert r.exit_code == 0 and "6 new finished run(s)" in r.output, r.output
    assert (tmp_path / "cache" / "rewards" / "constraints.json").is_file()


def test_the_first_use_trains_the_feedback_model_into_the_cache_and_says_so(tmp_path):
    """On a data folder of the first 1,000 Beauty users (and every item's codes): the first use trains, the
    second loads what the first kept."""
    import json
    import shutil

    from recgen.rewards.feedback_cache import load_scorer, model_path

    data = tmp_path / "data" / "amazon-beauty"
    data.mkdir(parents=True)
    users = json.loads((DATA_DIR / "amazon-beauty" / "Beauty.inter.json").read_text())
    last = max(max(v) for v in users.values() if v)  # and a user of the last item: the catalog's size is kept
    kept = dict(list(users.items())[:1000]) | {u: v for u, v in users.items() if last in v}
    (data / "Beauty.inter.json").write_text(json.dumps(kept))
    shutil.copyfile(DATA_DIR / "amazon-beauty" / "Beauty.index.json", data / "Beauty.index.json")
    scorer, note = load_scorer(tmp_path / "cache", data.parent)
    assert scorer is not None and "trained the feedback model once" in note
    assert model_path(tmp_path / "cache").is_file()
    again, note = load_scorer(tmp_path / "cache", data.parent)
    assert again is scorer and note is None
    missing, why = load_scorer(tmp_path / "other", tmp_path / "no-data")
    assert missing is None and "left out" in why and "not found" in why
