"""The command line: help texts, readable errors, and the GRM commands on a small slice of Beauty."""

import json

import torch
from typer.testing import CliRunner

from recgen.cli import app

from .conftest import DATA_DIR

runner = CliRunner()


def _env(tmp_path, cache_dir):
    return {
        "RECGEN_DATA_DIR": str(DATA_DIR),
        "RECGEN_CACHE_DIR": str(cache_dir),
        "RECGEN_RUNS_DIR": str(tmp_path / "runs"),
    }


def test_help_explains_the_commands():
    out = runner.invoke(app, ["--help"]).output
    for cmd in ("demo", "generate", "styles", "sid", "grm", "ui"):
        assert cmd in out
    assert "bold-discount" in runner.invoke(app, ["generate", "--help"]).output


def test_generate_errors_are_one_readable_line(tmp_path, cache_dir):
    r = runner.invoke(app, ["generate", "--product", "nope"], env=_env(tmp_path, cache_dir))
    assert r.exit_code == 2 and "no product 'nope'" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["generate", "--product", "8", "--duration", "0"], env=_env(tmp_path, cache_dir))
    assert r.exit_code == 2 and "duration" in r.output


def test_generate_writes_a_video_and_prints_its_path_last(tmp_path, cache_dir):
    r = runner.invoke(
        app,
        [
            "generate",
            "--product",
            "13",
            "--creative",
            "s1.3",
            "--width",
            "144",
            "--height",
            "256",
            "--fps",
            "12",
            "--duration",
            "5",
        ],
        env=_env(tmp_path, cache_dir),
    )
    assert r.exit_code == 0, r.output
    last = r.stdout.strip().splitlines()[-1]
    assert last.endswith("final.mp4") and (tmp_path / "runs").exists()


def test_grm_train_eval_recommend(tmp_path, cache_dir):
    env = _env(tmp_path, cache_dir)
    ckpt = tmp_path / "grm.pt"
    r = runner.invoke(
        app,
        [
            "grm",
            "train",
            "--codes",
            "text",
            "--users",
            "150",
            "--epochs",
            "1",
            "--d-model",
            "32",
            "--layers",
            "1",
            "--out",
            str(ckpt),
        ],
        env=env,
    )
    assert r.exit_code == 0, r.output
    from recgen.sid.grm import GRM

    assert GRM.load(ckpt)[0].config.seen_bias  # on by default
    from recgen.sid.recommender import load_recommender

    assert load_recommender(ckpt).info["train"]["ema"] == 0.0  # auto: a one-epoch slice is too short for it
    assert "item chain weight" in r.output and load_recommender(ckpt).transitions is not None  # on by default
    r = runner.invoke(app, ["grm", "eval", "--checkpoint", str(ckpt)], env=env)
    assert r.exit_code == 0 and "Popularity" in r.output and "Recall@10" in r.output
    r = runner.invoke(app, ["grm", "eval", "--exclude-seen", "--checkpoint", str(ckpt)], env=env)
    assert r.exit_code == 0 and "Popularity" in r.output
    r = runner.invoke(app, ["grm", "recommend", "--user", "3", "--k", "3", "--checkpoint", str(ckpt)], env=env)
    assert r.exit_code == 0 and r.stdout.count("SID") == 3
    own = set(load_recommender(ckpt).history("3").tolist())
    args = ["grm", "recommend", "--user", "3", "--k", "40", "--checkpoint", str(ckpt)]
    r = runner.invoke(app, args, env=env)
    listed = [int(line.split()[2]) for line in r.stdout.splitlines() if " SID " in line]
    assert r.exit_code == 0 and len(listed) == 40 and not set(listed) & own  # what the user has is left out
    r = runner.invoke(app, [*args, "--include-seen"], env=env)
    assert r.exit_code == 0 and r.stdout.count(" SID ") == 40
    r = runner.invoke(app, ["grm", "recommend", "--user", "nobody", "--checkpoint", str(ckpt)], env=env)
    assert r.exit_code == 2 and "unknown user" in r.output
    r = runner.invoke(app, ["grm", "eval", "--checkpoint", str(tmp_path / "missing.pt")], env=env)
    assert r.exit_code == 2 and "no GRM checkpoint" in r.output


def test_grm_train_with_item_level_history(tmp_path, cache_dir):
    from recgen.sid.grm import GRM

    env = _env(tmp_path, cache_dir)
    ckpt = tmp_path / "grm_items.pt"
    small = ["--codes", "text", "--users", "150", "--epochs", "1", "--d-model", "32", "--layers", "1"]
    r = runner.invoke(
        app,
        [
            "grm",
            "train",
            *small,
            "--history",
            "items",
            "--no-seen-bias",
            "--ema",
            "0.9",
            "--no-transitions",
            "--out",
            str(ckpt),
        ],  # fmt: skip
        env=env,
    )
    assert r.exit_code == 0, r.output
    config = GRM.load(ckpt)[0].config
    assert config.history == "items" and not config.seen_bias
    from recgen.sid.recommender import load_recommender

    assert load_recommender(ckpt).info["train"]["ema"] == 0.9  # an explicit decay is used as given
    assert load_recommender(ckpt).transitions is None and "item chain" not in r.output
    r = runner.invoke(app, ["grm", "recommend", "--user", "3", "--k", "3", "--checkpoint", str(ckpt)], env=env)
    assert r.exit_code == 0 and r.stdout.count("SID") == 3
    r = runner.invoke(app, ["grm", "train", *small, "--history", "item", "--out", str(ckpt)], env=env)
    assert r.exit_code == 2 and "'tokens' or 'items'" in r.output
    r = runner.invoke(app, ["grm", "train", *small, "--ema", "1", "--out", str(ckpt)], env=env)
    assert r.exit_code == 2 and "--ema" in r.output  # a decay of 1 would never move off the initial weights
    if not torch.cuda.is_available():
        r = runner.invoke(app, ["grm", "train", *small, "--device", "cuda", "--out", str(ckpt)], env=env)
        assert r.exit_code == 2 and "no CUDA device" in r.output


def test_sid_fit_reports_code_quality(tmp_path, cache_dir):
    r = runner.invoke(app, ["sid", "fit"], env=_env(tmp_path, cache_dir))
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert set(report) == {"space", "items", "content", "creative"} and report["items"] == 12101
    assert 0 <= report["content"]["collision_rate"] <= 1 and report["content"]["usage_level1"] > 0
    assert report["content"]["collision_rate_with_disambiguation"] == 0.0  # every item has a code of its own
    bad = runner.invoke(app, ["sid", "fit", "--codes", "nope"], env=_env(tmp_path, cache_dir))
    assert bad.exit_code == 2 and "shared, ours, text" in bad.output


def test_ui_binds_to_localhost_by_default():
    out = runner.invoke(app, ["ui", "--help"]).output
    assert "127.0.0.1" in out and "--runs-dir" in out


def test_review_from_the_command_line(tmp_path, cache_dir):
    env = _env(tmp_path, cache_dir)
    small = ["--width", "144", "--height", "256", "--fps", "12", "--duration", "6"]
    r = runner.invoke(app, ["generate", "--product", "8", "--review", *small], env=env)
    assert r.exit_code == 0 and "waiting for review" in r.output
    run_id = r.output.strip().splitlines()[-1].rsplit("/", 1)[-1]
    bad = runner.invoke(app, ["generate", "--resume", run_id, "--edits", "{not json"], env=env)
    assert bad.exit_code == 2 and "--edits is not valid JSON" in bad.output
    unknown = runner.invoke(app, ["generate", "--resume", run_id, "--edits", '{"voice_lines": {"9": "Hi."}}'], env=env)
    assert unknown.exit_code == 2 and "no shot 9" in unknown.output
    edits = tmp_path / "edits.json"
    edits.write_text(json.dumps({"cta": "Grab yours"}))
    done = runner.invoke(app, ["generate", "--resume", run_id, "--edits", str(edits)], env=env)
    assert done.exit_code == 0 and done.output.strip().endswith("final.mp4")
    plan = json.loads((tmp_path / "runs" / run_id / "plans" / "effects_plan.json").read_text())
    assert plan["cta"]["text"] == "Grab yours"


def test_rewards_calibrate_writes_thresholds_that_runs_then_use(tmp_path, cache_dir):
    """Two baseline ads at a tiny size: the file holds τ = μ + k·σ per constraint, and a run given it
    reports a combined reward; an unknown style is one readable line."""
    from recgen import generate_video
    from recgen.rewards.constraints import Constraints

    from .conftest import small_settings

    env = _env(tmp_path, cache_dir)
    out = tmp_path / "constraints.json"
    args = ["rewards", "calibrate", "--products", "3", "--width", "144", "--height", "256", "--duration", "6"]
    r = runner.invoke(app, [*args, "--styles", "calm-luxury,bold-discount", "--out", str(out)], env=env)
    assert r.exit_code == 0, r.output
    c = Constraints.load(out)
    assert {"visual", "audio", "effects", "alignment_instruction", "alignment_representation"} == set(c.thresholds)
    t = c.thresholds["visual"]
    assert t.tau == min(1.0, t.mu + 1.1 * t.sigma) and c.thresholds["alignment_instruction"].k == 0.8
    s = small_settings(tmp_path / "runs2", cache_dir).model_copy(update={"constraints_file": out})
    assert generate_video("3", "calm-luxury", settings=s).state.reports[-1].reward is not None
    r = runner.invoke(app, [*args, "--styles", "neon-rave", "--out", str(out)], env=env)
    assert r.exit_code == 2 and "unknown style" in r.output and "Traceback" not in r.output


def test_rewards_train_feedback_reports_auc_against_popularity(tmp_path, cache_dir):
    out = tmp_path / "fb.npz"
    r = runner.invoke(app, ["rewards", "train-feedback", "--epochs", "1", "--out", str(out)],
                      env=_env(tmp_path, cache_dir))  # fmt: skip
    assert r.exit_code == 0, r.output
    assert out.is_file() and "auc_popularity" in r.output
    auc = float(r.output.split("'auc': ")[1].split(",")[0])
    pop = float(r.output.split("'auc_popularity': ")[1].split(",")[0])
    assert auc > pop, r.output


def test_grm_creative_side_learns_from_logged_clicks(tmp_path, cache_dir):
    """Clicks recorded with `recgen feedback record` become each viewer's latest interactions, paired with the
    creative codes of the video clicked (not a synthetic one); --feedback without --creative is refused."""
    from recgen.sid.recommender import load_recommender
    from recgen.sid.semantics import load_sid_space

    env = _env(tmp_path, cache_dir)
    space = load_sid_space(DATA_DIR, cache_dir)
    c7, c11 = (".".join(map(str, space.content_codes(space.catalog.get(i)))) for i in ("7", "11"))
    events = [  # about real items, in the catalog's code spaces (the store refuses anything else)
        {"event_id": "i1", "user": "3", "dsid": f"c{c7}/s6.1", "kind": "impression", "item": 7},
        {"event_id": "c1", "user": "3", "dsid": f"c{c7}/s6.1", "kind": "click", "item": 7},
        {"event_id": "c2", "user": "5", "dsid": f"c{c11}/s2.3", "kind": "click", "item": 11},
        {"event_id": "c3", "user": "nobody", "dsid": f"c{c11}/s2.3", "kind": "click", "item": 11},
    ]
    f = tmp_path / "events.json"
    f.write_text(json.dumps(events))
    assert runner.invoke(app, ["feedback", "record", str(f)], env=env).exit_code == 0
    ckpt = tmp_path / "grm.pt"
    args = ["grm", "train", "--users", "40", "--epochs", "1", "--d-model", "32", "--layers", "1", "--out", str(ckpt)]
    r = runner.invoke(app, [*args, "--feedback"], env=env)
    assert r.exit_code == 2 and "add --creative" in r.output
    r = runner.invoke(app, [*args, "--creative", "--feedback"], env=env)
    assert r.exit_code == 0 and "3 logged click(s)" in r.output, r.output
    rec = load_recommender(ckpt)
    assert rec.info["feedback_clicks"] == 3
    for user, item, creative in (("3", 7, (6, 1)), ("5", 11, (2, 3))):
        last = int(rec.history(user)[-1])
        assert int(rec.item_of_entry[last]) == item
        assert tuple(rec.tok.item_codes[last][-2:].tolist()) == creative


def test_serve_takes_the_video_size_as_options(tmp_path, cache_dir, monkeypatch):
    import recgen.serving.api as api

    served = {}
    monkeypatch.setattr(api, "serve", lambda service, guard, host, port: served.update(s=service.settings))
    args = ["serve", "--width", "360", "--height", "640", "--duration", "8", "--port", "0"]
    r = runner.invoke(app, args, env=_env(tmp_path, cache_dir))
    assert r.exit_code == 0, r.output
    assert (served["s"].width, served["s"].height, served["s"].duration_s) == (360, 640, 8.0)
    bad = runner.invoke(app, ["serve", "--width", "10"], env=_env(tmp_path, cache_dir))
    assert bad.exit_code == 2 and "width" in bad.output and "Traceback" not in bad.output
