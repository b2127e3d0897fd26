"""Semantic IDs: encode catalog items and creatives, quantize them into D-SIDs, decode D-SIDs to meaning."""

from recgen.sid.catalog import Catalog, load_catalog, load_product_json
from recgen.sid.semantics import SIDSpace, load_sid_space

__all__ = ["Catalog", "SIDSpace", "load_catalog", "load_product_json", "load_sid_space"]
