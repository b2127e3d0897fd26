"""How a simulated viewer responds to one impression of one video (synthetic; documented constants).

click logit = BASE + viewer bias + CONTENT·preference(item) + TASTE·(taste(look) − ½) + POSITION·ln(position)
a click is a Bernoulli draw from it. Watch seconds = length × σ(WATCH_BASE + WATCH_TASTE·(taste − ½) +
WATCH_CONTENT·preference + N(0, WATCH_NOISE²)). A like follows a click with probability LIKE·taste, a purchase
follows a click with probability BUY·preference. `position` is the slot in a feed (1 = top); the slot is
drawn per impression, the same way for every arm of a comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recgen.sim.users import Panel, VideoLook, Viewer

BASE = -2.4
CONTENT = 1.2
TASTE = 2.4
POSITION = -0.35
WATCH_BASE = -0.4
WATCH_TASTE = 2.0
WATCH_CONTENT = 0.8
WATCH_NOISE = 0.5
LIKE = 0.35
BUY = 0.15
SLOTS = 5


@dataclass(frozen=True)
class Response:
    click: bool
    watch_seconds: float
    like: bool
    purchase: bool
    position: int
    p_click: float


def click_probability(panel: Panel, viewer: Viewer, item: int, video: VideoLook, position: int) -> float:
    logit = (
        BASE
        + viewer.bias
        + CONTENT * viewer.content.get(int(item), 0.0)
        + TASTE * (panel.taste(viewer, video) - 0.5)
        + POSITION * np.log(position)
    )
    return float(1.0 / (1.0 + np.exp(-logit)))


def respond(panel: Panel, viewer: Viewer, item: int, video: VideoLook, rng: np.random.Generator,
            position: int | None = None) -> Response:  # fmt: skip
    position = int(rng.integers(1, SLOTS + 1)) if position is None else position
    p = click_probability(panel, viewer, item, video, position)
    click = bool(rng.random() < p)
    taste, pref = panel.taste(viewer, video), viewer.content.get(int(item), 0.0)
    z = WATCH_BASE + WATCH_TASTE * (taste - 0.5) + WATCH_CONTENT * pref + rng.normal(0, WATCH_NOISE)
    watch = video.seconds / (1.0 + np.exp(-z))
    like = click and bool(rng.random() < LIKE * taste)
    buy = click and bool(rng.random() < BUY * pref)
    return Response(click, round(float(watch), 3), like, buy, position, p)
