"""The learned seen-items feature (GRMConfig.seen_bias, SASRec(seen_bias=True)): exact shares, the same
scores in training, beam search and path scoring, and a model that learns from data that users do not
come back to an item."""

import numpy as np
import pytest
import torch

from recgen.sid.baselines import SASRec
from recgen.sid.beam import CodeTrie, beam_search, recommend_items, score_paths
from recgen.sid.data import Interactions, leave_one_out
from recgen.sid.grm import GRM, GRMConfig, Tokenizer
from recgen.sid.grm_train import TrainConfig, evaluate, lm_loss, train_grm
from recgen.sid.seen import SeenItems
from tests.test_grm import N, _codes

CFG = dict(level_sizes=(8, 5, 3), content_levels=2, max_items=8, n_layer=2, n_head=2, d_model=32, dropout=0.0)


def test_share_counts_the_users_items_under_each_code():
    codes = _codes()  # item i: (i // 5, i % 5, i % 3)
    trie = CodeTrie(codes)
    seen = SeenItems.from_histories(
        trie, codes, [np.array([0, 1, 7]), np.array([], dtype=np.int64)], torch.device("cpu")
    )
    root = torch.zeros(2, 1, dtype=torch.long)
    level0 = seen.share(0, root, 8)
    assert level0[0, 0].tolist() == pytest.approx([2 / 5, 1 / 5, 0, 0, 0, 0, 0, 0])
    assert level0[1].abs().sum() == 0  # nothing seen
    prefix0 = trie.step(0, torch.zeros(2, dtype=torch.long), torch.zeros(2, dtype=torch.long)).view(2, 1)
    assert seen.share(1, prefix0, 5)[0, 0].tolist() == pytest.approx([1, 1, 0, 0, 0])  # items 0 and 1, alone there
    # causal: each item counts only those before it — item 1 sees item 0 under code 0, item 0 sees nothing
    causal = seen.share(0, seen.parent[:, :, 0], 8, causal=True)
    assert causal[0, 0, 0] == 0 and causal[0, 1, 0] == pytest.approx(1 / 5) and causal[0, 2, 0] == pytest.approx(2 / 5)


@pytest.mark.parametrize("history", ["tokens", "items"])
def test_training_beam_search_and_path_scores_apply_the_same_bias(history):
    torch.manual_seed(0)
    cfg = GRMConfig(**CFG, history=history, seen_bias=True)
    model, tok = GRM(cfg), Tokenizer(cfg, _codes())
    with torch.no_grad():
        model.seen_weight.copy_(torch.tensor([0.5, 2.0, 1.5]))
    model.eval()
    plain = GRM(GRMConfig(**CFG, history=history)).eval()  # the same weights without the bias
    plain.load_state_dict({k: v for k, v in model.state_dict().items() if k != "seen_weight"})
    trie = CodeTrie(tok.item_codes)
    a, b = np.array([0]), tok.item_codes[[1]][None]  # b shares a's first code; a is its own leaf: all levels live
    with torch.no_grad():
        change = [float(lm_loss(m, tok, [np.array([0, 1])], trie=trie)) for m in (model, plain)]
    # the token model also writes the window's first item (after BOS), which has nothing seen before it
    targets = (2 if history == "tokens" else 1) * cfg.levels
    scored = [score_paths(m, tok, [a], b, trie)[0, 0] for m in (model, plain)]
    assert (change[0] - change[1]) * targets == pytest.approx(-(scored[0] - scored[1]), rel=1e-4)
    assert abs(scored[0] - scored[1]) > 0.05  # the bias is live on this path
    hist = [np.array([0, 1, 2]), np.array([7]), np.array([], dtype=np.int64)]
    paths, scores = beam_search(model, tok, hist, 12, "retrieval", item_trie=trie)
    assert score_paths(model, tok, hist, paths, trie) == pytest.approx(scores, rel=1e-5)
    seen_paths = tok.item_codes[hist[0]][None]
    with_bias = score_paths(model, tok, hist[:1], seen_paths, trie)
    without = score_paths(plain, tok, hist[:1], seen_paths, trie)
    assert (with_bias < without - 1).all()


def _walk_data(users: int = 400, seed: int = 0) -> Interactions:
    """Every user goes through two neighbouring groups of 5 items, each in a random order, never twice."""
    rng = np.random.default_rng(seed)
    seqs = []
    for _ in range(users):
        g = rng.integers(N // 5)
        seqs.append(np.concatenate([5 * g + rng.permutation(5), 5 * ((g + 1) % (N // 5)) + rng.permutation(5)]))
    return Interactions(tuple(str(u) for u in range(users)), tuple(seqs), N)


def _seen_in_top(ranked: np.ndarray, histories: tuple[np.ndarray, ...]) -> float:
    return float(np.mean([np.isin(r, h).sum() for r, h in zip(ranked, histories, strict=True)]))


def test_the_grm_learns_from_data_that_users_do_not_come_back():
    split = leave_one_out(_walk_data())
    runs = {}
    for bias in (False, True):
        torch.manual_seed(0)
        cfg = GRMConfig(**CFG, history="items", seen_bias=bias)
        model, tok = GRM(cfg), Tokenizer(cfg, _codes())
        train_grm(model, tok, split, TrainConfig(epochs=12, batch_size=8, lr=3e-3, patience=20, eval_users=50, beam=10))
        trie = CodeTrie(tok.item_codes)
        ranked = recommend_items(model, tok, trie, list(split.test_history), 1, beam=10)
        runs[bias] = model, evaluate(model, tok, trie, split.test_history, split.test_target, 10, (1,)), ranked
    (_, plain, plain_top), (model, biased, biased_top) = runs[False], runs[True]
    # the test target is the one item of its group the user has not had: only the seen feature can tell
    assert model.seen_weight[1] > 0.2  # learned, from zero, to push a seen member down
    assert _seen_in_top(biased_top, split.test_history) < 0.5 * _seen_in_top(plain_top, split.test_history)
    assert biased["recall@1"] > plain["recall@1"] + 0.2


def test_sasrec_learns_the_same_feature():
    split = leave_one_out(_walk_data())
    tops, recall = {}, {}
    for bias in (False, True):
        torch.manual_seed(0)
        sas = SASRec(N, max_len=12, d_model=32, dropout=0.0, seen_bias=bias)
        sas.fit(split, epochs=30, lr=3e-3, patience=30, eval_every=30, eval_users=50)
        tops[bias] = sas.recommend(split.test_history, 1)
        recall[bias] = float(np.mean(tops[bias][:, 0] == split.test_target))
    assert sas.seen_weight > 0.2  # a target marked as seen would have pushed it the other way
    assert _seen_in_top(tops[True], split.test_history) < 0.5 * _seen_in_top(tops[False], split.test_history)
    assert recall[True] > recall[False] + 0.2


def test_sasrec_seen_term_is_the_dense_formula_with_its_gradient():
    """The sparse add touches only seen entries; a repeated (row, item) pair counts once, as a share of 1."""
    from recgen.sid.seen import seen_log_share

    sas = SASRec(N, max_len=12, d_model=16, seen_bias=True)
    with torch.no_grad():
        sas.seen_weight.fill_(0.7)
    logits = torch.randn(3, N, requires_grad=True)
    rows, items = torch.tensor([0, 0, 0, 2]), torch.tensor([4, 9, 4, 1])
    dense = torch.zeros(3, N)
    dense[rows, items] = 1.0
    want = logits + sas.seen_weight * seen_log_share(dense)
    got = sas._with_seen(logits, rows, items)
    assert torch.equal(got, want)
    assert (got != logits).sum() == 3  # (0, 4), (0, 9), (2, 1)
    g_got = torch.autograd.grad(got.square().sum(), [logits, sas.seen_weight])
    g_want = torch.autograd.grad(want.square().sum(), [logits, sas.seen_weight])
    assert torch.allclose(g_got[0], g_want[0]) and torch.allclose(g_got[1], g_want[1], rtol=1e-5)
