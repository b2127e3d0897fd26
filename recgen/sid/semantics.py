"""The fitted D-SID space of a catalog: content and creative quantizers, and decoding codes to Semantics."""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recgen.errors import SIDError
from recgen.schemas import DSID, ContentSemantics, Product, Semantics, StyleVector
from recgen.sid.catalog import Catalog, keywords_of, load_sample_catalog
from recgen.sid.creative import creative_semantics, preset_style, preset_variants
from recgen.sid.encoders import MiniLMTextEncoder, style_features, style_from_features
from recgen.sid.facts import fact_sheet
from recgen.sid.rqkmeans import RQKMeans

CONTENT_LEVELS = (8, 8)
CREATIVE_LEVELS = (8, 4)
VARIANTS_PER_PRESET = 15
_FORMAT = 2  # 2: sample categories from the product kinds


@dataclass
class SIDSpace:
    catalog: Catalog
    content_rq: RQKMeans
    creative_rq: RQKMeans
    item_emb: np.ndarray  # (n_items, 384), unit norm
    item_codes: np.ndarray  # (n_items, levels)
    encoder: MiniLMTextEncoder

    # -- encoding -------------------------------------------------------------------------------------------
    def content_codes(self, product: Product) -> tuple[int, ...]:
        for i, p in enumerate(self.catalog.products):
            if p.id == product.id and p.title == product.title:
                return tuple(int(c) for c in self.item_codes[i])
        emb = self.encoder.encode([self.catalog.text_of(product)])
        return tuple(int(c) for c in self.content_rq.encode(emb)[0])

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
            self.content_rq.check(np.asarray([given]))
            content = given
        return DSID(content=content, creative=self.resolve_creative(text))

    # -- decoding -------------------------------------------------------------------------------------------
    def decode(self, dsid: DSID, product: Product) -> Semantics:
        """Content codes → nearest catalog items and their words; creative codes → a style and its choices."""
        if dsid.content_space != "catalog":
            raise SIDError(f"D-SID {dsid}: its content codes are the GRM's; map them to a product first (dsid_for)")
        if len(dsid.content) != len(self.content_rq.codebooks):
            raise SIDError(f"D-SID {dsid}: content needs {len(self.content_rq.codebooks)} codes")
        if len(dsid.creative) != len(self.creative_rq.codebooks):
            raise SIDError(f"D-SID {dsid}: creative needs {len(self.creative_rq.codebooks)} codes")
        centre = self.content_rq.decode(dsid.content)[0]
        prefix = np.all(self.item_codes[:, :1] == dsid.content[:1], axis=1)
        sims = self.item_emb @ (centre / max(np.linalg.norm(centre), 1e-9))
        order = np.argsort(-sims)[:3]
        near = [self.catalog.products[i] for i in order]
        group = [self.catalog.products[i] for i in np.flatnonzero(prefix)] or near
        facts = fact_sheet(product, self.encoder.encode)
        content = ContentSemantics(
            codes=dsid.content,
            product_type=facts.packshot,
            family=facts.family,
            keywords=keywords_of([p.title for p in group] + [facts.title]),
            nearest_items=tuple(p.title[:80] for p in near),
            benefits=tuple(c.text for c in facts.claims[:3]),  # the product's own words only
            facts=facts,
        )
        style = style_from_features(self.creative_rq.decode(dsid.creative)[0])
        return Semantics(dsid=dsid, content=content, creative=creative_semantics(dsid.creative, style))

    def report(self) -> dict[str, dict[str, float]]:
        _, styles = preset_variants(VARIANTS_PER_PRESET, seed=0)
        feats = np.stack([style_features(s) for s in styles])
        return {"content": self.content_rq.report(self.item_emb), "creative": self.creative_rq.report(feats)}


def _fingerprint(catalog: Catalog, seed: int) -> str:
    h = hashlib.sha1(f"{_FORMAT}|{CONTENT_LEVELS}|{CREATIVE_LEVELS}|{VARIANTS_PER_PRESET}|{seed}".encode())
    for p in catalog.products:
        h.update(f"{p.id}\0{p.title}\0{p.category}\0{p.description}\n".encode())
    return h.hexdigest()[:16]


def fit_sid_space(catalog: Catalog, encoder: MiniLMTextEncoder, seed: int = 0) -> SIDSpace:
    emb = encoder.encode([catalog.text_of(p) for p in catalog.products])
    content_rq = RQKMeans(CONTENT_LEVELS, seed=seed).fit(emb)
    _, styles = preset_variants(VARIANTS_PER_PRESET, seed=seed)
    creative_rq = RQKMeans(CREATIVE_LEVELS, seed=seed).fit(np.stack([style_features(s) for s in styles]))
    return SIDSpace(catalog, content_rq, creative_rq, emb, content_rq.encode(emb), encoder)


@functools.cache
def _encoder(cache_dir: Path) -> MiniLMTextEncoder:
    """One text encoder per cache folder and process (its model loads once)."""
    return MiniLMTextEncoder(cache_dir)


def load_sid_space(data_dir: Path, cache_dir: Path, seed: int = 0) -> SIDSpace:
    """The sample catalog's SID space, fitted once and cached (the cache is keyed by data and config)."""
    catalog = load_sample_catalog(data_dir)
    encoder = _encoder(Path(cache_dir))
    folder = Path(cache_dir) / "sid" / _fingerprint(catalog, seed)
    arrays = folder / "space.npz"
    if arrays.is_file():
        z = np.load(arrays)
        content = RQKMeans.from_arrays({k[2:]: z[k] for k in z.files if k.startswith("c_")}, seed)
        creative = RQKMeans.from_arrays({k[2:]: z[k] for k in z.files if k.startswith("s_")}, seed)
        return SIDSpace(catalog, content, creative, z["item_emb"], z["item_codes"], encoder)
    space = fit_sid_space(catalog, encoder, seed)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "space.tmp.npz"
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
