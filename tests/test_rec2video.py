"""User → GRM → D-SIDs → video, and the pieces it rests on."""

import json

import numpy as np
import pytest

from recgen.errors import CatalogError, SIDError
from recgen.graphs.rec2video import video_for_user
from recgen.schemas import DSID
from recgen.sid.data import Interactions, pair_catalog
from recgen.sid.recommender import load_recommender
from recgen.sid.semantics import load_sid_space
from recgen.tools.probes import probe

from .conftest import NEW_USER


def test_pair_catalog_turns_exposures_into_dsid_entries():
    data = Interactions(("a", "b"), (np.array([0, 1]), np.array([1, 1])), 2)
    content = np.array([[5, 0], [6, 0]])
    pairs, table, item_of = pair_catalog(data, content, [np.array([[1, 2], [3, 0]]), np.array([[3, 0], [1, 1]])])
    assert table.tolist() == [[5, 0, 1, 2], [6, 0, 3, 0], [6, 0, 1, 1]]
    assert item_of.tolist() == [0, 1, 1]
    assert [s.tolist() for s in pairs.sequences] == [[0, 1], [1, 2]]
    with pytest.raises(CatalogError, match="every interaction"):
        pair_catalog(data, content, [np.array([[1, 2]]), np.array([[3, 0], [1, 1]])])


def test_synthetic_exposures_are_deterministic_and_follow_a_preference(small):
    from recgen.sid.creative import synthetic_exposures

    space = load_sid_space(small.data_dir, small.cache_dir)
    seqs = (np.arange(30), np.arange(30))
    a = synthetic_exposures(seqs, space.creative_codes, seed=1)
    b = synthetic_exposures(seqs, space.creative_codes, seed=1)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    _, counts = np.unique(a[0], axis=0, return_counts=True)
    assert counts.max() >= 12  # the user's preferred style dominates its exposures


def test_user_to_video(rec2video_ckpt, small):
    r = video_for_user("0", rec2video_ckpt, small)
    g = json.loads((r.run_dir / "run.json").read_text())["grm"]
    rec = load_recommender(rec2video_ckpt)
    proposed, used = DSID.model_validate(g["dsid"]), r.state.request.dsid
    assert g["item"] == int(r.state.request.product.id)  # any catalog item: every one has text
    # one D-SID space end to end: the GRM's content codes are the catalog's, name the item advertised, and
    # are the codes the agents decode; the creative codes travel unchanged
    assert proposed.content_space == "catalog" and rec.item_for_content(proposed.content) == g["item"]
    assert used == proposed and rec.space_name == json.loads((r.run_dir / "run.json").read_text())["space"]
    assert r.state.semantics.dsid == used
    p = probe(r.final_path)
    assert p.has_video and p.has_audio
    # the feedback reward scores this user's own history: item ids, not the GRM's (item, creative) entries
    items = rec.item_of_entry[rec.history("0")].tolist()
    assert list(r.state.request.viewer) == items and "feedback" in r.state.reports[-1].rewards
    assert g["basis"] == "history"


def test_a_user_without_history_is_offered_the_popular_dsids_in_generation_mode(rec2video_ckpt):
    rec = load_recommender(rec2video_ckpt)
    paths = rec.generate(NEW_USER, k=3)
    assert [p for p, _, _ in paths] == [tuple(rec.tok.item_codes[e]) for e in rec.popular_entries(3)]
    assert all(exists for *_, exists in paths) and paths[0][1] >= paths[1][1] >= paths[2][1]
    # a batch mixing a new user with a known one: each gets what it would get alone
    mixed = rec.generate_many([rec.history("0"), np.zeros(0, np.int64)], k=2)
    assert mixed == [rec.generate("0", k=2), rec.generate(NEW_USER, k=2)]
    only = rec.popular_entries(2, content_items={int(rec.item_of_entry[rec.popular_entries(5)[4]])})
    assert len({int(rec.item_of_entry[e]) for e in only}) == 1  # limited to the items given


def test_generation_needs_creative_levels_and_known_users(rec2video_ckpt, tmp_path):
    rec = load_recommender(rec2video_ckpt)
    with pytest.raises(CatalogError, match="unknown user"):
        rec.generate("no-such-user")
    with pytest.raises(SIDError, match="none of the given items"):
        rec.generate("0", content_items={99999})
