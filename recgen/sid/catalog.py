"""The product catalog: the Beauty catalog (every item of the interaction data) and user product JSON.

The Beauty items have a title, an Amazon category path and, for most, a brand; no description and no price
(the 31 sample items keep a short description as extra text). A price stays absent unless the caller gives
an offer. A user's product JSON without a brand takes the title's leading name (derive_brand); a catalog
item takes the data's brand, else one its title marks, else none.
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import os
import pickle
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from pydantic import ValidationError

from recgen.errors import CatalogError, MediaError
from recgen.schemas import Product
from recgen.sid.facts import clean_markup

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


def product_from_dict(data: dict, default_id: str = "custom", brand_from_title: bool = True) -> Product:
    """Validate a product record, cleaning text and (with `brand_from_title`) deriving the brand from the
    title's lead when it is not given."""
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
    if not data.get("brand") and brand_from_title:
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
    """Products by id. `name` says which catalog it is (the Beauty catalog, or a caller's own)."""

    products: tuple[Product, ...]
    name: str = "custom"
    _index: dict[str, int] = field(init=False, repr=False, compare=False)
    memo: dict = field(init=False, repr=False, compare=False)  # what is derived from it once (e.g. its fingerprint)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {p.id: i for i, p in enumerate(self.products)})
        object.__setattr__(self, "memo", {})

    def __len__(self) -> int:
        return len(self.products)

    def __contains__(self, product_id: object) -> bool:
        return str(product_id) in self._index

    def position(self, product_id: str) -> int:
        """The row of `product_id` (its codes' and embedding's row in a fitted space)."""
        try:
            return self._index[str(product_id).strip()]
        except KeyError:
            raise CatalogError(self._unknown(product_id)) from None

    def get(self, product_id: str | int) -> Product:
        return self.products[self.position(str(product_id))]

    def _unknown(self, product_id: object) -> str:
        ids = [p.id for p in self.products]
        span = f"{ids[0]}–{ids[-1]}" if all(i.isdigit() for i in ids[:1] + ids[-1:]) else ", ".join(ids[:6]) + ", …"
        return (
            f"no product {str(product_id)!r} in the {self.name} catalog ({len(ids):,} items, ids {span}); "
            "give one of its ids, or pass a product JSON"
        )

    @staticmethod
    def text_of(product: Product) -> str:
        """The text its content codes are encoded from: title, category path and brand, the fields every
        catalog item has (a description, where one exists, is for the fact sheet, not the code space).
        Markup and entities out: they are not what it is."""
        path = " > ".join(product.categories[1:] if product.categories[:1] == ("Beauty",) else product.categories)
        parts = [product.title, path or (product.category or ""), f"Brand: {product.brand}" if product.brand else ""]
        return clean_markup(". ".join(p for p in parts if p))

    def texts_digest(self) -> str:
        """A hash of every item's id and code-space text: what a fitted space depends on. Computed once (a
        second on the whole catalog) and kept with the catalog's on-disk cache."""
        if "texts" not in self.memo:
            h = hashlib.sha1()
            for p in self.products:
                h.update(f"{p.id}\0{self.text_of(p)}\n".encode())
            self.memo["texts"] = h.hexdigest()
        return self.memo["texts"]


BEAUTY_ITEMS = "amazon-beauty/Beauty.item.json"
SAMPLE_TEXT = "amazon-beauty/sample_items.json"
_CACHE_FORMAT = 4  # bump when a cached catalog's fields change


def _file_key(path: Path) -> str:
    st = path.stat()
    return f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"


def load_catalog(data_dir: Path, cache_dir: Path | None = None) -> Catalog:
    """The Beauty catalog: every item of the interaction data (ids 0–12100) from its title, Amazon category
    path and brand (`Beauty.item.json`); the sample items' short descriptions kept as extra text. Kept per
    process, and on disk under `cache_dir` keyed by the files' contents, so a new process reads one pickle."""
    path = Path(data_dir) / BEAUTY_ITEMS
    if not path.is_file():
        raise CatalogError(
            f"the Beauty catalog {path} is not there; set RECGEN_DATA_DIR to the folder holding amazon-beauty/"
        )
    sample = Path(data_dir) / SAMPLE_TEXT
    return _load_catalog(_file_key(path), _file_key(sample) if sample.is_file() else "", path, sample, cache_dir)


@functools.lru_cache(maxsize=4)
def _load_catalog(key: str, sample_key: str, path: Path, sample: Path, cache_dir: Path | None) -> Catalog:
    digest = hashlib.sha1(f"{_CACHE_FORMAT}|{key}|{sample_key}".encode()).hexdigest()[:16]
    cached = Path(cache_dir) / "catalog" / f"beauty-{digest}.pkl" if cache_dir else None
    if cached is not None and cached.is_file():
        try:
            with cached.open("rb") as f:
                catalog = pickle.load(f)
            if isinstance(catalog, Catalog):
                return catalog
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
            pass  # a damaged cache is rebuilt, never trusted
    catalog = parse_beauty_items(path.read_text(encoding="utf-8"), str(path), _sample_descriptions(sample))
    if cached is not None:
        catalog.texts_digest()  # pickled with it: a new process does not rehash 12,101 texts
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as f:
            pickle.dump(catalog, f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(cached)
    return catalog


def forget_loaded_catalogs() -> None:
    """Drop the catalogs kept in this process (the next load reads the on-disk cache or the data again)."""
    _load_catalog.cache_clear()


def _sample_descriptions(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    raw = strict_json(path.read_text(encoding="utf-8"), str(path))
    if not isinstance(raw, dict):
        raise CatalogError(f"{path} must map item ids to {{title, description}} records")
    return {str(k): v.get("description") or "" for k, v in raw.items() if isinstance(v, dict)}


def parse_beauty_items(text: str, where: str, descriptions: dict[str, str] | None = None) -> Catalog:
    """`{id: {title, brand, categories, category_paths, asin}}` → a Catalog; a record that is not usable
    is an error naming its id and field, not a silently smaller catalog."""
    raw = strict_json(text, where)
    if not isinstance(raw, dict) or not raw:
        raise CatalogError(f"{where} must map item ids to {{title, brand, category_paths}} records")
    descriptions = descriptions or {}
    products = []
    for item_id, rec in sorted(
        raw.items(), key=lambda kv: (not kv[0].isdigit(), int(kv[0]) if kv[0].isdigit() else 0, kv[0])
    ):
        if not isinstance(rec, dict):
            raise CatalogError(f"{where}: item {item_id!r} is a {type(rec).__name__}, not a record")
        paths = rec.get("category_paths") or []
        if not isinstance(paths, list) or not all(isinstance(p, list) for p in paths):
            raise CatalogError(f"{where}: item {item_id!r}: category_paths must be a list of lists of names")
        title = rec.get("title")
        if not isinstance(title, str):
            raise CatalogError(f"{where}: item {item_id!r} has no title")
        brand = clean_text(rec.get("brand") or "") or marked_brand(clean_text(title))
        data = {"id": item_id, "title": title, "brand": brand, "description": descriptions.get(item_id, "")}
        data["categories"] = tuple(clean_text(str(s)) for s in paths[0]) if paths else ()
        products.append(product_from_dict(data, brand_from_title=False))
    return Catalog(tuple(products), name="Beauty")


_MARKED = (
    re.compile(r"(?:^|[\s(\[,-])[Bb][Yy]\s+(?P<b>[A-Z][\w'&.]*(?:\s+[A-Z][\w'&.]*){0,2})\s*(?:$|[,.\])(\[]|\s-\s)"),
    re.compile(r"(?P<b>[A-Z][\w'&.]*(?:\s+[A-Z][\w'&.]*){0,2})\s?(?:®|™|\(R\)|\(TM\))"),
)


def marked_brand(title: str) -> str | None:
    """A brand the title itself marks: '… by Avanti', 'Belloccio® …'. A title's first word is not a brand
    by itself ('Red Cherry', 'Vitamin C Serum'): without a mark and without the data's brand, none."""
    for pattern in _MARKED:
        m = pattern.search(title)
        if m:  # a sentence's full stop ends the name ('by ToiletTree Products. Guaranteed …'), 'Dr.' does not
            return re.split(r"(?<=\w{4})\.\s", m.group("b"))[0].strip(" .")
    return None
