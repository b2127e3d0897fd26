"""The fitted D-SID space of a catalog: content and creative quantizers, and decoding codes to Semantics."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recgen.errors import SIDError
from recgen.schemas import DSID, ContentSemantics, Product, Semantics, StyleVector
from recgen.sid.catalog import Catalog, keywords_of, load_catalog
from recgen.sid.creative import creative_semantics, preset_style, preset_variants
from recgen.sid.data import collision_rate, disambiguate
from recgen.sid.encoders import MiniLMTextEncoder, style_features, style_from_features
from recgen.sid.facts import fact_sheet
from recgen.sid.rqkmeans import RQKMeans

CONTENT_LEVELS = (256, 256, 256)  # TIGER-scale residual levels; a 4th code tells apart items that share them
CREATIVE_LEVELS = (8, 4)
VARIANTS_PER_PRESET = 15
_FORMAT = 3  # 3: the whole Beauty catalog, title + category path + brand, 3 × 256 + a disambiguation code


@dataclass
class SIDSpace:
    """The one D-SID space: content codes over the whole catalog (what the GRM predicts, the agents decode,
    the cache is keyed by and a rendered video is re-encoded into) and the creative codes of the presets.

    A content D-SID is the item's 3 residual codes and a 4th that numbers the items sharing them (0, 1, …),
    so every catalog item has a code of its own; a product outside the catalog gets the next free 4th code
    of its group, which no catalog item has."""

    catalog: Catalog
    content_rq: RQKMeans
    creative_rq: RQKMeans
    item_emb: np.ndarray  # (n_items, 384), unit norm
    item_codes: np.ndarray  # (n_items, levels + 1): residual codes and the disambiguation code
    encoder: MiniLMTextEncoder
    fingerprint: str = ""

    @property
    def name(self) -> str:
        """What run records and cache keys carry: which space a code belongs to."""
        return f"{self.catalog.name.lower()}-text-{self.fingerprint}"

    # -- encoding -------------------------------------------------------------------------------------------
    def content_codes(self, product: Product) -> tuple[int, ...]:
        if product.id in self.catalog:
            i = self.catalog.position(product.id)
            if self.catalog.products[i].title == product.title:
                return tuple(int(c) for c in self.item_codes[i])
        emb = self.encoder.encode([self.catalog.text_of(product)])
        codes = tuple(int(c) for c in self.content_rq.encode(emb)[0])
        return (*codes, self.group_size(codes))

    def group_size(self, codes: tuple[int, ...]) -> int:
        """How many catalog items share these residual codes (the next free disambiguation code)."""
        k = len(self.content_rq.codebooks)
        return int(np.all(self.item_codes[:, :k] == np.asarray(codes[:k]), axis=1).sum())

    def check_content(self, content: tuple[int, ...]) -> None:
        k = len(self.content_rq.codebooks)
        if len(content) != k + 1:
            raise SIDError(f"content codes need {k + 1} levels ({k} residual + 1 disambiguation), got {len(content)}")
        self.content_rq.check(np.asarray([content[:k]]))
        if content[k] < 0:
            raise SIDError(f"the disambiguation code must be 0 or more, got {content[k]}")

    def item_of(self, content: tuple[int, ...]) -> Product | None:
        """The catalog item whose content codes are exactly `content`, if any."""
        hit = np.flatnonzero(np.all(self.item_codes == np.asarray(content), axis=1))
        return self.catalog.products[int(hit[0])] if hit.size else None

    def creative_codes(self, style: StyleVector) -> tuple[int, ...]:
        return tuple(int(c) for c in self.creative_rq.encode(style_features(style)[None])[0])

    def resolve_creative(self, creative: str) -> tuple[int, ...]:
        """A preset name or a D-SID's creative half ('s3.1' or 'c../s3.1') → creative codes."""
        text = creative.strip()
        if text[:1].lower() in ("s", "c") and any(ch.isdigit() for ch in text):
            try:
                codes = DSID.parse(text).creative
            except ValueError as e:
                raise SIDError(str(e)) from e
            if not codes:
                raise SIDError(f"{creative!r} has no creative codes; write e.g. s3.1")
            self.creative_rq.check(np.asarray([codes]))
            return codes
        return self.creative_codes(preset_style(text))

    def dsid_for(self, product: Product, creative: str | DSID) -> DSID:
        """The product's content codes (or those a full D-SID names) with the creative side asked for. A DSID
        given whole (e.g. proposed by the GRM) lends its creative codes; the content side is the product's."""
        content = self.content_codes(product)
        if isinstance(creative, DSID):
            self.creative_rq.check(np.asarray([creative.creative]))
            return DSID(content=content, creative=creative.creative)
        text = creative.strip()
        if text[:1].lower() == "c" and any(ch.isdigit() for ch in text):
            try:
                given = DSID.parse(text).content
            except ValueError as e:
                raise SIDError(str(e)) from e
            self.check_content(given)
            content = given
        return DSID(content=content, creative=self.resolve_creative(text))

    # -- decoding -------------------------------------------------------------------------------------------
    def nearest_items(self, content: tuple[int, ...], k: int = 3) -> list[Product]:
        """The items these codes stand for: the item that has exactly these codes first, then the items
        nearest the codes' centroid."""
        centre = self.content_rq.decode(content[: len(self.content_rq.codebooks)])[0]
        sims = self.item_emb @ (centre / max(np.linalg.norm(centre), 1e-9))
        own = self.item_of(content)
        order = [int(i) for i in np.argpartition(-sims, k + 1)[: k + 1]]
        order.sort(key=lambda i: -sims[i])
        near = [self.catalog.products[i] for i in order]
        if own is not None:
            near = [own, *(p for p in near if p.id != own.id)]
        return near[:k]

    def decode(self, dsid: DSID, product: Product) -> Semantics:
        """Content codes → nearest catalog items and their words; creative codes → a style and its choices."""
        if dsid.content_space != "catalog":
            raise SIDError(f"D-SID {dsid}: its content codes are the GRM's; map them to a product first (dsid_for)")
        self.check_content(dsid.content)
        if len(dsid.creative) != len(self.creative_rq.codebooks):
            raise SIDError(f"D-SID {dsid}: creative needs {len(self.creative_rq.codebooks)} codes")
        near = self.nearest_items(dsid.content)
        prefix = np.flatnonzero(self.item_codes[:, 0] == dsid.content[0])[:50]
        group = [self.catalog.products[i] for i in prefix] or near
        facts = fact_sheet(product, self.encoder.encode)
        content = ContentSemantics(
            codes=dsid.content,
            product_type=facts.packshot,
            family=facts.family,
            keywords=keywords_of([p.title for p in group] + [facts.title]),
            nearest_items=tuple(p.title[:80] for p in near),
            benefits=tuple(c.text for c in facts.claims[:3]),  # the product's own claims only
            facts=facts,
        )
        style = style_from_features(self.creative_rq.decode(dsid.creative)[0])
        return Semantics(dsid=dsid, content=content, creative=creative_semantics(dsid.creative, style))

    def report(self) -> dict[str, dict[str, float]]:
        _, styles = preset_variants(VARIANTS_PER_PRESET, seed=0)
        feats = np.stack([style_features(s) for s in styles])
        content = self.content_rq.report(self.item_emb)
        content["collision_rate_with_disambiguation"] = collision_rate(self.item_codes)
        content["largest_group"] = int(self.item_codes[:, -1].max()) + 1
        return {"content": content, "creative": self.creative_rq.report(feats)}


def _fingerprint(catalog: Catalog, encoder_name: str, seed: int) -> str:
    """Everything the space is fitted on: its format, levels, seed, encoder and every item's text (hashed
    once per catalog object)."""
    key = ("fingerprint", encoder_name, seed)
    if key not in catalog.memo:
        h = hashlib.sha1(
            f"{_FORMAT}|{CONTENT_LEVELS}|{CREATIVE_LEVELS}|{VARIANTS_PER_PRESET}|{seed}|{encoder_name}|".encode()
        )
        h.update(catalog.texts_digest().encode())
        catalog.memo[key] = h.hexdigest()[:16]
    return catalog.memo[key]


def fit_sid_space(
    catalog: Catalog, encoder: MiniLMTextEncoder, seed: int = 0, on_status: Callable[[str], None] | None = None
) -> SIDSpace:
    if on_status:
        on_status(f"embedding {len(catalog):,} catalog items (title, category path, brand)")
    emb = encoder.encode([catalog.text_of(p) for p in catalog.products])
    if on_status:
        on_status(f"fitting RQ-KMeans {' × '.join(map(str, CONTENT_LEVELS))} on the catalog")
    levels = tuple(min(k, len(catalog)) for k in CONTENT_LEVELS)
    content_rq = RQKMeans(levels, seed=seed).fit(emb)
    _, styles = preset_variants(VARIANTS_PER_PRESET, seed=seed)
    creative_rq = RQKMeans(CREATIVE_LEVELS, seed=seed).fit(np.stack([style_features(s) for s in styles]))
    codes = disambiguate(content_rq.encode(emb))
    return SIDSpace(catalog, content_rq, creative_rq, emb, codes, encoder, _fingerprint(catalog, encoder.name, seed))


@functools.cache
def _encoder(cache_dir: Path) -> MiniLMTextEncoder:
    """One text encoder per cache folder and process (its model loads once)."""
    return MiniLMTextEncoder(cache_dir)


_SPACES: dict[tuple[Path, str], SIDSpace] = {}
_SPACES_LOCK = threading.Lock()


def load_sid_space(
    data_dir: Path, cache_dir: Path, seed: int = 0, on_status: Callable[[str], None] | None = None
) -> SIDSpace:
    """The Beauty catalog's D-SID space, fitted once and cached on disk (keyed by its fingerprint) and per
    process. The first fit embeds every item: about a minute on two cores."""
    catalog = load_catalog(data_dir, cache_dir)
    encoder = _encoder(Path(cache_dir))
    fp = _fingerprint(catalog, encoder.name, seed)
    with _SPACES_LOCK:
        key = (Path(cache_dir).resolve(), fp)
        if key not in _SPACES:
            _SPACES[key] = _load_or_fit(catalog, encoder, Path(cache_dir) / "sid" / fp, seed, on_status)
        return _SPACES[key]


def _load_or_fit(catalog, encoder, folder: Path, seed: int, on_status) -> SIDSpace:
    arrays = folder / "space.npz"
    if arrays.is_file():
        try:
            z = np.load(arrays)
            content = RQKMeans.from_arrays({k[2:]: z[k] for k in z.files if k.startswith("c_")}, seed)
            creative = RQKMeans.from_arrays({k[2:]: z[k] for k in z.files if k.startswith("s_")}, seed)
            if len(z["item_codes"]) == len(catalog):
                return SIDSpace(catalog, content, creative, z["item_emb"], z["item_codes"], encoder, folder.name)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            pass  # a damaged cache is refitted, never trusted
    space = fit_sid_space(catalog, encoder, seed, on_status)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"space.{os.getpid()}.tmp.npz"
    np.savez(
        tmp,
        item_emb=space.item_emb,
        item_codes=space.item_codes,
        **{f"c_{k}": v for k, v in space.content_rq.to_arrays().items()},
        **{f"s_{k}": v for k, v in space.creative_rq.to_arrays().items()},
    )
    tmp.replace(arrays)
    (folder / "report.json").write_text(json.dumps(space.report(), indent=2))
    return space
