"""Transition-aware ranking: the chain's probabilities, its pooled candidates, β chosen on validation, and the
recommender that saves and uses it."""

import numpy as np
import pytest
import torch

from recgen.errors import CatalogError
from recgen.sid.beam import CodeTrie, beam_search, recommend_items, score_paths
from recgen.sid.data import Interactions, leave_one_out
from recgen.sid.grm import GRM, GRMConfig, Tokenizer
from recgen.sid.metrics import rank_metrics
from recgen.sid.transitions import TransitionScorer, candidates, fit_beta, rerank_items

TRAIN = tuple(np.array(s) for s in ([0, 1, 2], [0, 1, 3], [0, 2], [4, 1, 2], [0, 5], [3, 4], [4]))
# followers: 0→1 ×2, 0→2, 0→5; 1→2 ×2, 1→3; 2→ none; 3→4; 4→1.  Popularity: 0 ×4, 1 2 4 ×3, 3 ×2, 5 ×1


def test_chain_probabilities_mix_the_latest_items_and_smooth_towards_popularity():
    sc = TransitionScorer.fit(TRAIN, 6, alpha=1.0, weights=(1.0,))
    prior = (np.array([4, 3, 3, 2, 3, 1]) + 1.0) / 22.0
    got = np.exp(sc.log_probs([np.array([3, 0])], np.array([[1, 2, 5, 3]])))[0]
    np.testing.assert_allclose(got, (np.array([2, 1, 1, 0]) + prior[[1, 2, 5, 3]]) / (4 + 1.0), rtol=1e-6)
    # an item nothing ever followed falls back to the prior, scaled by α / (0 + α)
    np.testing.assert_allclose(np.exp(sc.log_probs([np.array([2])], np.array([[0, 5]])))[0], prior[[0, 5]])
    two = TransitionScorer.fit(TRAIN, 6, alpha=1.0, weights=(1.0, 0.5))
    p_last = (np.array([1, 0]) + prior[[4, 2]]) / 2.0  # after 3: 4 once; 2 never
    p_prev = (np.array([0, 2]) + prior[[4, 2]]) / 4.0  # after 1: 2 twice of three
    want = (p_last + 0.5 * p_prev) / 1.5
    np.testing.assert_allclose(np.exp(two.log_probs([np.array([1, 3])], np.array([[4, 2]])))[0], want, rtol=1e-6)
    # a one-item history uses only the lag it has
    np.testing.assert_allclose(
        two.log_probs([np.array([3])], np.array([[4]])), sc.log_probs([np.array([3])], np.array([[4]]))
    )
    assert two.top([np.array([1, 3])], 2).tolist() == [[4, 2]]  # 4: 1/1 × 1; 2: 2/3 × 0.5
    assert sc.top([np.array([2])], 3).tolist() == [[0, 1, 2]]  # no follower: by popularity (1–2 tie to 1)
    with pytest.raises(CatalogError, match="beyond"):
        sc.log_probs([np.array([9])], np.array([[0]]))


def test_state_round_trip_keeps_every_probability():
    sc = TransitionScorer.fit(TRAIN, 6, alpha=0.5, beta=1.5, candidates=4)
    back = TransitionScorer.from_state(sc.state())
    hist, items = [np.array([0, 1]), np.array([4])], np.array([[2, 3, 5], [1, 0, -1]])
    np.testing.assert_array_equal(back.log_probs(hist, items), sc.log_probs(hist, items))
    assert (back.beta, back.candidates, back.weights) == (1.5, 4, sc.weights)


N = 30


def _codes() -> np.ndarray:
    return np.stack([np.arange(N) // 6, np.arange(N) % 6], 1)


def _jump_data(users: int, seed: int) -> Interactions:
    """Each item has one fixed follower in another code region (a chain the codes cannot express)."""
    rng = np.random.default_rng(seed)
    follower = np.random.default_rng(99).permutation(N)
    seqs = []
    for _ in range(users):
        s = [int(rng.integers(N))]
        for _ in range(int(rng.integers(5, 9)) - 1):
            s.append(int(follower[s[-1]]))
        seqs.append(np.array(s))
    return Interactions(tuple(map(str, range(users))), tuple(seqs), N)


@pytest.fixture(scope="module")
def untrained():
    torch.manual_seed(0)
    cfg = GRMConfig(level_sizes=(5, 6), content_levels=2, max_items=8, n_layer=1, n_head=2, d_model=16)
    model = GRM(cfg).eval()
    return model, Tokenizer(cfg, _codes()), CodeTrie(_codes())


@pytest.mark.parametrize(
    "kind", [{}, {"seen_bias": True}, {"history": "items", "seen_bias": True}, {"constrained": True}]
)
def test_candidates_carry_the_grm_score_of_their_own_code_path(kind):
    torch.manual_seed(1)
    cfg = GRMConfig(level_sizes=(5, 6), content_levels=2, max_items=8, n_layer=1, n_head=2, d_model=16, **kind)
    model, tok, trie = GRM(cfg).eval(), Tokenizer(cfg, _codes()), CodeTrie(_codes())
    split = leave_one_out(_jump_data(40, 1))
    hist = list(split.test_history[:8])
    sc = TransitionScorer.fit(split.train, N, candidates=5)
    cand = candidates(model, tok, trie, sc, hist, beam=4)
    paths = np.where(cand.items[:, :, None] >= 0, tok.item_codes[cand.items.clip(min=0)], -1)
    want = score_paths(model, tok, hist, paths, trie)
    ok = cand.items >= 0
    np.testing.assert_allclose(cand.grm[ok], want[ok], rtol=1e-4, atol=1e-4)  # beam items and chain items alike
    assert ok.sum(1).min() >= 5  # the beam's 4 plus whatever of the chain's 5 the beam lacked
    beam_paths, _ = beam_search(model, tok, hist, 4, "retrieval", item_trie=trie)
    for b in range(len(hist)):
        beam_items = {trie.leaf[tuple(p)][0] for p in beam_paths[b].tolist()}
        chain_items = set(sc.top([hist[b]], 5)[0].tolist())
        assert set(cand.items[b][ok[b]].tolist()) == beam_items | chain_items


def test_beta_is_chosen_on_validation_and_lifts_the_test(untrained):
    model, tok, trie = untrained
    split = leave_one_out(_jump_data(200, 2))
    sc = TransitionScorer.fit(split.train, N, candidates=10)
    sweep = fit_beta(model, tok, trie, sc, list(split.valid_history), split.valid_target, beam=5)
    assert sc.beta > 0 and sweep[sc.beta]["ndcg@10"] > sweep[0.0]["ndcg@10"] + 0.2  # the chain, not a tie-break
    hist = list(split.test_history)
    plain = rank_metrics(recommend_items(model, tok, trie, hist, 10, beam=5), split.test_target)
    ranked = rerank_items(model, tok, trie, sc, hist, 10, beam=5)
    assert rank_metrics(ranked, split.test_target)["recall@5"] > 0.9 > plain["recall@5"]
    ex = rerank_items(model, tok, trie, sc, hist, 10, beam=5, exclude=hist)
    assert not any(set(r.tolist()) & set(h.tolist()) for r, h in zip(ex, hist, strict=True))

    # a chain that carries nothing (every follower equally likely) is not given weight on validation
    rng = np.random.default_rng(3)
    noise = Interactions(tuple(map(str, range(200))), tuple(rng.integers(0, N, 7) for _ in range(200)), N)
    nsplit = leave_one_out(noise)
    flat = TransitionScorer.fit(nsplit.train, N, candidates=10)
    fit_beta(model, tok, trie, flat, list(nsplit.valid_history), nsplit.valid_target, beam=5)
    assert flat.beta <= 1.0


def test_exclusions_that_leave_a_row_short_are_topped_up_from_a_wider_beam(untrained):
    model, tok, trie = untrained
    split = leave_one_out(_jump_data(40, 4))
    sc = TransitionScorer.fit(split.train, N, candidates=3, beta=1.0)
    hist = list(split.test_history[:5])
    never = [np.arange(0, N, 2) for _ in hist]  # half the catalog, far more than beam + chain hold
    got = rerank_items(model, tok, trie, sc, hist, 12, beam=4, exclude=never)
    assert (got >= 0).all() and not (got % 2 == 0).any()
    assert all(len(set(r.tolist())) == 12 for r in got)
    with pytest.raises(ValueError, match="one id array per history"):
        rerank_items(model, tok, trie, sc, hist, 3, exclude=never[:2])
