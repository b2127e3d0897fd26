"""The generative recommender on a synthetic task with an obvious pattern, and its beam search modes."""

import numpy as np
import pytest
import torch

from recgen.errors import SIDError
from recgen.sid.baselines import Popularity
from recgen.sid.beam import CodeTrie, beam_search, recommend_items, score_paths
from recgen.sid.data import Interactions, leave_one_out
from recgen.sid.grm import GRM, GRMConfig, Tokenizer
from recgen.sid.grm_train import TrainConfig, evaluate, lm_loss, train_grm
from recgen.sid.metrics import rank_metrics

N = 40


def _codes() -> np.ndarray:
    # content (i // 5, i % 5) and one creative level; item i has creative i % 3
    return np.stack([np.arange(N) // 5, np.arange(N) % 5, np.arange(N) % 3], 1)


def _pattern_data(users: int = 300, seed: int = 0) -> Interactions:
    rng = np.random.default_rng(seed)
    seqs = []
    for _ in range(users):
        start, length = rng.integers(N), rng.integers(6, 11)
        seqs.append((start + np.arange(length)) % N)  # next item = previous + 1
    return Interactions(tuple(str(u) for u in range(users)), tuple(seqs), N)


@pytest.fixture(scope="module")
def trained():
    torch.manual_seed(0)
    data = _pattern_data()
    split = leave_one_out(data)
    cfg = GRMConfig(level_sizes=(8, 5, 3), content_levels=2, max_items=8, n_layer=2, n_head=2, d_model=48, dropout=0.0)
    model = GRM(cfg)
    tok = Tokenizer(cfg, _codes())
    report = train_grm(
        model, tok, split, TrainConfig(epochs=20, batch_size=32, lr=3e-3, patience=20, eval_users=100, beam=10)
    )
    return model, tok, split, report


def test_early_stopping_waits_for_min_epochs():
    split = leave_one_out(_pattern_data(users=40))
    cfg = GRMConfig(level_sizes=(8, 5, 3), content_levels=2, max_items=8, n_layer=1, n_head=2, d_model=16)
    runs = []
    for min_epochs in (0, 3, None):
        model = GRM(cfg)
        # patience 0: every epoch counts as "no better", so only min_epochs keeps the run going
        tc = TrainConfig(epochs=5, batch_size=32, patience=0, min_epochs=min_epochs, eval_users=20, beam=5)
        runs.append(train_grm(model, Tokenizer(cfg, _codes()), split, tc).epochs_run)
    assert runs == [1, 3, 2]  # None: half of the 5 epochs


def test_device_is_chosen_from_what_torch_sees(monkeypatch):
    from recgen.sid.grm_train import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu" and resolve_device("cpu") == "cpu"
    with pytest.raises(ValueError, match="no CUDA device"):
        resolve_device("cuda")  # never a silent CPU run of a job sized for a GPU
    with pytest.raises(ValueError, match="'auto', 'cpu' or 'cuda'"):
        resolve_device("gpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda" and resolve_device("cpu") == "cpu"


def test_auto_ema_only_on_runs_long_enough_for_the_average_to_catch_up(monkeypatch):
    from recgen.sid import grm_train
    from recgen.sid.grm_train import AUTO_EMA, AUTO_EMA_MIN_STEPS, resolve_ema

    assert resolve_ema(None, AUTO_EMA_MIN_STEPS) == AUTO_EMA
    assert resolve_ema(None, AUTO_EMA_MIN_STEPS - 1) == 0.0
    assert resolve_ema(0.0, 10**6) == 0.0 and resolve_ema(0.9, 1) == 0.9  # explicit values are kept
    split = leave_one_out(_pattern_data(users=40))
    cfg = GRMConfig(level_sizes=(8, 5, 3), content_levels=2, max_items=8, n_layer=1, n_head=2, d_model=16)
    tc = TrainConfig(epochs=1, batch_size=16, eval_users=10, beam=5, ema=None)
    assert train_grm(GRM(cfg), Tokenizer(cfg, _codes()), split, tc).ema == 0.0  # 3 steps: off
    monkeypatch.setattr(grm_train, "AUTO_EMA_MIN_STEPS", 3)  # the same run now counts as long enough
    assert train_grm(GRM(cfg), Tokenizer(cfg, _codes()), split, tc).ema == AUTO_EMA


def test_ema_weights_are_the_ones_validated_and_returned():
    split = leave_one_out(_pattern_data(users=80))
    cfg = GRMConfig(level_sizes=(8, 5, 3), content_levels=2, max_items=8, n_layer=1, n_head=2, d_model=16)
    tok = Tokenizer(cfg, _codes())

    def run(epochs: int, ema: float) -> tuple[dict, list]:
        torch.manual_seed(0)
        model = GRM(cfg)
        tc = TrainConfig(epochs=epochs, batch_size=16, lr=3e-3, patience=9, eval_users=40, beam=5, ema=ema)
        report = train_grm(model, tok, split, tc)
        return model.state_dict(), report.history

    # decay 1: the average keeps the weights of the first step (torch's AveragedModel starts from a copy)
    # however long the raw weights go on training, so one epoch and three return the same model
    one, _ = run(1, 1.0)
    three, hist = run(3, 1.0)
    raw, raw_hist = run(3, 0.0)
    assert [h["loss"] for h in hist] == pytest.approx([h["loss"] for h in raw_hist])  # the same training
    assert all(torch.equal(one[k], three[k]) for k in one)
    assert not all(torch.allclose(three[k], raw[k]) for k in raw)
    assert len({h["valid_ndcg@10"] for h in hist}) == 1  # what is validated is the frozen average


def test_grm_learns_the_pattern_and_beats_popularity(trained):
    model, tok, split, report = trained
    trie = CodeTrie(tok.item_codes)
    grm = evaluate(model, tok, trie, split.test_history, split.test_target, beam=10, ks=(1, 5))
    pop = Popularity().fit(split.train, N)
    popm = rank_metrics(pop.recommend(split.test_history, 5), split.test_target, (1, 5))
    assert grm["recall@1"] > 0.8
    assert grm["recall@5"] > popm["recall@5"] + 0.5
    assert report.history[-1]["loss"] < report.history[0]["loss"]
    assert report.best_epoch >= 1 and "valid_ndcg@10" in report.best_valid


def test_retrieval_beams_only_return_existing_items(trained):
    model, tok, split, _ = trained
    trie = CodeTrie(tok.item_codes)
    paths, scores = beam_search(model, tok, list(split.test_history[:16]), 12, "retrieval", item_trie=trie)
    finite = np.isfinite(scores)
    assert finite.any()
    assert all(tuple(p) in trie for p in paths[finite].tolist())
    items = recommend_items(model, tok, trie, list(split.test_history[:16]), 10, beam=12)
    assert ((items >= 0) & (items < N)).all()
    assert all(len(set(row)) == len(row) for row in items.tolist())


def test_generation_mode_can_propose_a_pair_no_item_has(trained):
    model, tok, split, _ = trained
    codes = tok.item_codes
    items, content, creative = CodeTrie(codes), CodeTrie(codes[:, :2]), CodeTrie(codes[:, 2:])
    paths, scores = beam_search(
        model, tok, list(split.test_history[:8]), 15, "generation", content_trie=content, creative_trie=creative
    )
    seen = paths[np.isfinite(scores)].tolist()
    assert all(tuple(p[:2]) in content and tuple(p[2:]) in creative for p in seen)
    assert any(tuple(p) not in items for p in seen)  # a content × creative pair absent from the catalog


def test_bad_inputs_to_the_grm(trained):
    model, tok, _, _ = trained
    with pytest.raises(SIDError, match="outside"):
        tok.encode_history(np.array([N + 5]))
    with pytest.raises(SIDError, match="levels"):
        Tokenizer(model.config, _codes()[:, :2])
    with pytest.raises(ValueError, match="item trie"):
        beam_search(model, tok, [np.array([1])], 4, "retrieval")
    # an empty history is a cold start: it still gets valid recommendations
    assert (recommend_items(model, tok, CodeTrie(tok.item_codes), [np.array([], dtype=np.int64)], 5) >= 0).all()


def test_checkpoint_round_trip(trained, tmp_path):
    model, tok, split, _ = trained
    model.save(tmp_path / "grm.pt", {"note": "test"})
    again, extra = GRM.load(tmp_path / "grm.pt")
    h = list(split.test_history[:4])
    a = recommend_items(model, tok, CodeTrie(tok.item_codes), h, 5)
    b = recommend_items(again, tok, CodeTrie(tok.item_codes), h, 5)
    assert np.array_equal(a, b) and extra == {"note": "test"}


def test_label_smoothing_spreads_only_over_the_level_being_written(trained):
    model, tok, split, _ = trained
    model.eval()
    window = [split.train[0][:4]]
    eps = 0.2
    with torch.no_grad():
        got = float(lm_loss(model, tok, window, label_smoothing=eps))
        plain = float(lm_loss(model, tok, window))
        t, lv, pos, ids = (torch.from_numpy(a)[None] for a in tok.encode_history(window[0], max_items=9))
        hidden = model(t[:, :-1], lv[:, :-1], pos[:, :-1], ids[:, :-1])[0]
        c, terms = model.config, []
        for i, (target, level) in enumerate(zip(t[0, 1:].tolist(), lv[0, 1:].tolist(), strict=True)):
            off, size = c.offsets[level], c.level_sizes[level]
            logp = torch.log_softmax(hidden[i] @ model.tok.weight[off : off + size].T, -1)
            terms.append(-(1 - eps) * float(logp[target - off]) - eps * float(logp.mean()))
    assert got == pytest.approx(np.mean(terms), rel=1e-5)
    assert got != pytest.approx(plain, rel=1e-3)


def test_trie_tensor_masks_and_steps_follow_the_code_paths():
    rng = np.random.default_rng(3)
    codes = rng.integers(0, [4, 6, 3], size=(60, 3))
    codes[1] = codes[0]  # a shared full path
    trie = CodeTrie(codes)
    frontier = {(): 0}
    for lv in range(3):
        prefixes = list(frontier)
        nodes = torch.tensor([frontier[p] for p in prefixes] + [-1])  # + one dead beam
        mask = trie.mask(lv, nodes, 7)
        assert torch.isinf(mask[-1]).all()
        nxt = {}
        for row, p in zip(mask[:-1], prefixes, strict=True):
            ok = np.flatnonzero(torch.isfinite(row).numpy())
            assert ok.tolist() == sorted({r[lv] for r in codes.tolist() if tuple(r[:lv]) == p})
            for code in range(7):
                child = int(trie.step(lv, torch.tensor([frontier[p]]), torch.tensor([code]))[0])
                assert (child >= 0) == (code in ok)
                if child >= 0:
                    nxt[(*p, code)] = child
        assert len(set(nxt.values())) == len(nxt)  # distinct prefixes, distinct nodes
        frontier = nxt
    assert set(frontier) == {tuple(r) for r in codes.tolist()}
    with pytest.raises(ValueError, match="more than its 2 logits"):
        trie.mask(0, torch.tensor([0]), 2)


def _assert_cached_beams_equal_full_recompute(model: GRM, tok: Tokenizer, hist: list[np.ndarray]) -> None:
    paths, scores = beam_search(model, tok, hist, 6, "retrieval", item_trie=CodeTrie(tok.item_codes))
    c = model.config
    for b, h in enumerate(hist):
        for j in (0, 3):
            t, lv, pos, ids = (torch.from_numpy(a)[None] for a in tok.encode_history(h))
            total = 0.0
            for level, code in enumerate(paths[b, j]):
                hidden = model(t, lv, pos, ids)[:, -1]
                logp = torch.log_softmax(hidden @ model.tok.weight[c.offsets[level] :][: c.level_sizes[level]].T, -1)
                total += float(logp[0, code].detach())
                t = torch.cat([t, torch.tensor([[c.offsets[level] + code]])], 1)
                lv = torch.cat([lv, torch.tensor([[level]])], 1)
                pos = torch.cat([pos, torch.tensor([[c.max_items + 1]])], 1)
                ids = torch.cat([ids, torch.tensor([[0]])], 1)
            assert total == pytest.approx(float(scores[b, j]), abs=1e-4)


def test_cached_beam_scores_equal_a_full_recompute(trained):
    """The KV-cached decoding must give exactly the log-probability a plain forward pass gives the path."""
    model, tok, split, _ = trained
    _assert_cached_beams_equal_full_recompute(model, tok, list(split.test_history[:5]))


@pytest.fixture(scope="module")
def trained_with_ids():
    torch.manual_seed(0)
    split = leave_one_out(_pattern_data())
    cfg = GRMConfig(
        level_sizes=(8, 5, 3), content_levels=2, max_items=8, n_layer=2, n_head=2, d_model=48, dropout=0.0, item_ids=N
    )
    model, tok = GRM(cfg), Tokenizer(cfg, _codes())
    train_grm(model, tok, split, TrainConfig(epochs=12, batch_size=32, lr=3e-3, patience=20, eval_users=100, beam=10))
    return model, tok, split


def test_item_ids_never_show_an_item_while_its_codes_are_written(trained_with_ids):
    """Teacher forcing feeds the target item's tokens; its id must not reach the positions predicting them."""
    model, tok, _ = trained_with_ids
    L = model.config.levels
    t, lv, pos, ids = (torch.from_numpy(a)[None] for a in tok.encode_history(np.array([3, 4, 5]), max_items=9))
    other = ids.clone()
    other[0, -1] = 17 + 1  # the last item (the one being written) is now another item
    assert not torch.equal(ids, other)
    a, b = model(t, lv, pos, ids), model(t, lv, pos, other)
    writing = slice(0, t.shape[1] - 1)  # every position that predicts one of the last item's codes
    assert torch.allclose(a[:, writing], b[:, writing])
    assert not torch.allclose(a[:, -1], b[:, -1])  # the id does reach what follows the item
    assert int((ids[0] > 0).sum()) == 3 and (ids[0, L::L] > 0).all()
    small = GRMConfig(level_sizes=(8, 5, 3), content_levels=2, item_ids=N - 1)
    with pytest.raises(SIDError, match="embeds 39 item ids but the catalog has 40"):
        Tokenizer(small, _codes())


def test_item_ids_grm_learns_and_its_beam_cache_is_exact(trained_with_ids):
    model, tok, split = trained_with_ids
    grm = evaluate(model, tok, CodeTrie(tok.item_codes), split.test_history, split.test_target, beam=10, ks=(1,))
    assert grm["recall@1"] > 0.8
    _assert_cached_beams_equal_full_recompute(model, tok, list(split.test_history[:5]))


def test_sasrec_learns_the_pattern_and_beats_popularity():
    from recgen.sid.baselines import SASRec

    torch.manual_seed(0)
    split = leave_one_out(_pattern_data())
    sas = SASRec(N, max_len=8, d_model=32, dropout=0.0)
    sas.fit(split, epochs=30, batch_size=32, lr=5e-3, eval_every=10, eval_users=100)
    m = rank_metrics(sas.recommend(split.test_history, 5), split.test_target, (1, 5))
    pop = rank_metrics(Popularity().fit(split.train, N).recommend(split.test_history, 5), split.test_target, (1, 5))
    assert m["recall@5"] > pop["recall@5"] + 0.5


def test_transitions_rank_what_followed_the_last_item_then_popularity():
    from recgen.errors import CatalogError
    from recgen.sid.baselines import Transitions

    train = tuple(np.array(s) for s in ([0, 1, 2], [0, 1, 3], [0, 2], [4, 1, 2], [0, 5], [3, 4], [4]))
    # followers: 0→1 ×2, 0→2, 0→5; 1→2 ×2, 1→3; 3→4; 4→1.  Popularity: 0 ×4, 1 2 4 ×3, 3 ×2, 5 ×1
    tr = Transitions().fit(train, 6)
    assert tr.recommend((np.array([4, 1]),), 3).tolist() == [[2, 3, 0]]  # 2 twice, 3 once, then the most popular
    assert tr.recommend((np.array([0]),), 3).tolist() == [[1, 2, 5]]  # the 2–5 tie goes to the more popular 2
    assert tr.recommend((np.array([0, 1]),), 3, exclude_seen=True).tolist() == [[2, 3, 4]]
    assert tr.recommend((np.array([5]),), 1).tolist() == [[0]]  # nothing ever followed 5: popularity
    with pytest.raises(CatalogError, match="last item"):
        tr.recommend((np.array([0]), np.array([], np.int64)), 3)

    split = leave_one_out(_pattern_data())  # next = previous + 1: one follower per item
    m = rank_metrics(Transitions().fit(split.train, N).recommend(split.test_history, 1), split.test_target, (1,))
    assert m["recall@1"] == 1.0


def test_constrained_grm_normalises_over_the_codes_the_trie_allows():
    """Training loss and beam scores of a `constrained` model are a distribution over existing items only."""
    rng = np.random.default_rng(5)
    codes = np.unique(rng.integers(0, [4, 6, 5], size=(30, 3)), axis=0)  # sparse: most prefixes lack codes
    cfg = GRMConfig(level_sizes=(4, 6, 5), content_levels=3, max_items=8, n_layer=1, n_head=2, d_model=16)
    torch.manual_seed(0)
    plain = GRM(cfg).eval()
    for p in plain.parameters():
        p.data.mul_(5)  # far from uniform, so normalising over fewer codes changes the numbers
    constrained = GRM(GRMConfig(**{**cfg.__dict__, "constrained": True})).eval()
    constrained.load_state_dict(plain.state_dict())
    tok = Tokenizer(cfg, codes)
    history = np.array([0, 3, 7, 2])
    with torch.no_grad():
        t, lv, pos, ids = (torch.from_numpy(a)[None] for a in tok.encode_history(history, max_items=9))
        hidden = plain(t[:, :-1], lv[:, :-1], pos[:, :-1], ids[:, :-1])[0]
        terms = []
        for i, (target, level) in enumerate(zip(t[0, 1:].tolist(), lv[0, 1:].tolist(), strict=True)):
            off, size = cfg.offsets[level], cfg.level_sizes[level]
            item = codes[history[i // cfg.levels]]
            prefix = codes[(codes[:, :level] == item[:level]).all(1)]  # brute force: the codes after the prefix
            allowed = np.unique(prefix[:, level])
            logits = hidden[i] @ plain.tok.weight[off : off + size].T
            terms.append(-float(torch.log_softmax(logits[allowed], -1)[allowed.tolist().index(target - off)]))
        got = float(lm_loss(constrained, tok, [history]))
        assert got == pytest.approx(np.mean(terms), rel=1e-5)
        assert got < float(lm_loss(plain, tok, [history])) - 0.1
    trie = CodeTrie(codes)
    _, s_con = beam_search(constrained, tok, [history[:3]], len(codes), "retrieval", item_trie=trie)
    _, s_plain = beam_search(plain, tok, [history[:3]], len(codes), "retrieval", item_trie=trie)
    assert np.exp(s_con[0]).sum() == pytest.approx(1.0, abs=1e-5)
    assert np.exp(s_plain[0]).sum() < 0.9
    with pytest.raises(ValueError, match="label smoothing"):
        lm_loss(constrained, tok, [history], label_smoothing=0.1)


def test_score_paths_gives_the_beam_search_scores(trained):
    """Teacher-forced scoring of given paths must agree with the scores beam search gave the same paths."""
    model, tok, split, _ = trained
    hist = list(split.test_history[:6])
    trie = CodeTrie(tok.item_codes)
    paths, scores = beam_search(model, tok, hist, 7, "retrieval", item_trie=trie)
    shuffled = paths[:, ::-1].copy()
    shuffled[0, 0] = -1  # a padding row scores −inf
    got = score_paths(model, tok, hist, shuffled)
    assert got[0, 0] == float("-inf")
    assert np.allclose(got[:, 1:], scores[:, ::-1][:, 1:], atol=1e-4)
    constrained = GRM(GRMConfig(**{**model.config.__dict__, "constrained": True})).eval()
    constrained.load_state_dict(model.state_dict())
    paths, scores = beam_search(constrained, tok, hist, 7, "retrieval", item_trie=trie)
    assert np.allclose(score_paths(constrained, tok, hist, paths, trie), scores, atol=1e-4)
    with pytest.raises(ValueError, match="item trie"):
        score_paths(constrained, tok, hist, paths)


def _without(rows: np.ndarray, histories: list[np.ndarray], k: int) -> np.ndarray:
    """Each ranked row with its history's items taken out, cut to k."""
    return np.stack([[i for i in row if i not in set(h.tolist())][:k] for row, h in zip(rows, histories, strict=True)])


def test_every_model_can_leave_out_what_the_user_already_has(trained):
    model, tok, split, _ = trained
    trie = CodeTrie(tok.item_codes)
    # histories that reach far back, so their own items rank high under the pattern's neighbours
    hist = [np.r_[h, (h[-1] + 1) % N, (h[-1] + 2) % N] for h in split.test_history[:30]]
    full = recommend_items(model, tok, trie, hist, N, beam=N)
    seen = np.array([np.isin(r[:5], h).any() for r, h in zip(full, hist, strict=True)])
    assert seen.mean() > 0.5  # without the rule, own items do come up
    unseen = recommend_items(model, tok, trie, hist, 5, beam=N, exclude=hist)
    assert np.array_equal(unseen, _without(full, hist, 5))  # the same order, the seen items skipped
    narrow = recommend_items(model, tok, trie, hist, 5, beam=5, exclude=hist)  # own items fill the beam
    assert (narrow >= 0).all() and not any(np.isin(r, h).any() for r, h in zip(narrow, hist, strict=True))
    with pytest.raises(ValueError, match="one id array per history"):
        recommend_items(model, tok, trie, hist, 5, exclude=hist[:2])

    pop = Popularity()
    pop.counts = np.array([5, 4, 3, 2, 1], np.float32)
    assert pop.recommend((np.array([0, 2]), np.array([4])), 3, exclude_seen=True).tolist() == [[1, 3, 4], [0, 1, 2]]
    assert pop.recommend((np.array([0, 2]),), 3).tolist() == [[0, 1, 2]]

    from recgen.sid.baselines import SASRec

    torch.manual_seed(0)
    sas = SASRec(N, max_len=8, d_model=16, dropout=0.0)
    ranked = sas.recommend(tuple(hist), N)
    assert np.array_equal(sas.recommend(tuple(hist), 5, exclude_seen=True), _without(ranked, hist, 5))
