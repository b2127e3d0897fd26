"""Every tool an agent can call, declared once: its name, what it is for, its arguments (a pydantic model,
used to validate calls from the built-in rules and to describe the tool to an LLM) and what of its result a
model sees. The registry (tools/__init__.py) binds each spec to the backends a run's settings choose."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from recgen.schemas import BgmSpec, Product, ShotPlan, Typeface


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RenderArgs(_Args):
    shot: ShotPlan
    product: Product
    palette: tuple[str, ...]
    product_kind: str  # the packshot shape (tools/packshot.py; "box" is the neutral one)
    label: tuple[str | None, str] = (None, "")  # (brand, name) printed on the packshot, from the fact sheet
    colour: tuple[int, int, int] | None = None  # the colour the title names for the product (fact sheet)
    typeface: Typeface
    text_color: str
    seed: int = 0


class PackshotArgs(_Args):
    kind: str = Field(description="packshot type from the content semantics, e.g. dropper, jar, tube")
    brand: str = ""
    name: str = ""
    height: int = Field(400, ge=32, le=2000)


class TtsArgs(_Args):
    text: str = Field(description="the voice line to speak", max_length=400)
    rate: float = Field(1.0, gt=0.4, le=2.5, description="speaking rate (1.0 = normal)")


class BgmArgs(_Args):
    spec: BgmSpec
    duration: float = Field(gt=0, le=600, description="seconds of music")
    rate: int = Field(22050, ge=8000, le=96000, description="sample rate")


class TranscribeArgs(_Args):
    path: Path = Field(description="an audio or video file to listen to (wav, m4a, mp4)")
    prompt: str | None = Field(None, max_length=400, description="words the listener knows: the product's title")


class TypographyArgs(_Args):
    text: str = Field(max_length=400)
    typeface: Typeface = "sans"
    size: int = Field(32, ge=8, le=200, description="font size in pixels")
    max_width: int = Field(600, ge=40, le=4000, description="line width in pixels")


class SpriteArgs(_Args):
    text: str = Field(min_length=1, max_length=60)
    kind: str = Field("badge", description="button, or a sticker kind: price, discount, badge")
    typeface: Typeface = "sans-bold"
    size: int = Field(32, ge=8, le=200, description="font size in pixels")
    max_width: int = Field(600, ge=40, le=4000)


@dataclass(frozen=True)
class ToolSpec:
    """A tool as the agents see it. `summarize` is what a model is told of a result; None means the tool
    produces media and runs after planning (a model cannot call it while it plans)."""

    name: str
    description: str
    args: type[_Args]
    run: Callable[[Any], Any]
    summarize: Callable[[Any], dict[str, Any]] | None = None


def size_of(image: Any) -> dict[str, int]:
    return {"width": int(image.shape[1]), "height": int(image.shape[0])} if hasattr(image, "shape") else {}
