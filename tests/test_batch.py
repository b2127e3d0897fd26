"""Batch generation into the serving cache: each D-SID made once, reruns skip what is cached, one bad task
is reported without stopping the rest, and on Ray a worker killed mid-render loses and duplicates nothing."""

from __future__ import annotations

import json
import sys

import pytest

from recgen.serving.batch import RayLayout, RenderStage, Task, cache_of, run_batch
from recgen.sid.semantics import load_sid_space


def tasks_for(settings, wanted: list[tuple[str, str]]) -> list[Task]:
    space = load_sid_space(settings.data_dir, settings.cache_dir)
    out = []
    for product, creative in wanted:
        d = space.dsid_for(space.catalog.get(product), creative)
        out.append(Task(product, d.content, d.creative))
    return out


def runs_of(settings) -> list:
    return sorted(p for p in settings.runs_dir.iterdir() if p.name.startswith("batch-"))


def test_local_batch_makes_each_video_once_and_resumes(small):
    tasks = tasks_for(small, [("1", "calm-luxury"), ("2", "bold-discount"), ("1", "calm-luxury")])
    bad = Task("1", tasks[0].content, (999, 999))  # creative codes outside the codebooks
    done: list[str] = []
    report = run_batch([*tasks, bad], small, "local", on_done=done.append)
    assert report.total == 3 and report.made == 2 and report.skipped == 0
    assert len(report.failed) == 1 and report.failed[0][0] == bad.key and "999" in report.failed[0][1]
    assert sorted(done) == sorted({t.key for t in tasks})
    entries = cache_of(small).entries()
    assert sorted(e.key for e in entries) == sorted({t.key for t in tasks})
    assert all(e.path.is_file() and e.scores["total"] > 0 for e in entries)
    assert len(runs_of(small)) == 2  # bad input is refused before a run folder exists
    again = run_batch(tasks, small, "local")
    assert again.skipped == 2 and again.made == 0 and not again.failed


def test_a_rendering_worker_loads_its_models_once_when_it_starts(small_read_back):
    """What a render loads on first use (voice, OCR, speech recognition, the feedback model) is loaded by the
    stage's constructor, so a Ray worker does it while the first plan is made; a missing voice is left for the
    run to report, not a worker that fails to start."""
    from recgen.rewards import feedback_cache as feedback
    from recgen.tools import asr, ocr, tts

    loaded = (tts.get_tts, ocr.get_ocr, asr.get_asr, feedback._scorer)
    for f in loaded:
        f.cache_clear()
    RenderStage(small_read_back.model_dump_json())
    assert [f.cache_info().currsize for f in loaded] == [1, 1, 1, 1]
    for f in loaded:
        f.cache_clear()
    off = {"tts_backend": "no-such-voice", "ocr_backend": "none"}
    RenderStage(small_read_back.model_copy(update=off).model_dump_json())
    assert [f.cache_info().currsize for f in loaded] == [0, 0, 1, 1]


def test_a_render_holds_every_cpu_model_to_its_thread_budget(small_read_back, monkeypatch):
    """A batch runs one single-threaded video per CPU side by side, so the voice, OCR and speech recognition
    must each keep to the render threads, and the voice's idle threads must not spin (they would steal the
    neighbouring worker's core)."""
    import faster_whisper

    from recgen.tools import asr, ocr, tts
    from recgen.tools.backends import load_backends

    asked: list[int] = []

    class Recording:
        def __init__(self, *args, cpu_threads: int, **kwargs) -> None:
            asked.append(cpu_threads)

    monkeypatch.setattr(faster_whisper, "WhisperModel", Recording)
    for f in (tts.get_tts, ocr.get_ocr, asr.get_asr):
        f.cache_clear()
    try:
        load_backends(small_read_back.model_copy(update={"render_threads": 1}))
        voice = tts.get_tts("piper", 1).voice.session.get_session_options()
        assert voice.intra_op_num_threads == 1
        assert voice.get_session_config_entry("session.intra_op.allow_spinning") == "0"
        engine = ocr.get_ocr(1).engine  # loaded by reading a word: detection and recognition both exist
        sessions = (engine.text_det.session.session, engine.text_rec.session.session)
        assert [x.get_session_options().intra_op_num_threads for x in sessions] == [1, 1]
        assert asked == [1]
    finally:
        asr.get_asr.cache_clear()  # the recording stand-in must not outlive this test


def test_ray_sizes_its_workers_to_the_cluster():
    """One single-threaded rendering actor per CPU the planner leaves, as many as the memory holds; one per
    GPU (with that GPU and its share of the CPUs) when shots are drawn on GPUs; GPUs are not asked for when
    they would sit idle."""
    two = RayLayout.plan(cpus=2, gpus=0, planners=1)
    assert (two.renderers, two.render_cpus, two.gpu_share, two.threads) == (2, 0.875, 0.0, 1)
    assert RayLayout.plan(cpus=16, gpus=0, planners=1).renderers == 16
    on_gpu = RayLayout.plan(cpus=16, gpus=2, planners=1, on_gpu=True)
    assert (on_gpu.renderers, on_gpu.render_cpus, on_gpu.gpu_share, on_gpu.threads) == (2, 7.875, 1.0, 8)
    assert RayLayout.plan(cpus=16, gpus=2, planners=1).gpu_share == 0.0
    assert RayLayout.plan(cpus=16, gpus=2, planners=1, renderers=4, on_gpu=True).gpu_share == 0.5
    one = RayLayout.plan(cpus=1, gpus=0, planners=1)
    assert (one.renderers, one.threads) == (1, 1)
    tight = RayLayout.plan(cpus=16, gpus=0, planners=1, memory=6 * 2**30)  # room for four actors' models
    assert (tight.renderers, tight.threads) == (4, 4)
    assert RayLayout.plan(cpus=16, gpus=0, planners=1, renderers=8, memory=6 * 2**30).renderers == 8  # as asked


def test_a_stage_in_its_own_process_holds_torch_to_the_render_threads(small):
    import torch

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        RenderStage(small.model_copy(update={"render_threads": 1}).model_dump_json())
        assert torch.get_num_threads() == 2  # in the caller's process: its setting is left alone
        RenderStage(small.model_copy(update={"render_threads": 1}).model_dump_json(), own_process=True)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield ray
    ray.shutdown()


def test_ray_batch_survives_a_killed_worker(small, ray_cluster, tmp_path):
    tasks = tasks_for(small, [("1", "calm-luxury"), ("2", "warm-natural"), ("3", "bold-discount")])
    marker = tmp_path / "killed"
    report = run_batch(tasks, small, "ray", crash_marker=marker)
    assert marker.is_file()  # a rendering worker did die mid-render (its pid is in the file)
    assert not report.failed and report.made == 3
    assert (report.layout.renderers, report.layout.threads) == (2, 1)  # the default on 2 CPUs, one killed
    entries = cache_of(small).entries()
    assert sorted(e.key for e in entries) == sorted(t.key for t in tasks)  # none lost, none twice
    runs = runs_of(small)
    assert len(runs) == 3  # the killed worker's run was resumed by its retry, not started again
    statuses = [json.loads((r / "run.json").read_text())["status"] for r in runs]
    assert statuses == ["done"] * 3


def test_batch_command_reads_its_files_and_names_bad_lines(tmp_path, cache_dir):
    from typer.testing import CliRunner

    from recgen.cli import app

    from .conftest import DATA_DIR

    env = {"RECGEN_DATA_DIR": str(DATA_DIR), "RECGEN_CACHE_DIR": str(cache_dir), "RECGEN_RUNS_DIR": str(tmp_path)}
    listing = tmp_path / "products.txt"
    listing.write_text('# a comment\n1 calm-luxury\n{"product": "2", "creative": "no-such-style"}\n')
    r = CliRunner().invoke(app, ["batch", "--products", str(listing)], env=env)
    said = " ".join(r.output.split())
    assert r.exit_code == 2 and "products.txt, line 3" in said and "no-such-style" in said
    users = tmp_path / "users.txt"
    users.write_text("0\n")
    r = CliRunner().invoke(app, ["batch", "--users", str(users)], env=env)
    assert r.exit_code == 2 and "--grm" in r.output
    r = CliRunner().invoke(app, ["batch", "--products", str(listing), "--users", str(users)], env=env)
    assert r.exit_code == 2 and "one of" in r.output
    assert not (tmp_path / "serving").exists()  # nothing made or opened before the input is known good


class WaitForFirst:
    """The first task returns at once; the second waits (up to 30 s) for the driver to have received the first."""

    def __init__(self, seen: str) -> None:
        self.seen, self.calls = seen, 0

    def __call__(self, batch):
        import time
        from pathlib import Path

        import numpy as np

        self.calls += 1
        waited = 0.0
        while self.calls == 2 and not Path(self.seen).exists() and waited < 30:
            time.sleep(0.1)
            waited += 0.1
        return {"x": batch["x"], "waited": np.asarray([waited])}


def test_ray_rows_reach_the_driver_as_each_finishes(ray_cluster, tmp_path):
    """A finished video is cached (and counted) when it is done, not held back until the next one is."""
    import ray.cloudpickle
    import ray.data

    from recgen.serving.batch import _rows_as_done

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers need not import the tests
    seen = tmp_path / "seen-first"
    ds = ray.data.from_items([{"x": 0}, {"x": 1}], override_num_blocks=2)
    ds = ds.map_batches(WaitForFirst, batch_size=1, fn_constructor_kwargs={"seen": str(seen)}, num_cpus=1,
                        compute=ray.data.ActorPoolStrategy(size=1))  # fmt: skip
    waited = []
    for row in _rows_as_done(ds):
        waited.append(float(row["waited"]))
        seen.touch()
    assert waited[0] == 0 and waited[1] < 25  # the second would wait out its 30 s if the first were held back
