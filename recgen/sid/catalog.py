"""The product catalog: the sample built from the shared Amazon Beauty item text, and user product JSON.

The raw data has titles and descriptions only: the brand is taken from the title's lead, the category from
the product kind the title names (sid/facts.py); prices are absent and stay absent unless the caller gives
an offer.
"""

from __future__ import annotations

import html
import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from pydantic import ValidationError

from recgen.errors import CatalogError, MediaError
from recgen.schemas import Product
from recgen.sid.facts import classify_kind, clean_markup

_GENERIC_LEAD = {"new", "vitamin", "strawberry", "pack", "set", "natural", "professional", "pure", "organic"}

_STOP = set(
    [
        "a",
        "an",
        "and",
        "the",
        "of",
        "for",
        "with",
        "to",
        "in",
        "on",
        "by",
        "from",
        "at",
        "or",
        "new",
        "pack",
        "set",
        "pcs",
        "oz",
        "ounce",
        "fluid",
        "size",
        "full",
        "1",
        "2",
        "x",
        "is",
        "it",
        "your",
        "you",
        "our",
        "this",
        "that",
        "best",
    ]
)


def clean_text(text: str) -> str:
    """Undo the raw data's HTML entities and squeeze whitespace."""
    return re.sub(r"\s+", " ", html.unescape(text or "")).strip()


def derive_brand(title: str) -> str | None:
    """The brand is the leading name of an Amazon title ('Dr. Scholl's', 'OPI', 'L'Oreal Paris')."""
    words = title.split()
    if not words or words[0][0].isdigit() or words[0].lower() in _GENERIC_LEAD:
        return None
    if words[0].endswith(".") and len(words) > 1:
        return " ".join(words[:2])
    return words[0].strip(",")


def keywords_of(texts: list[str], limit: int = 6) -> tuple[str, ...]:
    counts: dict[str, int] = {}
    for t in texts:
        for w in set(re.findall(r"[a-z][a-z'-]{2,}", t.lower())):
            if w not in _STOP:
                counts[w] = counts.get(w, 0) + 1
    return tuple(w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit])


MAX_IMAGE_PIXELS = 40_000_000  # 40 MP: far above what a 9:16 packshot needs; decoding more costs gigabytes


def check_image(path: Path) -> Path:
    """A user image must exist, be of a sane size and decode; checked before a run starts so nothing is left
    half-done. The size is read from the header before any pixel is decoded."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise MediaError(f"product image {path} does not exist; give the path of a PNG or JPEG file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
                if w * h > MAX_IMAGE_PIXELS:
                    raise MediaError(
                        f"product image {path.name} is {w}×{h} ({w * h / 1e6:.0f} MP); use one of at most "
                        f"{MAX_IMAGE_PIXELS / 1e6:.0f} MP (e.g. 2000×3000)"
                    )
                im.verify()
            with Image.open(path) as im:
                im.load()
        if w < 16 or h < 16:
            raise MediaError(f"product image {path} is {w}×{h}; use one of at least 16×16")
    except Image.DecompressionBombError as e:
        raise MediaError(f"product image {path.name} is too large to decode safely ({e})") from e
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise MediaError(f"product image {path} cannot be decoded ({e}); give a valid PNG or JPEG") from e
    return path.resolve()


def strict_json(text: str, where: str):
    """JSON in which a key given twice is an error (json keeps the last silently: a catalog with two items of
    one id would lose one)."""

    def no_twins(pairs: list[tuple[str, object]]) -> dict:
        seen: dict = {}
        for k, v in pairs:
            if k in seen:
                raise CatalogError(f"{where}: the key {k!r} appears twice; every id and field must be unique")
            seen[k] = v
        return seen

    try:
        return json.loads(text, object_pairs_hook=no_twins)
    except json.JSONDecodeError as e:
        raise CatalogError(f"{where} is malformed at line {e.lineno}, column {e.colno}: {e.msg}") from e


def product_from_dict(data: dict, default_id: str = "custom") -> Product:
    """Validate a product record, cleaning text and deriving the brand when it is not given."""
    if not isinstance(data, dict):
        raise CatalogError(f"a product must be a JSON object, got {type(data).__name__}")
    data = dict(data)
    data.setdefault("id", default_id)
    data["id"] = str(data["id"])
    if "title" not in data:
        raise CatalogError("the product has no 'title'; every product needs a name")
    if not isinstance(data["title"], str):
        raise CatalogError("the product 'title' must be a string")
    data["title"] = clean_text(data["title"])
    data["description"] = clean_text(data.get("description") or "")
    if not data.get("brand"):
        data["brand"] = derive_brand(data["title"])
    if data.get("image_path"):
        data["image_path"] = check_image(Path(data["image_path"]))
    try:
        return Product(**data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "product"
        raise CatalogError(f"product {data['id']!r}: {where}: {first['msg']}") from e


def load_product_json(text_or_path: str) -> Product:
    """A product given as a JSON string or as the path of a JSON file."""
    p = Path(text_or_path)
    raw = p.read_text(encoding="utf-8") if p.suffix == ".json" and p.is_file() else text_or_path
    if p.suffix == ".json" and not p.is_file():
        raise CatalogError(f"product file {p} does not exist")
    data = strict_json(raw, "the product JSON")
    if isinstance(data, list):
        raise CatalogError("the product JSON is a list; give one product (a JSON object) at a time")
    if isinstance(data, dict) and data.get("image_path") and p.is_file():
        img = Path(data["image_path"])
        data["image_path"] = str(img if img.is_absolute() else (p.parent / img))
    return product_from_dict(data)


@dataclass(frozen=True)
class Catalog:
    products: tuple[Product, ...]

    def __len__(self) -> int:
        return len(self.products)

    def get(self, product_id: str) -> Product:
        for p in self.products:
            if p.id == str(product_id):
                return p
        ids = ", ".join(p.id for p in self.products[:8])
        raise CatalogError(f"no product {product_id!r} in the catalog (ids: {ids}, …); or pass a product JSON")

    def text_of(self, product: Product) -> str:
        """The text its content codes are encoded from: markup and entities out (they are not what it is)."""
        return clean_markup(f"{product.title}. {product.category or ''} {product.description}")


def load_sample_catalog(data_dir: Path) -> Catalog:
    """The sample catalog: the 31 Amazon Beauty items that have text (../shared/data/amazon-beauty)."""
    path = Path(data_dir) / "amazon-beauty" / "sample_items.json"
    if not path.is_file():
        raise CatalogError(f"sample catalog {path} not found; set RECGEN_DATA_DIR to the folder holding amazon-beauty/")
    raw = strict_json(path.read_text(encoding="utf-8"), str(path))
    if not isinstance(raw, dict) or not raw:
        raise CatalogError(f"{path} must map item ids to {{title, description}} records")
    products = []
    for item_id, rec in sorted(raw.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else kv[0]):
        product = product_from_dict({**(rec if isinstance(rec, dict) else {}), "id": item_id})
        kind, _ = classify_kind(product.title, None, None)  # the family, where the title names the kind
        products.append(product.model_copy(update={"category": kind.family if kind else None}))
    return Catalog(tuple(products))
