"""Feedback events: validated, stored once per id, atomically per batch, and turned into the creative side
of the feedback reward."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from recgen.cli import app
from recgen.errors import ConflictError, InputError
from recgen.feedback import FeedbackStore, Recorded, creative_effects, parse_events, read_events_file


def ev(i, kind="impression", creative="3.1", user="u1", **kw):
    return {"event_id": f"e{i}", "user": user, "dsid": f"c4.2/s{creative}", "kind": kind, **kw}


def test_events_are_stored_once_per_id_and_a_changed_event_under_an_old_id_is_refused(tmp_path):
    store = FeedbackStore(tmp_path)
    done = store.record(parse_events([ev(1), ev(2, "click"), ev(3, "watch", watch_seconds=4.5)]))
    assert (done.added, done.duplicates) == (3, 0)
    again = store.record(parse_events([ev(1), ev(4, "like")]))
    assert (again.added, again.duplicates) == (1, 1)
    with pytest.raises(InputError, match="e2.*other contents"):
        store.record(parse_events([ev(5), ev(2, "purchase")]))
    assert len(store.events()) == 4  # the batch with the conflict stored nothing, not even e5
    assert [e.kind for e in store.events("u1")] == ["impression", "click", "watch", "like"]
    # the same event twice in one batch is stored once; one id for two different events is a conflict
    assert store.record(parse_events([ev(6), ev(6)])) == Recorded(added=1, duplicates=1)
    with pytest.raises(ConflictError, match="e7.*two different events"):
        store.record(parse_events([ev(7), ev(7, "purchase")]))


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        (ev(1, kind="share"), "kind"),
        (ev(1, kind="watch"), "watch_seconds"),
        (ev(1, kind="click", watch_seconds=3), "watch_seconds"),
        (ev(1, kind="watch", watch_seconds=math.inf), "watch_seconds"),
        ({**ev(1), "dsid": "c4.2"}, "not a D-SID"),
        ({**ev(1), "event_id": "a b"}, "event_id"),
        ({**ev(1), "user": ""}, "user"),
        ({**ev(1), "extra": 1}, "extra"),
    ],
)
def test_a_bad_event_is_named_with_its_position_and_field(bad, says):
    with pytest.raises(InputError, match=says) as e:
        parse_events([ev(0), bad])
    assert "event 1" in str(e.value)


def test_json_lines_and_json_lists_both_read(tmp_path):
    lines = tmp_path / "e.jsonl"
    lines.write_text("\n".join(json.dumps(ev(i)) for i in range(3)) + "\n")
    listed = tmp_path / "e.json"
    listed.write_text(json.dumps([ev(i) for i in range(3)]))
    assert read_events_file(lines) == read_events_file(listed)
    (tmp_path / "bad.jsonl").write_text('{"event_id": "x"\n')
    with pytest.raises(InputError, match="not JSON"):
        read_events_file(tmp_path / "bad.jsonl")


def test_creative_effects_follow_click_rates_and_shrink_small_samples(tmp_path):
    store = FeedbackStore(tmp_path)
    assert creative_effects(store) == {}  # neutral before any impression
    events, n = [], 0

    def log(creative, shown, clicked):
        nonlocal n
        for i in range(shown):
            events.append(ev(n, creative=creative))
            n += 1
            if i < clicked:
                events.append(ev(n, "click", creative=creative))
                n += 1

    log("1.0", 200, 40)  # 20 %
    log("2.0", 200, 10)  # 5 %
    log("3.0", 4, 2)  # 50 %, but from four impressions
    store.record(parse_events(events))
    eff = creative_effects(store)
    assert eff[(1, 0)] > 0 > eff[(2, 0)]
    assert 0 < eff[(3, 0)] < eff[(1, 0)]  # a higher rate from few impressions moves less


def test_the_feedback_reward_reads_the_creative_effects(tmp_path):
    import numpy as np

    from recgen.rewards.feedback import FeedbackModel, scorer_of

    model = FeedbackModel(np.zeros((4, 2), dtype=int))
    model.creative_bias = {(1, 0): 0.8}
    scorer = scorer_of(model)
    assert scorer.engagement(0, (1, 0)) > scorer.engagement(0, (2, 0))


@pytest.fixture(scope="module")
def space(cache_dir):
    from recgen.sid.semantics import load_sid_space

    from .conftest import DATA_DIR

    return load_sid_space(DATA_DIR, cache_dir)


def _real(e: dict, space) -> dict:
    """The event about catalog item 8, with its content codes in the catalog's space."""
    content = ".".join(map(str, space.content_codes(space.catalog.get("8"))))
    return {**e, "dsid": e["dsid"].replace("c4.2", f"c{content}"), "item": 8}


def test_events_about_what_does_not_exist_are_refused(space, tmp_path):
    from recgen.feedback import check_events

    check_events(parse_events([_real(ev(1), space)]), space)  # a real one passes
    for bad, says in (
        ({**_real(ev(1), space), "item": 99_999}, "not in the catalog"),
        (ev(1), "outside"),  # two content levels: not the catalog's code space
        (_real(ev(1, creative="99.99"), space), "outside"),
    ):
        with pytest.raises(InputError, match=says):
            check_events(parse_events([bad]), space)
    with pytest.raises(InputError, match="run_id"):
        parse_events([{**_real(ev(1), space), "run_id": "../../etc"}])
    twice = tmp_path / "twice.jsonl"
    twice.write_text('{"event_id": "e1", "user": "u1", "user": "u2", "dsid": "c1.2.3.0/s1.0", "kind": "click"}\n')
    with pytest.raises(InputError, match="twice"):
        read_events_file(twice)


def test_the_cli_records_and_shows_feedback(tmp_path, space):
    env = {"RECGEN_RUNS_DIR": str(tmp_path / "runs")}
    f = tmp_path / "e.json"
    f.write_text(json.dumps([_real(e, space) for e in (ev(1), ev(2, "click"), ev(3, "watch", watch_seconds=6))]))
    r = CliRunner().invoke(app, ["feedback", "record", str(f)], env=env)
    assert r.exit_code == 0 and "3 event(s) stored" in r.output, r.output
    r = CliRunner().invoke(app, ["feedback", "record", "--event", json.dumps(_real(ev(1), space))], env=env)
    assert r.exit_code == 0 and "0 event(s) stored, 1 already there" in r.output
    r = CliRunner().invoke(app, ["feedback", "record", "--event", json.dumps(ev(8))], env=env)
    assert r.exit_code == 2 and "outside" in r.output
    r = CliRunner().invoke(app, ["feedback", "record", "--event", json.dumps(ev(9, kind="share"))], env=env)
    assert r.exit_code == 2 and "kind" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(app, ["feedback", "show"], env=env)
    assert r.exit_code == 0 and "s3.1" in r.output and "1.000" in r.output and "6.0" in r.output, r.output
