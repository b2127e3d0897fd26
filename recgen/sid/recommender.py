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
from recgen.sid.baselines import Popularity
from recgen.sid.beam import CodeTrie, beam_search, recommend_items
from recgen.sid.data import Interactions, Split, disambiguate, leave_one_out, load_code_table, load_interactions
from recgen.sid.encoders import CollaborativeEncoder
from recgen.sid.grm import GRM, GRMConfig, Tokenizer
from recgen.sid.grm_train import TrainConfig, TrainReport, evaluate, train_grm
from recgen.sid.metrics import rank_metrics
from recgen.sid.rqkmeans import RQKMeans

CodeSource = Literal["ours", "text"]


def dataset_paths(data_dir: Path, codes: CodeSource) -> tuple[Path, Path | None]:
    """Interactions file and, for precomputed codes, the code table of the same id mapping."""
    base = Path(data_dir) / "amazon-beauty"
    if codes == "text":
        return base / "tiger-repro" / "inter.json", base / "tiger-repro" / "index_rqkmeans.json"
    return base / "Beauty.inter.json", None


def fit_item_codes(
    data: Interactions,
    split: Split,
    codes: CodeSource,
    code_path: Path | None,
    levels: tuple[int, ...] = (256, 256, 256),
    seed: int = 0,
) -> tuple[np.ndarray, dict]:
    """Content codes per item: precomputed text-derived ones, or RQ-KMeans over collaborative embeddings
    learned from the training split only (never from validation or test items)."""
    if codes == "text":
        if code_path is None:
            raise CatalogError("text-derived codes need their code table")
        table = load_code_table(code_path, data.n_items)
        _, counts = np.unique(table, axis=0, return_counts=True)
        report = {"collision_rate": float(counts[counts > 1].sum() / len(table)), "source": str(code_path)}
    else:
        emb = CollaborativeEncoder(dim=64).fit(split.train, data.n_items)
        rq = RQKMeans(levels, seed=seed).fit(emb)
        table = rq.encode(emb)
        report = {**rq.report(emb), "source": "collaborative PPMI-SVD embeddings + RQ-KMeans"}
    return disambiguate(table) if report["collision_rate"] > 0 else table, report


@dataclass
class Recommender:
    model: GRM
    tok: Tokenizer
    data: Interactions
    info: dict

    @functools.cached_property
    def trie(self) -> CodeTrie:
        return CodeTrie(self.tok.item_codes)

    def history(self, user: str) -> np.ndarray:
        return self.data.sequences[self.data.index_of(user)]

    def recommend(self, user: str, k: int = 10, beam: int = 20) -> list[tuple[int, tuple[int, ...]]]:
        """Top-k existing items for a user's whole history, each with its semantic ID."""
        hist = self.history(user)
        if hist.size == 0:
            raise CatalogError(f"user {user!r} has an empty history")
        items = recommend_items(self.model, self.tok, self.trie, [hist], k, beam=max(beam, k))[0]
        return [(int(i), tuple(int(c) for c in self.tok.item_codes[i])) for i in items if i >= 0]

    def generate(self, user: str, k: int = 10, beam: int = 20) -> list[tuple[tuple[int, ...], float, bool]]:
        """Generation mode: the top semantic-ID paths, any valid content path × any valid creative path;
        each with its log-probability and whether an existing item has exactly that ID."""
        c = self.model.config
        codes = self.tok.item_codes
        content, creative = CodeTrie(codes[:, : c.content_levels]), CodeTrie(codes[:, c.content_levels :])
        if c.content_levels == c.levels:
            raise SIDError("this GRM has no creative levels; generation mode needs content and creative codes")
        paths, scores = beam_search(
            self.model,
            self.tok,
            [self.history(user)],
            max(beam, k),
            "generation",
            content_trie=content,
            creative_trie=creative,
        )
        out = []
        for j in np.argsort(-scores[0])[:k]:
            if np.isfinite(scores[0, j]):
                p = tuple(int(x) for x in paths[0, j])
                out.append((p, float(scores[0, j]), p in self.trie))
        return out


def train_recommender(
    data_dir: Path,
    out: Path,
    codes: CodeSource = "ours",
    users: int = 0,
    model_cfg: dict | None = None,
    train_cfg: TrainConfig | None = None,
    on_epoch: Callable[[int, dict], None] | None = None,
) -> tuple[Recommender, TrainReport]:
    inter_path, code_path = dataset_paths(data_dir, codes)
    data = load_interactions(inter_path)
    if users:
        data = data.head(users)
    split = leave_one_out(data)
    table, sid_report = fit_item_codes(data, split, codes, code_path)
    sizes = tuple(int(table[:, lv].max()) + 1 for lv in range(table.shape[1]))
    cfg = GRMConfig(level_sizes=sizes, content_levels=len(sizes), **(model_cfg or {}))
    torch.manual_seed((train_cfg or TrainConfig()).seed)
    model, tok = GRM(cfg), Tokenizer(cfg, table)
    report = train_grm(model, tok, split, train_cfg or TrainConfig(), on_epoch=on_epoch)
    info = {
        "codes": codes,
        "users": users,
        "interactions": str(inter_path),
        "sid_report": sid_report,
        "train": {
            "epochs": report.epochs_run,
            "best_epoch": report.best_epoch,
            "seconds": report.seconds,
            "best_valid": report.best_valid,
        },
    }
    model.save(out, {"item_codes": table, "info": info})
    return Recommender(model, tok, data, info), report


def load_recommender(path: Path) -> Recommender:
    model, extra = GRM.load(path)
    info = extra.get("info", {})
    if "item_codes" not in extra or "interactions" not in info:
        raise CatalogError(f"{path} is a GRM checkpoint without its item codes; retrain with `recgen grm train`")
    data = load_interactions(Path(info["interactions"]))
    if info.get("users"):
        data = data.head(info["users"])
    return Recommender(model, Tokenizer(model.config, np.asarray(extra["item_codes"])), data, info)


def evaluate_recommender(rec: Recommender, beam: int = 20) -> dict[str, dict[str, float]]:
    """Test-split metrics of the GRM and of popularity, by the same code."""
    split = leave_one_out(rec.data)
    pop = Popularity().fit(split.train, rec.data.n_items)
    return {
        "GRM": evaluate(rec.model, rec.tok, rec.trie, split.test_history, split.test_target, beam=beam),
        "Popularity": rank_metrics(pop.recommend(split.test_history, 10), split.test_target),
    }
