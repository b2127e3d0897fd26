"""Parametric product models: one per product family, built from signed-distance parts with materials.

A model is what `product_render` draws: parts in product units (the product stands on y = 0 and is about
one unit tall), each with a material, a colour role and, for the part that carries it, where the label is
printed. The colours come from a `Look`: the body, the contents (polish, lipstick bullet, powder, liquid
behind glass) and the label, so a title's colour word lands where a viewer looks for it (`Look.colour_on`).
Families cover what the catalog's kinds name (prompts/product_kinds.json, field `packshot`); "box" is the
neutral carton for a kind no model fits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from recgen.tools.sdf import Sdf, box, cone, cut, cylinder, ellipsoid, repeated_x, rotation

Material = Literal["gloss", "matte", "glass", "metal", "gold", "rubber", "powder", "bristle", "paper"]
Role = Literal["body", "contents", "cap", "metal", "dark", "label", "natural"]


@dataclass(frozen=True)
class LabelMap:
    """Where the label texture lies on a part, in the part's own frame: wrapped round the y axis over
    `arc` degrees ("wrap"), or flat on the face that looks along +z ("front") or +y ("top")."""

    kind: Literal["wrap", "front", "top"]
    lo: float  # y (wrap, front) or z (top) where the label starts, in the part's frame (centred on it)
    hi: float
    width: float  # wrap: the arc in degrees; front/top: the label's width in x
    radius: float = 0.0  # wrap: the radius the texture is laid on (its aspect)


@dataclass(frozen=True)
class Part:
    sdf: Sdf  # in the part's frame: the model places it with `offset` and `rotation`
    material: Material
    role: Role
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    rotation: tuple[str, float] | None = None  # (axis, degrees)
    label: LabelMap | None = None

    def local(self, p: np.ndarray) -> np.ndarray:
        q = p - np.asarray(self.offset)
        return q @ rotation(*self.rotation) if self.rotation else q


@dataclass(frozen=True)
class Model:
    family: str
    parts: tuple[Part, ...]
    elevation: float = 8.0  # degrees the camera looks down: flat products (palettes) are seen from above
    tilt: float = 0.0  # degrees the whole product leans (long tools lie diagonally in the frame)

    @property
    def label_part(self) -> Part | None:
        return next((p for p in self.parts if p.label is not None), None)


@dataclass(frozen=True)
class Look:
    """The colours of one product: body, contents, cap, label paper and ink (sRGB 0–255); which of them
    carries the colour a title names is `packshot.look_for`'s choice."""

    body: tuple[int, int, int]
    contents: tuple[int, int, int]
    cap: tuple[int, int, int]
    label: tuple[int, int, int]
    ink: tuple[int, int, int]

    def rgb(self, role: Role) -> tuple[int, int, int]:
        return {
            "body": self.body,
            "contents": self.contents,
            "cap": self.cap,
            "label": self.label,
            "metal": (212, 212, 218),
            "dark": (28, 27, 30),
            "natural": (196, 160, 120),
        }[role]


# ----------------------------------------------------------------------------------------------------------
# families: each returns its parts (product units, standing on y = 0, about one unit tall)
# ----------------------------------------------------------------------------------------------------------


def _bottle() -> Model:
    return Model("bottle", (
        Part(cylinder(0.21, 0.74, 0.09, squash=0.62), "gloss", "body", (0, 0.37, 0),
             label=LabelMap("wrap", -0.27, 0.23, 130, 0.21)),
        Part(cone(0.2, 0.1, 0.08), "gloss", "body", (0, 0.77, 0)),
        Part(cylinder(0.12, 0.16, 0.03), "gloss", "cap", (0, 0.88, 0)),
    ))  # fmt: skip


def _pump() -> Model:
    return Model("pump", (
        Part(cylinder(0.22, 0.64, 0.06), "gloss", "body", (0, 0.32, 0),
             label=LabelMap("wrap", -0.24, 0.24, 120, 0.22)),
        Part(cylinder(0.085, 0.09, 0.02), "gloss", "cap", (0, 0.68, 0)),
        Part(cylinder(0.028, 0.16, 0.0), "matte", "cap", (0, 0.79, 0)),
        Part(box(0.12, 0.07, 0.1, 0.03), "gloss", "cap", (0, 0.89, 0)),
        Part(cylinder(0.022, 0.16, 0.01), "gloss", "cap", (0.11, 0.905, 0), ("z", 90)),
    ))  # fmt: skip


def _dropper() -> Model:
    return Model("dropper", (
        Part(cylinder(0.2, 0.56, 0.06), "glass", "contents", (0, 0.28, 0),
             label=LabelMap("wrap", -0.2, 0.14, 110, 0.2)),
        Part(cylinder(0.075, 0.06, 0.0), "glass", "contents", (0, 0.59, 0)),
        Part(cylinder(0.11, 0.12, 0.02), "gold", "metal", (0, 0.67, 0)),
        Part(ellipsoid(0.085, 0.16, 0.085), "rubber", "dark", (0, 0.85, 0)),
    ))  # fmt: skip


def _spray() -> Model:
    return Model("spray", (
        Part(cylinder(0.19, 0.62, 0.05), "gloss", "body", (0, 0.31, 0),
             label=LabelMap("wrap", -0.23, 0.21, 120, 0.19)),
        Part(cylinder(0.1, 0.06, 0.01), "metal", "metal", (0, 0.65, 0)),
        Part(cylinder(0.07, 0.12, 0.03), "gloss", "cap", (0, 0.74, 0)),
        Part(cylinder(0.018, 0.05, 0.0), "rubber", "dark", (0, 0.76, 0.06), ("x", 90)),
        Part(cylinder(0.16, 0.2, 0.05), "glass", "cap", (0, 0.84, 0)),
    ))  # fmt: skip


def _perfume() -> Model:
    return Model("perfume", (
        Part(box(0.56, 0.5, 0.24, 0.05), "glass", "contents", (0, 0.25, 0),
             label=LabelMap("front", -0.11, 0.11, 0.34)),
        Part(cylinder(0.05, 0.08, 0.0), "gold", "metal", (0, 0.54, 0)),
        Part(box(0.24, 0.22, 0.22, 0.04), "gloss", "cap", (0, 0.69, 0)),
    ), elevation=10)  # fmt: skip


def _jar() -> Model:
    return Model("jar", (
        Part(cylinder(0.44, 0.34, 0.05), "gloss", "body", (0, 0.17, 0),
             label=LabelMap("wrap", -0.13, 0.13, 95, 0.44)),
        Part(cylinder(0.46, 0.16, 0.035), "gloss", "cap", (0, 0.42, 0)),
    ), elevation=14)  # fmt: skip


def _tube() -> Model:
    return Model("tube", (
        Part(cylinder(0.11, 0.12, 0.03), "gloss", "cap", (0, 0.06, 0)),
        Part(cylinder(0.21, 0.76, 0.06, squash=0.42), "gloss", "body", (0, 0.5, 0),
             label=LabelMap("wrap", -0.28, 0.26, 150, 0.21)),
        Part(box(0.44, 0.06, 0.035, 0.01), "gloss", "body", (0, 0.9, 0)),
    ))  # fmt: skip


def _compact() -> Model:
    return Model("compact", (
        Part(cylinder(0.46, 0.1, 0.04), "gloss", "body", (0, 0.05, 0)),
        Part(cylinder(0.46, 0.05, 0.02), "gold", "metal", (0, 0.12, 0)),
        Part(cylinder(0.4, 0.02, 0.0), "powder", "contents", (0, 0.15, 0),
             label=LabelMap("top", -0.36, -0.22, 0.5)),
    ), elevation=48)  # fmt: skip


def _palette() -> Model:
    pans = [
        Part(cylinder(0.085, 0.024, 0.0), "powder", "contents", (x, 0.095, z))
        for z in (-0.12, 0.1)
        for x in (-0.33, -0.11, 0.11, 0.33)
    ]
    return Model("palette", (
        Part(box(0.94, 0.09, 0.62, 0.03), "gloss", "body", (0, 0.045, 0),
             label=LabelMap("top", 0.21, 0.29, 0.6)),
        *pans,
    ), elevation=52)  # fmt: skip


def _pencil() -> Model:
    return Model("pencil", (
        Part(cylinder(0.05, 0.7, 0.01), "gloss", "body", (0, 0.4, 0),
             label=LabelMap("wrap", -0.2, 0.2, 120, 0.05)),
        Part(cone(0.05, 0.014, 0.13), "matte", "natural", (0, 0.815, 0)),
        Part(cone(0.016, 0.004, 0.04), "powder", "contents", (0, 0.895, 0)),
        Part(cylinder(0.052, 0.06, 0.01), "gold", "metal", (0, 0.03, 0)),
    ), tilt=-28)  # fmt: skip


def _pen() -> Model:
    return Model("pen", (
        Part(cylinder(0.085, 0.5, 0.03), "gloss", "body", (0, 0.25, 0),
             label=LabelMap("wrap", -0.17, 0.19, 130, 0.085)),
        Part(cylinder(0.087, 0.02, 0.0), "gold", "metal", (0, 0.51, 0)),
        Part(cylinder(0.085, 0.42, 0.04), "gloss", "cap", (0, 0.73, 0)),
    ), tilt=-18)  # fmt: skip


def _lipstick() -> Model:
    bullet = cut(cylinder(0.085, 0.3, 0.02), (0.55, 1.0, 0.0), 0.05)
    return Model("lipstick", (
        Part(cylinder(0.13, 0.44, 0.02), "gloss", "body", (0, 0.22, 0),
             label=LabelMap("wrap", -0.16, 0.14, 100, 0.13)),
        Part(cylinder(0.11, 0.12, 0.01), "gold", "metal", (0, 0.5, 0)),
        Part(bullet, "gloss", "contents", (0, 0.7, 0)),
    ))  # fmt: skip


def _polish() -> Model:
    return Model("polish", (
        Part(box(0.4, 0.4, 0.32, 0.1), "glass", "contents", (0, 0.2, 0),
             label=LabelMap("front", -0.1, 0.06, 0.26)),
        Part(cylinder(0.085, 0.5, 0.03), "gloss", "dark", (0, 0.64, 0)),
    ), elevation=10)  # fmt: skip


def _brush() -> Model:
    return Model("brush", (
        Part(cone(0.035, 0.055, 0.56), "gloss", "body", (0, 0.28, 0),
             label=LabelMap("wrap", -0.2, -0.04, 90, 0.045)),
        Part(cone(0.055, 0.065, 0.16), "metal", "metal", (0, 0.64, 0)),
        Part(ellipsoid(0.1, 0.17, 0.1), "bristle", "natural", (0, 0.82, 0)),
    ), tilt=-30)  # fmt: skip


def _comb() -> Model:
    teeth = repeated_x(box(0.014, 0.3, 0.03, 0.005), 0.036, 24)
    return Model("comb", (
        Part(box(0.92, 0.11, 0.04, 0.02), "gloss", "body", (0, 0.6, 0),
             label=LabelMap("front", -0.04, 0.04, 0.5)),
        Part(teeth, "gloss", "body", (0, 0.42, 0)),
    ), elevation=6, tilt=-8)  # fmt: skip


def _hair_brush() -> Model:
    bristles = repeated_x(cylinder(0.01, 0.06, 0.004), 0.05, 7)
    rows = [Part(bristles, "rubber", "dark", (0, 0.58 + k * 0.07, 0.045), ("x", 90)) for k in range(5)]
    return Model("hair_brush", (
        Part(ellipsoid(0.2, 0.26, 0.05), "gloss", "body", (0, 0.72, 0)),
        Part(box(0.1, 0.5, 0.05, 0.025), "gloss", "body", (0, 0.25, 0),
             label=LabelMap("front", -0.2, -0.03, 0.08)),
        *rows,
    ), tilt=-20)  # fmt: skip


def _dryer() -> Model:
    return Model("dryer", (
        Part(cylinder(0.17, 0.62, 0.06), "gloss", "body", (0.04, 0.78, 0), ("z", 90),
             label=LabelMap("wrap", -0.22, 0.02, 100, 0.17)),
        Part(cone(0.15, 0.11, 0.14), "matte", "dark", (0.42, 0.78, 0), ("z", 90)),
        Part(box(0.15, 0.52, 0.13, 0.06), "gloss", "body", (-0.1, 0.4, 0), ("z", -12)),
        Part(cylinder(0.03, 0.12, 0.0), "rubber", "dark", (-0.16, 0.12, 0)),
    ))  # fmt: skip


def _straightener() -> Model:
    return Model("straightener", (
        Part(box(0.1, 0.92, 0.05, 0.03), "gloss", "body", (0, 0.46, 0.04), ("x", -3),
             label=LabelMap("front", -0.41, -0.14, 0.07)),
        Part(box(0.1, 0.92, 0.05, 0.03), "gloss", "body", (0, 0.46, -0.04), ("x", 3)),
        Part(box(0.08, 0.36, 0.03, 0.01), "metal", "metal", (0, 0.74, 0.012)),
    ), tilt=-24)  # fmt: skip


def _curler() -> Model:
    return Model("curler", (
        Part(cylinder(0.07, 0.42, 0.03), "gloss", "body", (0, 0.21, 0),
             label=LabelMap("wrap", -0.16, 0.09, 100, 0.07)),
        Part(cylinder(0.05, 0.5, 0.02), "metal", "metal", (0, 0.67, 0)),
        Part(box(0.06, 0.4, 0.035, 0.015), "gloss", "body", (0, 0.66, 0.075)),
    ), tilt=-26)  # fmt: skip


def _toothbrush() -> Model:
    return Model("toothbrush", (
        Part(box(0.09, 0.62, 0.06, 0.03), "gloss", "body", (0, 0.31, 0),
             label=LabelMap("front", -0.25, -0.01, 0.07)),
        Part(box(0.05, 0.16, 0.04, 0.02), "gloss", "body", (0, 0.68, 0)),
        Part(box(0.085, 0.2, 0.04, 0.02), "gloss", "body", (0, 0.84, 0)),
        Part(box(0.07, 0.17, 0.08, 0.01), "bristle", "label", (0, 0.84, 0.05)),
    ), tilt=-22)  # fmt: skip


def _razor() -> Model:
    return Model("razor", (
        Part(cylinder(0.05, 0.66, 0.02), "gloss", "body", (0, 0.33, 0),
             label=LabelMap("wrap", -0.25, 0.07, 90, 0.05)),
        Part(box(0.38, 0.1, 0.1, 0.03), "gloss", "cap", (0, 0.72, 0.02)),
        Part(box(0.34, 0.03, 0.02, 0.005), "metal", "metal", (0, 0.72, 0.075)),
    ), tilt=-15)  # fmt: skip


def _tweezers() -> Model:
    arm = box(0.05, 0.86, 0.014, 0.007)
    return Model("tweezers", (
        Part(arm, "metal", "metal", (-0.04, 0.45, 0), ("z", 3)),
        Part(arm, "metal", "metal", (0.04, 0.45, 0), ("z", -3)),
        Part(box(0.14, 0.1, 0.02, 0.01), "gloss", "body", (0, 0.86, 0),
             label=LabelMap("front", -0.04, 0.04, 0.12)),
    ), tilt=-25)  # fmt: skip


def _roller() -> Model:
    return Model("roller", (
        Part(cylinder(0.035, 0.55, 0.015), "metal", "metal", (0, 0.3, 0),
             label=None),
        Part(box(0.36, 0.03, 0.03, 0.012), "metal", "metal", (0, 0.59, 0)),
        Part(cylinder(0.09, 0.3, 0.03), "gloss", "body", (0, 0.69, 0), ("z", 90),
             label=None),
        Part(box(0.12, 0.1, 0.03, 0.012), "gloss", "body", (0, 0.12, 0),
             label=LabelMap("front", -0.04, 0.04, 0.1)),
    ), tilt=-20)  # fmt: skip


def _pouch() -> Model:
    return Model("pouch", (
        Part(box(0.7, 0.96, 0.07, 0.035), "gloss", "body", (0, 0.48, 0),
             label=LabelMap("front", -0.3, 0.3, 0.58)),
        Part(box(0.72, 0.04, 0.03, 0.01), "gloss", "body", (0, 0.95, 0)),
    ), elevation=6)  # fmt: skip


def _lash_box() -> Model:
    return Model("lash_box", (
        Part(box(0.92, 0.56, 0.14, 0.02), "gloss", "body", (0, 0.28, 0),
             label=LabelMap("front", -0.22, 0.02, 0.8)),
        Part(box(0.7, 0.18, 0.02, 0.01), "glass", "dark", (0, 0.4, 0.07)),
    ), elevation=18)  # fmt: skip


def _box() -> Model:
    return Model("box", (
        Part(box(0.6, 0.84, 0.3, 0.015), "matte", "body", (0, 0.42, 0),
             label=LabelMap("front", -0.26, 0.26, 0.5)),
    ), elevation=12)  # fmt: skip


def _hair_box() -> Model:
    return Model("hair_box", (
        Part(box(0.62, 0.86, 0.24, 0.015), "matte", "body", (0, 0.43, 0),
             label=LabelMap("front", -0.36, 0.0, 0.5)),
        Part(box(0.4, 0.26, 0.01, 0.005), "gloss", "contents", (0, 0.62, 0.121)),
    ), elevation=12)  # fmt: skip


def _lamp() -> Model:
    dome = cut(ellipsoid(0.5, 0.34, 0.42), (0, -1, 0), 0.0)
    opening = box(0.66, 0.28, 0.5, 0.06)
    return Model("lamp", (
        Part(lambda p: np.maximum(dome(p), -opening(p - np.array([0, 0.0, 0.3]))), "gloss", "body", (0, 0.02, 0),
             label=None),
        Part(box(0.9, 0.03, 0.76, 0.012), "gloss", "cap", (0, 0.015, 0)),
        Part(box(0.3, 0.05, 0.01, 0.02), "glass", "label", (0, 0.28, 0.38),
             label=LabelMap("front", -0.03, 0.03, 0.28)),
    ), elevation=18)  # fmt: skip


def _bar() -> Model:
    return Model("bar", (
        Part(box(0.76, 0.3, 0.46, 0.1), "matte", "body", (0, 0.15, 0),
             label=LabelMap("top", -0.12, 0.12, 0.5)),
    ), elevation=36)  # fmt: skip


def _nail_file() -> Model:
    return Model("nail_file", (
        Part(box(0.1, 0.94, 0.018, 0.04), "matte", "body", (0, 0.47, 0),
             label=LabelMap("front", -0.1, 0.1, 0.08)),
        Part(box(0.104, 0.3, 0.01, 0.04), "powder", "contents", (0, 0.78, 0.006)),
    ), elevation=10, tilt=-28)  # fmt: skip


def _sponge() -> Model:
    return Model("sponge", (
        Part(box(0.84, 0.5, 0.56, 0.2), "bristle", "body", (0, 0.25, 0)),
        Part(box(0.3, 0.1, 0.02, 0.01), "gloss", "label", (0, 0.3, 0.28),
             label=LabelMap("front", -0.05, 0.05, 0.3)),
    ), elevation=14)  # fmt: skip


def _mirror() -> Model:
    return Model("mirror", (
        Part(cylinder(0.36, 0.05, 0.02), "gloss", "body", (0, 0.62, 0), ("x", 90)),
        Part(cylinder(0.33, 0.02, 0.0), "glass", "label", (0, 0.62, 0.026), ("x", 90)),
        Part(cylinder(0.03, 0.3, 0.0), "gloss", "body", (0, 0.17, 0)),
        Part(cylinder(0.2, 0.04, 0.015), "gloss", "body", (0, 0.02, 0),
             label=None),
        Part(box(0.2, 0.05, 0.01, 0.005), "paper", "label", (0, 0.05, 0.2),
             label=LabelMap("front", -0.025, 0.025, 0.2)),
    ), elevation=10)  # fmt: skip


FAMILIES: dict[str, Callable[[], Model]] = {
    "bottle": _bottle,
    "pump": _pump,
    "dropper": _dropper,
    "spray": _spray,
    "perfume": _perfume,
    "jar": _jar,
    "tube": _tube,
    "compact": _compact,
    "palette": _palette,
    "pencil": _pencil,
    "pen": _pen,
    "lipstick": _lipstick,
    "polish": _polish,
    "brush": _brush,
    "comb": _comb,
    "hair_brush": _hair_brush,
    "dryer": _dryer,
    "straightener": _straightener,
    "curler": _curler,
    "toothbrush": _toothbrush,
    "razor": _razor,
    "tweezers": _tweezers,
    "roller": _roller,
    "pouch": _pouch,
    "lash_box": _lash_box,
    "hair_box": _hair_box,
    "lamp": _lamp,
    "bar": _bar,
    "nail_file": _nail_file,
    "sponge": _sponge,
    "mirror": _mirror,
    "box": _box,
}
ALIASES = {"sheet_mask": "pouch", "device": "box"}  # older shape names in saved plans


def model_for(family: str) -> Model:
    """The model of a family; the neutral box for a name no family has."""
    return FAMILIES.get(ALIASES.get(family, family), _box)()


# where a title's colour word goes: on the contents for products whose colour is what is inside
CONTENTS_COLOURED = frozenset({"polish", "lipstick", "palette", "compact", "pencil", "hair_box", "dropper", "perfume"})
