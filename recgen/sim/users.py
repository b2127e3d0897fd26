"""Simulated viewers for the closed loop, kept apart from the system.

Nothing here reads the GRM, the feedback model, the rewards, the critic's scores or a video's plan: a viewer
knows their own purchase history, their latent taste, and what a rendered video measurably looks and sounds
like (`VideoLook`, from the file's measurements only). Everything below is synthetic except the histories.

*Content preference* — a model that is not ours: item-item co-occurrence (items bought within `WINDOW` steps
of each other) counted on the simulator's own users, whom the system never trains on, cosine-normalised. A
viewer's preference for a catalog item is the mean cosine between it and their last `RECENT` items, scaled
by its maximum over the catalog (1 = the item that fits the history best; 0 = none fits).

*Creative taste* — latent and synthetic: each viewer has an ideal point in the standardised measurement space
(`LOOK`), drawn once: a population point shared by everyone, a shift that depends on what they buy (their
history's co-occurrence factors through a fixed random map, so buyers of similar things like similar looks),
and an individual part. The taste is the normal distribution around the ideal with spread `TOLERANCE`; the
match of a video is that density relative to its peak (1 at the ideal).

All parameters are drawn from the seed when the panel is built, before any comparison is run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import svds

WINDOW = 3
RECENT = 10
FACTORS = 8
# the measurements a viewer perceives (rewards/reencode.MEASURES less loudness, which every ad is normalised
# to, so viewers cannot tell ads apart by it)
LOOK = ("hue_cos", "hue_sin", "brightness", "saturation", "motion", "cut_rate", "tempo", "word_rate", "text_area")
POPULATION_SPREAD = 0.6  # how far the shared ideal sits from the inventory's average look, in SDs
CONTENT_SHIFT = 0.6  # how much of the ideal follows what a viewer buys
INDIVIDUAL_SPREAD = 0.6  # and how much is their own
TOLERANCE = 1.6  # the spread of a viewer's taste around their ideal (SDs per measurement)


def cooccurrence(sequences: list[np.ndarray], n_items: int, window: int = WINDOW) -> sparse.csr_matrix:
    """Symmetric counts of items bought within `window` steps of each other, rows scaled to unit norm."""
    rows, cols = [], []
    for s in sequences:
        for k in range(1, window + 1):
            rows.append(s[:-k])
            cols.append(s[k:])
    r, c = np.concatenate(rows), np.concatenate(cols)
    m = sparse.coo_matrix((np.ones(len(r)), (r, c)), shape=(n_items, n_items)).tocsr()
    m = (m + m.T).tocsr()
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    return sparse.diags(1.0 / np.maximum(norms, 1e-9)) @ m


@dataclass(frozen=True)
class VideoLook:
    """A rendered video as a viewer perceives it: its measurements (rewards/reencode.perceive) and length."""

    measures: dict[str, float]
    seconds: float


@dataclass
class Viewer:
    user: str
    history: np.ndarray
    content: dict[int, float]  # catalog item → 0..1 preference
    ideal: np.ndarray  # standardised LOOK space
    bias: float  # how readily this viewer clicks at all (logit)


@dataclass
class Panel:
    """The simulated viewers and the fixed constants that turn measurements into their look space."""

    viewers: list[Viewer]
    look_mean: np.ndarray
    look_scale: np.ndarray

    def look(self, v: VideoLook) -> np.ndarray:
        return (np.asarray([v.measures[k] for k in LOOK]) - self.look_mean) / self.look_scale

    def taste(self, viewer: Viewer, video: VideoLook) -> float:
        """0..1: the viewer's taste density at the video's look, relative to its peak."""
        d2 = float(((self.look(video) - viewer.ideal) ** 2).sum())
        return float(np.exp(-d2 / (2 * TOLERANCE**2 * len(LOOK))))


def build_panel(histories: dict[str, np.ndarray], sim_sequences: list[np.ndarray], n_items: int,
                catalog: list[int], reference: list[dict[str, float]], seed: int = 0) -> Panel:  # fmt: skip
    """Viewers for `histories` (user → item ids); co-occurrence from `sim_sequences` (users the system never
    trains on); the look space standardised by `reference` measurements (videos measured before any
    comparison), each scale at least 0.05 so a measurement that hardly varies is not blown up."""
    rng = np.random.default_rng(seed)
    co = cooccurrence(sim_sequences, n_items)
    # ARPACK starts from a random vector: seeded, and each factor's sign fixed, or the viewers' tastes (and
    # every A/B figure) would change from one run to the next
    u, sv, _ = svds(co.astype(np.float64), k=FACTORS, random_state=seed)
    u = u * np.sign(u[np.abs(u).argmax(axis=0), np.arange(u.shape[1])])
    factors = u * sv
    ref = np.asarray([[m[k] for k in LOOK] for m in reference])
    mean, scale = ref.mean(axis=0), np.maximum(ref.std(axis=0), 0.05)
    population = rng.normal(0, POPULATION_SPREAD, len(LOOK))
    mix = rng.normal(0, 1, (len(LOOK), FACTORS))
    viewers = []
    cat = np.asarray(catalog)
    for user, hist in histories.items():
        recent = np.asarray(hist[-RECENT:])
        pref = np.asarray(co[recent][:, cat].mean(axis=0)).ravel()
        top = pref.max()
        content = {int(i): float(p / top) if top > 0 else 0.0 for i, p in zip(cat, pref, strict=True)}
        f = factors[recent].mean(axis=0)
        f = f / (np.linalg.norm(f) + 1e-9)
        ideal = population + CONTENT_SHIFT * (mix @ f) / np.sqrt(FACTORS) + rng.normal(0, INDIVIDUAL_SPREAD, len(LOOK))
        viewers.append(Viewer(user, np.asarray(hist), content, ideal, float(rng.normal(0, 0.5))))
    return Panel(viewers, mean, scale)
