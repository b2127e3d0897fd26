"""Interaction data: validated loading, leave-one-out split, and precomputed semantic-ID tables.

The Beauty files map user ids to chronological item-id lists. The split is the standard one of TIGER and
SASRec: per user the last item is the test target, the second-to-last the validation target, the rest is
training history; ranking is over all items.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recgen.errors import CatalogError, SIDError


@dataclass(frozen=True)
class Interactions:
    users: tuple[str, ...]
    sequences: tuple[np.ndarray, ...]  # chronological item ids per user
    n_items: int

    def __len__(self) -> int:
        return len(self.users)

    @functools.cached_property
    def _positions(self) -> dict[str, int]:
        return {u: i for i, u in reversed(list(enumerate(self.users)))}  # the first of a repeated id, as before

    def index_of(self, user: str) -> int:
        """The user's row (a dict lookup: a server asks on every request)."""
        try:
            return self._positions[str(user)]
        except KeyError:
            raise CatalogError(f"unknown user {user!r}; user ids run like {', '.join(self.users[:3])}, …") from None

    def head(self, n_users: int) -> Interactions:
        """A small deterministic slice (the first users), keeping the item id space."""
        return Interactions(self.users[:n_users], self.sequences[:n_users], self.n_items)


@dataclass(frozen=True)
class Split:
    """Leave-one-out: train histories, and (history, target) pairs for validation and test."""

    train: tuple[np.ndarray, ...]
    valid_history: tuple[np.ndarray, ...]
    valid_target: np.ndarray
    test_history: tuple[np.ndarray, ...]
    test_target: np.ndarray
    n_items: int


def _read_json(path: Path) -> object:
    path = Path(path)
    if not path.is_file():
        raise CatalogError(f"{path} not found; set RECGEN_DATA_DIR to the folder holding amazon-beauty/")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise CatalogError(f"{path} is not valid JSON (line {e.lineno}, column {e.colno}): {e.msg}") from e


def load_interactions(path: Path, n_items: int | None = None) -> Interactions:
    """Read {user: [item, ...]} and check every sequence: a list of integer ids within 0..n_items-1. An
    empty list is a new user without history (cold start: they learn nothing into a model and are offered
    the catalog's most popular D-SIDs, said as such); at least one user needs a history."""
    raw = _read_json(path)
    if not isinstance(raw, dict) or not raw:
        raise CatalogError(f"{path} must map user ids to lists of item ids")
    users, seqs = [], []
    top = -1
    for user, items in raw.items():
        if not isinstance(items, list):
            raise CatalogError(f"{path}: user {user!r} has a malformed sequence (not a list of item ids)")
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in items):
            raise CatalogError(f"{path}: user {user!r} has a non-integer item id")
        arr = np.asarray(items, dtype=np.int64)
        if arr.size and arr.min() < 0:
            raise CatalogError(f"{path}: user {user!r} has a negative item id {int(arr.min())}")
        top = max(top, int(arr.max())) if arr.size else top
        users.append(str(user))
        seqs.append(arr)
    if top < 0:
        raise CatalogError(f"{path}: no user has a history (every sequence is empty)")
    n = top + 1 if n_items is None else n_items
    if top >= n:
        bad = next(u for u, s in zip(users, seqs, strict=True) if s.size and s.max() >= n)
        raise CatalogError(f"{path}: user {bad!r} has item id {top} outside 0..{n - 1}")
    return Interactions(tuple(users), tuple(seqs), n)


def leave_one_out(data: Interactions) -> Split:
    """Users with fewer than 3 interactions only contribute training history; users without any, nothing."""
    train, vh, vt, th, tt = [], [], [], [], []
    for s in data.sequences:
        if not len(s):
            continue  # a new user: nothing to learn from or to test on
        if len(s) < 3:
            train.append(s)
            continue
        train.append(s[:-2])
        vh.append(s[:-2])
        vt.append(s[-2])
        th.append(s[:-1])
        tt.append(s[-1])
    return Split(tuple(train), tuple(vh), np.asarray(vt, np.int64), tuple(th), np.asarray(tt, np.int64), data.n_items)


def load_code_table(path: Path, n_items: int) -> np.ndarray:
    """Precomputed semantic IDs {item: [c1, c2, ...]} → (n_items, levels) int array; every item needs one.
    Codes are integers or LETTER's tokens ("<a_183>" → 183)."""
    raw = _read_json(path)
    if not isinstance(raw, dict) or not raw:
        raise CatalogError(f"{path} must map item ids to code lists")
    levels = len(next(iter(raw.values())))
    table = np.full((n_items, levels), -1, dtype=np.int64)
    for key, codes in raw.items():
        try:
            i = int(key)
        except ValueError:
            raise CatalogError(f"{path}: item id {key!r} is not an integer") from None
        if not 0 <= i < n_items:
            raise CatalogError(f"{path}: item id {i} outside 0..{n_items - 1}")
        if not isinstance(codes, list) or len(codes) != levels:
            raise CatalogError(f"{path}: item {i} needs {levels} codes, got {codes!r}")
        table[i] = [_code(c, path, i) for c in codes]
    missing = np.flatnonzero(table[:, 0] < 0)
    if missing.size:
        raise CatalogError(f"{path}: {missing.size} items have no code (e.g. item {int(missing[0])})")
    return table


_TOKEN = re.compile(r"<[a-z]_(\d+)>")


def _code(c: object, path: Path, item: int) -> int:
    if isinstance(c, int) and not isinstance(c, bool) and c >= 0:
        return c
    m = _TOKEN.fullmatch(c) if isinstance(c, str) else None
    if m is None:
        raise CatalogError(f"{path}: item {item} has code {c!r}; expected an integer or a token like '<a_12>'")
    return int(m.group(1))


def collision_rate(codes: np.ndarray) -> float:
    """Share of items whose full code some other item also has."""
    if len(codes) == 0:
        return 0.0
    _, counts = np.unique(np.asarray(codes), axis=0, return_counts=True)
    return float(counts[counts > 1].sum() / len(codes))


def disambiguate(codes: np.ndarray, priority: np.ndarray | None = None, item_tokens: bool = False) -> np.ndarray:
    """Append a token that numbers items sharing a full code (0, 1, 2, …), as TIGER does for retrieval.

    With `priority` (e.g. training popularity) each group is numbered from its highest-priority item, so the
    token means the same thing in every group ("the most popular one") instead of an arbitrary item order.
    With `item_tokens` every item in a collision group gets a token of its own (1, 2, … across the catalog;
    0 for items whose code is unique): a shared "n-th member" token means nothing about the item, while an
    own token is an item embedding the model can learn for exactly the items the codes cannot tell apart.
    """
    codes = np.asarray(codes)
    keys = [np.arange(len(codes))]
    if priority is not None:
        if len(priority) != len(codes):
            raise SIDError(f"priority has {len(priority)} entries for {len(codes)} items")
        keys.append(-np.asarray(priority, dtype=np.float64))
    order = np.lexsort([*keys, *codes.T[::-1]])
    sorted_codes = codes[order]
    new_group = np.ones(len(codes), dtype=bool)
    new_group[1:] = (sorted_codes[1:] != sorted_codes[:-1]).any(axis=1)
    starts = np.maximum.accumulate(np.where(new_group, np.arange(len(codes)), 0))
    token = np.arange(len(codes)) - starts  # rank inside the group, in sorted order
    if item_tokens:
        group = np.cumsum(new_group) - 1
        shared = np.bincount(group)[group] > 1
        token = np.where(shared, np.cumsum(shared), 0)
    extra = np.empty(len(codes), dtype=np.int64)
    extra[order] = token
    return np.concatenate([codes, extra[:, None]], axis=1)


def pair_catalog(
    data: Interactions, content: np.ndarray, creative: list[np.ndarray]
) -> tuple[Interactions, np.ndarray, np.ndarray]:
    """Turn (item, creative) exposures into a catalog of D-SIDs: each distinct pair becomes one entry.

    Returns the interactions over pair ids, the pair table [content codes ; creative codes], and the item id
    of each pair, so the GRM's retrieval mode ranks existing videos and generation mode may pair freely.
    """
    if len(creative) != len(data.sequences):
        raise CatalogError("one creative sequence per user is needed")
    index: dict[tuple[int, ...], int] = {}
    rows, items, seqs = [], [], []
    for seq, cre in zip(data.sequences, creative, strict=True):
        if len(seq) != len(cre):
            raise CatalogError("every interaction needs its creative codes")
        ids = []
        for item, c in zip(seq.tolist(), cre.tolist(), strict=True):
            key = (item, *c)
            if key not in index:
                index[key] = len(rows)
                rows.append(np.concatenate([content[item], c]))
                items.append(item)
            ids.append(index[key])
        seqs.append(np.asarray(ids, dtype=np.int64))
    return (
        Interactions(data.users, tuple(seqs), len(rows)),
        np.asarray(rows, dtype=np.int64),
        np.asarray(items, dtype=np.int64),
    )
