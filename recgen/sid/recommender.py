"""The GRM as a product: build item codes for an interaction data set, train and save a recommender, load
it and answer for a user. The CLI commands `recgen sid fit / grm train / grm eval / grm recommend` are
thin wrappers around these functions."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from recgen.errors import CatalogError, SIDError
from recgen.schemas import DSID
from recgen.sid.baselines import Popularity
from recgen.sid.beam import CodeTrie, beam_search, recommend_items
from recgen.sid.data import (
    Interactions,
    Split,
    collision_rate,
    disambiguate,
    leave_one_out,
    load_code_table,
    load_interactions,
    pair_catalog,
)
from recgen.sid.encoders import CollaborativeEncoder
from recgen.sid.grm import GRM, GRMConfig, Tokenizer
from recgen.sid.grm_train import TrainConfig, TrainReport, train_grm
from recgen.sid.metrics import rank_metrics
from recgen.sid.rqkmeans import RQKMeans
from recgen.sid.transitions import TransitionScorer, fit_beta, rerank_items

CodeSource = Literal["shared", "ours", "text"]
CODE_SOURCES: tuple[str, ...] = ("shared", "ours", "text")


def dataset_paths(data_dir: Path, codes: CodeSource, interactions: Path | None = None) -> tuple[Path, Path | None]:
    """Interactions file (`interactions` when given) and, for precomputed codes, the code table of the same
    id mapping (the shared codes come from the catalog's D-SID space, not from a file)."""
    base = Path(data_dir) / "amazon-beauty"
    if codes == "text":
        return Path(interactions or base / "tiger-repro" / "inter.json"), base / "tiger-repro" / "index_rqkmeans.json"
    return Path(interactions or base / "Beauty.inter.json"), None


def fit_item_codes(
    data: Interactions,
    split: Split,
    codes: CodeSource,
    code_path: Path | None,
    levels: tuple[int, ...] = (256, 256, 256),
    seed: int = 0,
) -> tuple[np.ndarray, dict]:
    """Content codes per item: precomputed text-derived ones, or RQ-KMeans over collaborative embeddings
    learned from the training split only (never from validation or test items). The shared codes are the
    catalog space's (`shared_item_codes`)."""
    if codes == "shared":
        raise SIDError("the shared codes are the catalog space's: use shared_item_codes(data_dir, cache_dir)")
    if codes == "text":
        if code_path is None:
            raise CatalogError("text-derived codes need their code table")
        table = load_code_table(code_path, data.n_items)
        report = {"collision_rate": collision_rate(table), "source": str(code_path)}
    else:
        emb = CollaborativeEncoder(dim=64).fit(split.train, data.n_items)
        rq = RQKMeans(levels, seed=seed).fit(emb)
        table = rq.encode(emb)
        report = {**rq.report(emb), "source": "collaborative PPMI-SVD embeddings + RQ-KMeans"}
    return disambiguate(table) if report["collision_rate"] > 0 else table, report


def shared_item_codes(data_dir: Path, cache_dir: Path, n_items: int, on_status=None) -> tuple[np.ndarray, dict]:
    """The catalog D-SID space's content codes (the ones the agents decode and the cache is keyed by), one
    row per item id of the interaction data."""
    from recgen.sid.semantics import load_sid_space

    space = load_sid_space(data_dir, cache_dir, on_status=on_status)
    ids = [p.id for p in space.catalog.products]
    if ids[:n_items] != [str(i) for i in range(n_items)]:
        raise CatalogError(f"the catalog's ids are not the interaction data's 0..{n_items - 1}")
    report = {**space.report()["content"], "source": "the catalog's D-SID space (text of title, categories, brand)",
              "space": space.name}  # fmt: skip
    return np.asarray(space.item_codes[:n_items]), report


def item_codes_for(codes: CodeSource, data: Interactions, data_dir: Path, cache_dir: Path, code_path: Path | None,
                   on_status=None) -> tuple[np.ndarray, dict]:  # fmt: skip
    """The content code table a GRM trains on: the catalog space's, or codes of its own."""
    if codes == "shared":
        return shared_item_codes(data_dir, cache_dir, data.n_items, on_status)
    return fit_item_codes(data, leave_one_out(data), codes, code_path)


@dataclass
class Recommender:
    model: GRM
    tok: Tokenizer
    data: Interactions  # sequences over catalog entries (items, or (item, creative) pairs)
    info: dict
    item_of_entry: np.ndarray  # the item id of every catalog entry
    transitions: TransitionScorer | None = None  # transition-aware ranking of retrieval (None: the plain beam)

    @functools.cached_property
    def trie(self) -> CodeTrie:
        return CodeTrie(self.tok.item_codes)

    def history(self, user: str) -> np.ndarray:
        return self.data.sequences[self.data.index_of(user)]

    def recommend(
        self, user: str, k: int = 10, beam: int = 20, exclude_seen: bool = True
    ) -> list[tuple[int, tuple[int, ...]]]:
        """Top-k existing items for a user's whole history, each with its semantic ID; by default none of
        the items the user already has (in any creative variant)."""
        hist = self.history(user)
        if hist.size == 0:  # a new user: the most popular items (`cold` says so to callers)
            return [(int(self.item_of_entry[e]), tuple(int(c) for c in self.tok.item_codes[e]))
                    for e in self.popular_entries(k, items=True)]  # fmt: skip
        exclude = [np.flatnonzero(np.isin(self.item_of_entry, self.item_of_entry[hist]))] if exclude_seen else None
        entries = self.rank([hist], k, beam, exclude)[0]
        return [(int(self.item_of_entry[e]), tuple(int(c) for c in self.tok.item_codes[e])) for e in entries if e >= 0]

    def rank(
        self, histories: list[np.ndarray], k: int, beam: int = 20, exclude: list[np.ndarray] | None = None,
        plain: bool = False,
    ) -> np.ndarray:  # fmt: skip
        """Top-k catalog entries per history: the beam re-scored with the transition chain when this
        recommender has one (`plain`: the beam alone, as `recgen grm eval` also reports)."""
        if self.transitions is None or self.transitions.beta == 0 or plain:
            return recommend_items(self.model, self.tok, self.trie, histories, k, beam=beam, exclude=exclude)
        return rerank_items(self.model, self.tok, self.trie, self.transitions, histories, k, beam, exclude=exclude)

    @property
    def space_name(self) -> str | None:
        """The catalog D-SID space this GRM's content codes are (None: codes of its own)."""
        return self.info.get("space") if self.info.get("codes") == "shared" else None

    def dsid(self, path: tuple[int, ...]) -> DSID:
        """A generated path as a D-SID: the catalog's content codes when the GRM was trained on them (else
        its own, marked 'grm'), the shared creative codes."""
        lc = self.model.config.content_levels
        space = "catalog" if self.space_name else "grm"
        return DSID(content=tuple(map(int, path[:lc])), creative=tuple(map(int, path[lc:])), content_space=space)

    def item_for_content(self, content: tuple[int, ...]) -> int:
        """The item whose content codes are `content` (unique thanks to the disambiguation token)."""
        lc = self.model.config.content_levels
        hit = np.flatnonzero((self.tok.item_codes[:, :lc] == np.asarray(content)).all(1))
        if hit.size == 0:
            raise SIDError(f"no item has content codes {content}")
        return int(self.item_of_entry[hit[0]])

    def generation_tries(self, content_items: frozenset[int] | None) -> tuple[CodeTrie, CodeTrie]:
        """The valid content and creative paths of generation mode, built once per item set (a server asks
        for the same set on every request)."""
        cache = self.__dict__.setdefault("_generation_tries", {})
        if content_items not in cache:
            c, codes = self.model.config, self.tok.item_codes
            rows = (
                np.arange(len(codes))
                if content_items is None
                else np.flatnonzero(np.isin(self.item_of_entry, sorted(content_items)))
            )
            if rows.size == 0:
                raise SIDError("none of the given items is in this recommender's catalog")
            cache[content_items] = CodeTrie(codes[rows, : c.content_levels]), CodeTrie(codes[:, c.content_levels :])
        return cache[content_items]

    def cold(self, user: str) -> bool:
        """A user without history: what they are offered is the catalog's most popular, not theirs."""
        return self.history(user).size == 0

    @functools.cached_property
    def _entry_counts(self) -> np.ndarray:
        seqs = [s for s in self.data.sequences if s.size]
        return np.bincount(np.concatenate(seqs), minlength=len(self.item_of_entry))

    def popular_entries(self, k: int, content_items: set[int] | None = None, items: bool = False) -> list[int]:
        """The k catalog entries seen most in the training sequences (ties by id), among `content_items`'
        entries when given; `items`: one entry per item (its most seen creative variant)."""
        counts = self._entry_counts
        out, seen = [], set()
        for e in np.argsort(-counts, kind="stable"):
            item = int(self.item_of_entry[e])
            if (content_items is not None and item not in content_items) or (items and item in seen):
                continue
            out.append(int(e))
            seen.add(item)
            if len(out) == k:
                break
        return out

    def popular_paths(self, k: int, content_items: set[int] | None = None) -> list[tuple[tuple[int, ...], float, bool]]:
        """Generation mode's answer for a user without history: the most seen D-SIDs, each with the log of
        its share of the training interactions (not a model probability) and `exists` True."""
        total = max(1, int(self._entry_counts.sum()))
        return [(tuple(int(c) for c in self.tok.item_codes[e]), float(np.log(max(1, self._entry_counts[e]) / total)),
                 True) for e in self.popular_entries(k, content_items)]  # fmt: skip

    def generate(
        self, user: str, k: int = 10, beam: int = 20, content_items: set[int] | None = None,
        history: np.ndarray | None = None,
    ) -> list[tuple[tuple[int, ...], float, bool]]:  # fmt: skip
        """Generation mode: the top D-SID paths, any valid content path × any valid creative path; each with
        its log-probability and whether an existing entry has exactly that D-SID. `content_items` limits
        the content side to those items (e.g. the ones with product text to make a video from); `history`
        replaces the user's stored history (e.g. a replay up to some point)."""
        hist = self.history(user) if history is None else np.asarray(history)
        return self.generate_many([hist], k, beam, content_items)[0]

    def generate_many(
        self, histories: list[np.ndarray], k: int = 10, beam: int = 20, content_items: set[int] | None = None
    ) -> list[list[tuple[tuple[int, ...], float, bool]]]:
        """`generate` for several histories in one beam search (a server batches the requests that arrive
        together: one search of B histories costs far less than B searches of one)."""
        c = self.model.config
        if c.content_levels == c.levels:
            raise SIDError("this GRM has no creative levels; train it with creative codes (--creative)")
        warm = [b for b, h in enumerate(histories) if len(h)]
        out: list[list] = [self.popular_paths(k, content_items) if not len(h) else [] for h in histories]
        if not warm:
            return out
        content, creative = self.generation_tries(None if content_items is None else frozenset(content_items))
        paths, scores = beam_search(
            self.model, self.tok, [histories[b] for b in warm], max(beam, k), "generation", content_trie=content,
            creative_trie=creative,
        )  # fmt: skip
        for r, b in enumerate(warm):
            for j in np.argsort(-scores[r])[:k]:
                if np.isfinite(scores[r, j]):
                    p = tuple(int(x) for x in paths[r, j])
                    out[b].append((p, float(scores[r, j]), p in self.trie))
        return out


def check_space(rec: Recommender, space) -> None:
    """A GRM trained on the catalog's codes must be of this catalog's space: codes of another fit (other
    data, levels or encoder) would name other products."""
    if rec.space_name is not None and rec.space_name != space.name:
        raise SIDError(
            f"this GRM predicts the content codes of D-SID space {rec.space_name}, but the catalog's space is "
            f"{space.name}; retrain it with `recgen grm train --creative`"
        )


def train_recommender(
    data_dir: Path,
    out: Path,
    codes: CodeSource = "shared",
    users: int = 0,
    model_cfg: dict | None = None,
    train_cfg: TrainConfig | None = None,
    on_epoch: Callable[[int, dict], None] | None = None,
    creative: bool = False,
    cache_dir: Path | None = None,
    clicks: list[tuple[str, int, tuple[int, ...]]] | None = None,
    transitions: bool = True,
    on_status: Callable[[str], None] | None = None,
    interactions: Path | None = None,
) -> tuple[Recommender, TrainReport]:
    """Train a GRM on Beauty. With `creative`, every interaction also carries creative codes (synthetic
    exposures in the sample D-SID space's creative quantizer) and the GRM predicts [content ; creative];
    `clicks` (user, item, creative codes), from the feedback store, join their users' sequences as their
    latest interactions with the creative that was clicked. With `transitions`, retrieval re-scores the
    beam with the training sequences' item chain, its weight β chosen on the validation users
    (`sid/transitions.py`; β = 0 when the chain does not help there). `interactions`: another file of its
    item ids (e.g. with new users without history)."""
    if codes not in CODE_SOURCES:
        raise SIDError(f"codes is one of {', '.join(CODE_SOURCES)}; got {codes!r}")
    inter_path, code_path = dataset_paths(data_dir, codes, interactions)
    data = load_interactions(inter_path)
    if users:
        data = data.head(users)
    cache_dir = cache_dir or Path.home() / ".cache" / "recgen"
    table, sid_report = item_codes_for(codes, data, data_dir, cache_dir, code_path, on_status)
    content_levels = table.shape[1]
    item_of_entry = np.arange(data.n_items)
    if creative:
        from recgen.sid.creative import synthetic_exposures, with_feedback
        from recgen.sid.semantics import load_sid_space

        space = load_sid_space(data_dir, cache_dir)
        exposures = synthetic_exposures(data.sequences, space.creative_codes, seed=(train_cfg or TrainConfig()).seed)
        if clicks:
            seqs, exposures = with_feedback(data.sequences, exposures, data.users, clicks)
            data = Interactions(data.users, seqs, data.n_items)
        data, table, item_of_entry = pair_catalog(data, table, exposures)
    split = leave_one_out(data)
    sizes = tuple(int(table[:, lv].max()) + 1 for lv in range(table.shape[1]))
    cfg = GRMConfig(level_sizes=sizes, content_levels=content_levels, **(model_cfg or {}))
    torch.manual_seed((train_cfg or TrainConfig()).seed)
    model, tok = GRM(cfg), Tokenizer(cfg, table)
    report = train_grm(model, tok, split, train_cfg or TrainConfig(), on_epoch=on_epoch)
    if transitions and on_status:
        on_status(f"choosing the item chain's weight on {len(split.valid_target)} validation users")
    scorer = fit_transitions(model, tok, split, data.n_items) if transitions else None
    info = {
        "codes": codes,
        "space": sid_report.get("space"),
        "users": users,
        "creative": creative,
        "feedback_clicks": len(clicks or []),
        "interactions": str(inter_path),
        "sid_report": sid_report,
        "train": _trained(report),
        "transitions": None
        if scorer is None
        else {"beta": scorer.beta, "weights": list(scorer.weights), "candidates": scorer.candidates},  # fmt: skip
    }
    model.save(
        out,
        {
            "item_codes": table,
            "item_of_entry": item_of_entry,
            "users": list(data.users),
            "sequences": [s.astype(np.int32) for s in data.sequences],
            "info": info,
            "transitions": None if scorer is None else scorer.state(),
        },
    )
    return Recommender(model, tok, data, info, item_of_entry, scorer), report


def _trained(report: TrainReport) -> dict:
    return {"epochs": report.epochs_run, "best_epoch": report.best_epoch, "seconds": report.seconds,
            "best_valid": report.best_valid, "ema": report.ema}  # fmt: skip


def fit_transitions(model: GRM, tok: Tokenizer, split: Split, n_entries: int) -> TransitionScorer:
    """The item chain of the training sequences, its β chosen on every validation user's held-out item."""
    scorer = TransitionScorer.fit(split.train, n_entries)
    fit_beta(model, tok, CodeTrie(tok.item_codes), scorer, list(split.valid_history), split.valid_target)
    return scorer


def load_recommender(path: Path) -> Recommender:
    model, extra = GRM.load(path)
    if not {"item_codes", "sequences", "users", "item_of_entry"} <= set(extra):
        raise CatalogError(f"{path} is a GRM checkpoint without its catalog; retrain with `recgen grm train`")
    table = np.asarray(extra["item_codes"])
    data = Interactions(tuple(extra["users"]), tuple(np.asarray(s, np.int64) for s in extra["sequences"]), len(table))
    chain = extra.get("transitions")
    return Recommender(
        model, Tokenizer(model.config, table), data, extra.get("info", {}), np.asarray(extra["item_of_entry"]),
        None if chain is None else TransitionScorer.from_state(chain),
    )  # fmt: skip


def evaluate_recommender(rec: Recommender, beam: int = 20, exclude_seen: bool = False) -> dict[str, dict[str, float]]:
    """Test-split metrics of the GRM (as it recommends, and its beam alone when it re-scores the beam with
    the item chain) and of popularity, by the same code; `exclude_seen`: for all, the user's own history
    items never count as recommendations."""
    split = leave_one_out(rec.data)
    pop = Popularity().fit(split.train, rec.data.n_items)
    hist, tgt = list(split.test_history), split.test_target
    exclude = hist if exclude_seen else None
    out = {"GRM": rank_metrics(rec.rank(hist, 10, beam, exclude), tgt)}
    if rec.transitions is not None and rec.transitions.beta > 0:
        out["GRM beam alone"] = rank_metrics(rec.rank(hist, 10, beam, exclude, plain=True), tgt)
    out["Popularity"] = rank_metrics(pop.recommend(split.test_history, 10, exclude_seen=exclude_seen), tgt)
    return out
