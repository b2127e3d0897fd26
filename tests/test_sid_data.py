import json

import numpy as np
import pytest

from recgen.errors import CatalogError, SIDError
from recgen.sid.baselines import Popularity
from recgen.sid.data import disambiguate, leave_one_out, load_code_table, load_interactions
from recgen.sid.metrics import rank_metrics, top_k_from_scores

from .conftest import DATA_DIR


def _write(tmp_path, obj, name="inter.json"):
    p = tmp_path / name
    p.write_text(json.dumps(obj) if not isinstance(obj, str) else obj)
    return p


def test_metrics_on_a_hand_made_example():
    ranked = np.array([[3, 1, 2, 9, 8], [5, 6, 7, 8, 0], [4, 4, 4, 4, 2]])
    targets = np.array([1, 0, 11])  # rank 2, rank 5, missing
    m = rank_metrics(ranked, targets, ks=(1, 5))
    assert m["recall@1"] == 0.0
    assert m["recall@5"] == pytest.approx(2 / 3)
    assert m["ndcg@5"] == pytest.approx((1 / np.log2(3) + 1 / np.log2(6)) / 3)
    with pytest.raises(ValueError, match="at least 10"):
        rank_metrics(ranked, targets, ks=(10,))


def test_top_k_masks_seen_items():
    scores = np.array([[0.1, 0.9, 0.5, 0.3]])
    assert top_k_from_scores(scores, 2).tolist() == [[1, 2]]
    assert top_k_from_scores(scores, 2, exclude=[np.array([1])]).tolist() == [[2, 3]]


def test_leave_one_out_split():
    from recgen.sid.data import Interactions

    data = Interactions(("a", "b"), (np.array([1, 2, 3, 4]), np.array([5, 6])), 7)
    s = leave_one_out(data)
    assert [t.tolist() for t in s.train] == [[1, 2], [5, 6]]
    assert s.valid_target.tolist() == [3] and s.test_target.tolist() == [4]
    assert s.test_history[0].tolist() == [1, 2, 3]


def test_beauty_loads_with_the_published_statistics():
    data = load_interactions(DATA_DIR / "amazon-beauty" / "Beauty.inter.json")
    assert len(data) == 22363 and data.n_items == 12101
    assert sum(len(s) for s in data.sequences) == 198502
    with pytest.raises(CatalogError, match="unknown user"):
        data.index_of("no-such-user")


@pytest.mark.parametrize(
    "content, match",
    [
        ("{not json", "not valid JSON"),
        ({"u": {}}, "malformed"),
        ({"u": [], "v": []}, "no user has a history"),
        ({"u": [1, "x"]}, "non-integer"),
        ({"u": [1, -2]}, "negative"),
        ([1, 2], "must map"),
    ],
)
def test_loader_rejects_bad_files(tmp_path, content, match):
    with pytest.raises(CatalogError, match=match):
        load_interactions(_write(tmp_path, content))


def test_loader_checks_range_and_missing_file(tmp_path):
    with pytest.raises(CatalogError, match="outside 0..4"):
        load_interactions(_write(tmp_path, {"u": [1, 7]}), n_items=5)
    with pytest.raises(CatalogError, match="not found"):
        load_interactions(tmp_path / "nope.json")


def test_code_table_and_disambiguation(tmp_path):
    table = load_code_table(_write(tmp_path, {"0": [1, 2], "1": [1, 2], "2": [0, 3]}, "codes.json"), 3)
    full = disambiguate(table)
    assert full[:, -1].tolist() == [0, 1, 0]
    assert len({tuple(r) for r in full}) == 3
    with pytest.raises(CatalogError, match="have no code"):
        load_code_table(_write(tmp_path, {"0": [1, 2]}, "c2.json"), 3)


def test_disambiguation_numbers_each_group_by_priority():
    table = np.array([[1, 2], [1, 2], [0, 3], [1, 2], [0, 3]])
    # group (1, 2): item 1 and item 3 tie on priority 5 (lower index first), item 0 is least popular
    assert disambiguate(table, priority=np.array([1, 5, 9, 5, 2]))[:, -1].tolist() == [2, 0, 0, 1, 1]
    assert disambiguate(table)[:, -1].tolist() == [0, 1, 0, 2, 1]
    with pytest.raises(SIDError, match="priority has 2 entries for 5 items"):
        disambiguate(table, priority=np.array([1, 2]))


def test_item_tokens_give_each_colliding_item_its_own_token():
    table = np.array([[1, 2], [1, 2], [0, 3], [1, 2], [0, 3], [4, 4]])
    # colliding items get 1, 2, … across the catalog (groups in code order, members by index); unique codes 0
    assert disambiguate(table, item_tokens=True)[:, -1].tolist() == [3, 4, 1, 5, 2, 0]
    # priority orders the members inside a group
    assert disambiguate(table, np.array([1, 5, 9, 5, 2, 0]), item_tokens=True)[:, -1].tolist() == [5, 3, 1, 4, 2, 0]


def test_popularity_ranks_by_training_counts():
    pop = Popularity().fit((np.array([1, 1, 2]), np.array([1, 3])), 5)
    assert pop.recommend((np.array([0]),), 3).tolist() == [[1, 2, 3]]


def test_a_user_without_history_is_a_new_user_and_learns_nothing(tmp_path):
    data = load_interactions(_write(tmp_path, {"a": [0, 1, 2, 3], "new": [], "b": [2, 1]}))
    assert data.users == ("a", "new", "b") and data.sequences[data.index_of("new")].size == 0
    split = leave_one_out(data)
    assert len(split.train) == 2 and split.test_target.tolist() == [3]  # the new user is in no split
