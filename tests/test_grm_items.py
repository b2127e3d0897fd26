"""The GRM that reads one position per history item (GRMConfig.history="items") and writes the next item's
codes with its item decoder: it learns, it never sees the answer, and training, beam search and path scoring
give one item the same log-probability."""

import numpy as np
import pytest
import torch

from recgen.errors import SIDError
from recgen.sid.baselines import Popularity
from recgen.sid.beam import CodeTrie, beam_search, score_paths
from recgen.sid.data import leave_one_out
from recgen.sid.grm import GRM, GRMConfig, Tokenizer
from recgen.sid.grm_train import TrainConfig, evaluate, lm_loss, train_grm
from recgen.sid.metrics import rank_metrics
from tests.test_grm import N, _codes, _pattern_data

CFG = dict(level_sizes=(8, 5, 3), content_levels=2, max_items=8, n_layer=2, n_head=2, d_model=48, dropout=0.0)


@pytest.fixture(scope="module")
def trained_items():
    torch.manual_seed(0)
    split = leave_one_out(_pattern_data())
    cfg = GRMConfig(**CFG, history="items")
    model, tok = GRM(cfg), Tokenizer(cfg, _codes())
    report = train_grm(
        model, tok, split, TrainConfig(epochs=15, batch_size=32, lr=3e-3, patience=20, eval_users=100, beam=10)
    )
    return model, tok, split, report


def _path_log_prob(model: GRM, tok: Tokenizer, history: np.ndarray, path: np.ndarray) -> float:
    """A path's log-probability from the training-time forward: every level's codes softmaxed in full."""
    c = model.config
    tokens, pos, items = tok.item_batch([history])
    user = model.encode_items(tokens, pos, items)[:, -1]
    states = model.item_decode(user, torch.as_tensor(path[:-1] + np.asarray(c.offsets[:-1]))[None])[0]
    return sum(float(torch.log_softmax(model.level_logits(states[lv], lv), -1)[path[lv]]) for lv in range(c.levels))


def test_item_level_grm_learns_the_pattern_and_beats_popularity(trained_items):
    model, tok, split, report = trained_items
    grm = evaluate(model, tok, CodeTrie(tok.item_codes), split.test_history, split.test_target, beam=10, ks=(1, 5))
    pop = Popularity().fit(split.train, N)
    popm = rank_metrics(pop.recommend(split.test_history, 5), split.test_target, (1, 5))
    assert grm["recall@1"] > 0.8
    assert grm["recall@5"] > popm["recall@5"] + 0.5
    assert report.history[-1]["loss"] < report.history[0]["loss"]


def test_training_beam_search_and_score_paths_agree_on_every_path(trained_items):
    model, tok, split, _ = trained_items
    model.eval()
    hist = list(split.test_history[:5]) + [np.array([], dtype=np.int64)]  # a cold start among them
    trie = CodeTrie(tok.item_codes)
    paths, scores = beam_search(model, tok, hist, 9, "retrieval", item_trie=trie)
    assert np.isfinite(scores).all()
    with torch.no_grad():
        for b in range(len(hist)):
            for j in range(paths.shape[1]):
                assert _path_log_prob(model, tok, hist[b], paths[b, j]) == pytest.approx(float(scores[b, j]), abs=1e-4)
        assert np.allclose(score_paths(model, tok, hist, paths), scores, atol=1e-4)
        # a two-item window's loss is its second item's negative log-probability per code after the first:
        # the quantity beam search ranks by
        for u in range(4):
            pair = split.train[u][:2]
            nll = -_path_log_prob(model, tok, pair[:1], _codes()[pair[1]]) / 3
            assert float(lm_loss(model, tok, [pair])) == pytest.approx(nll, rel=1e-5)
        # left padding adds nothing: a batch's loss is the mean over all its written items
        short, long = split.train[0][:2], split.train[1][:6]
        both = float(lm_loss(model, tok, [short, long]))
        n = len(long) - 1
        assert n >= 3
        alone = (float(lm_loss(model, tok, [short])) + n * float(lm_loss(model, tok, [long]))) / (1 + n)
        assert both == pytest.approx(alone, rel=1e-5)


def test_an_item_and_its_codes_are_never_visible_while_they_are_written():
    torch.manual_seed(1)
    cfg = GRMConfig(**CFG, history="items")
    model, tok = GRM(cfg).eval(), Tokenizer(cfg, _codes())
    with torch.no_grad():
        a_tok, pos, items = tok.item_batch([np.array([3, 9, 14, 20])])
        b_tok, _, _ = tok.item_batch([np.array([3, 9, 14, 33])])  # only the last item differs
        a, b = model.encode_items(a_tok, pos, items), model.encode_items(b_tok, pos, items)
        assert torch.allclose(a[:, :-1], b[:, :-1]) and not torch.allclose(a[:, -1], b[:, -1])
        prefix = torch.as_tensor([[2 + 4, 10 + 1]])
        other = torch.as_tensor([[2 + 4, 10 + 3]])  # the level-1 code differs
        s, t = model.item_decode(a[:, -1], prefix), model.item_decode(a[:, -1], other)
        assert torch.allclose(s[:, :2], t[:, :2]) and not torch.allclose(s[:, 2], t[:, 2])


def test_item_level_constrained_loss_and_beams_cover_only_existing_items():
    rng = np.random.default_rng(5)
    codes = np.unique(rng.integers(0, [4, 6, 5], size=(30, 3)), axis=0)
    base = dict(level_sizes=(4, 6, 5), content_levels=3, max_items=8, n_layer=1, n_head=2, d_model=16, history="items")
    torch.manual_seed(0)
    plain = GRM(GRMConfig(**base)).eval()
    for p in plain.parameters():
        p.data.mul_(5)
    constrained = GRM(GRMConfig(**base, constrained=True)).eval()
    constrained.load_state_dict(plain.state_dict())
    tok = Tokenizer(plain.config, codes)
    history = np.array([0, 3, 7, 2])
    with torch.no_grad():
        assert float(lm_loss(constrained, tok, [history])) < float(lm_loss(plain, tok, [history])) - 0.1
    trie = CodeTrie(codes)
    _, s_con = beam_search(constrained, tok, [history[:3]], len(codes), "retrieval", item_trie=trie)
    _, s_plain = beam_search(plain, tok, [history[:3]], len(codes), "retrieval", item_trie=trie)
    assert np.exp(s_con[0]).sum() == pytest.approx(1.0, abs=1e-5)
    assert np.exp(s_plain[0]).sum() < 0.9


def test_item_level_checkpoints_and_bad_settings(trained_items, tmp_path):
    model, tok, split, _ = trained_items
    model.save(tmp_path / "grm.pt")
    again, _ = GRM.load(tmp_path / "grm.pt")
    assert again.config.history == "items"
    trie, hist = CodeTrie(tok.item_codes), list(split.test_history[:4])
    a = beam_search(model, tok, hist, 5, "retrieval", item_trie=trie)
    b = beam_search(again, tok, hist, 5, "retrieval", item_trie=trie)
    assert np.array_equal(a[0], b[0]) and np.allclose(a[1], b[1])
    with pytest.raises(SIDError, match="'tokens' or 'items'"):
        GRMConfig(**CFG, history="item")
    tokens_model = GRM(GRMConfig(**CFG))
    with pytest.raises(SIDError, match="history='items'"):
        tokens_model.item_decode(torch.zeros(1, 48), torch.zeros(1, 0, dtype=torch.long))
    cfg = GRMConfig(**CFG, history="items", decoder_layers=2)
    tok = Tokenizer(cfg, _codes())
    with pytest.raises(SIDError, match="outside"):
        tok.item_batch([np.array([N])])
    assert len(GRM(cfg).decoder) == 2
