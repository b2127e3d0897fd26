"""Semantic IDs: encode catalog items and creatives, quantize them into D-SIDs, decode D-SIDs to meaning."""

from recgen.sid.catalog import Catalog, load_product_json, load_sample_catalog
from recgen.sid.semantics import SIDSpace, load_sid_space

__all__ = ["Catalog", "SIDSpace", "load_product_json", "load_sample_catalog", "load_sid_space"]
