"""What the serving API does, without HTTP: the online path (the GRM proposes a user's D-SID, the cache
answers at once with what it has) and the near-line path (a job makes the missing video and adds it to the
cache), as the paper serves generated videos.

The cache is keyed by product and creative codes, with the product's catalog content codes for the
nearest-content fallback, so a video made for one user serves every later request for the same D-SID.
"""

from __future__ import annotations

import base64
import binascii
import gc
import threading
from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np

from recgen.agents.critic import ranking
from recgen.errors import CatalogError, InputError, RecgenError
from recgen.feedback import FeedbackStore
from recgen.generate import generate_video
from recgen.runs import RECORD_FILE, RunFolder
from recgen.schemas import DSID, CriticReport
from recgen.serving.cache import Entry, VideoCache
from recgen.serving.queue import Job, JobQueue
from recgen.serving.store import PIPELINE, progress
from recgen.settings import Settings
from recgen.sid.recommender import Recommender, check_space, load_recommender
from recgen.sid.semantics import SIDSpace, load_sid_space

RENDER = "render"


class NoGRM(RecgenError):
    """The server was started without a GRM checkpoint (or it is gone): user requests cannot be served."""


def video_id(key: str) -> str:
    """A cache key as a URL-safe id (keys hold '/')."""
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def key_of(vid: str) -> str:
    try:
        return base64.urlsafe_b64decode(vid + "=" * (-len(vid) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as e:
        raise InputError(f"{vid!r} is not a video id") from e


class BeamBatcher:
    """The GRM's beam searches for concurrent requests, run together: requests that arrive while one search
    runs wait for the next and share it (no added wait when idle). One search of B histories costs far less
    than B searches, so the server keeps up under load instead of queueing requests behind each other."""

    def __init__(self, rec: Recommender, with_text: set[int] | None, max_batch: int = 64) -> None:
        self.rec, self.with_text, self.max_batch = rec, with_text, max_batch
        self._cond = threading.Condition()
        self._pending: list[tuple[np.ndarray, Future]] = []
        self.batch_sizes: Counter[int] = Counter()  # searches by how many requests they served
        threading.Thread(target=self._loop, name="recgen-beam", daemon=True).start()

    def propose(self, history: np.ndarray) -> list[tuple[tuple[int, ...], float, bool]]:
        fut: Future = Future()
        with self._cond:
            self._pending.append((history, fut))
            self._cond.notify()
        return fut.result()

    def _loop(self) -> None:
        import torch

        # these matrices are small: from a worker thread, splitting each op over two intra-op threads
        # measured slower than one (14 vs 8 ms per user at batch 1 on 2 cores). Process-wide in torch; a
        # server's renders spend their time in ffmpeg and numpy, not torch
        torch.set_num_threads(1)
        while True:
            with self._cond:
                while not self._pending:
                    self._cond.wait()
                batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            self.batch_sizes[len(batch)] += 1
            try:
                results = self.rec.generate_many([h for h, _ in batch], k=1, content_items=self.with_text)
            except Exception as e:  # every waiting request gets the error, the loop goes on
                for _, fut in batch:
                    fut.set_exception(e)
                continue
            for (_, fut), r in zip(batch, results, strict=True):
                fut.set_result(r)


def propose(
    rec: Recommender, space: SIDSpace, with_text: set[int] | None, user: str, batcher: BeamBatcher | None = None,
    history: np.ndarray | None = None,
) -> tuple[str, DSID, list[int]]:  # fmt: skip
    """The GRM's best D-SID for the user (generation mode; `with_text` limits the products, None: the whole
    catalog): the product, its D-SID in the catalog's content space, and the user's history as item ids.
    `history` replaces the stored one (a replay up to some point)."""
    index = rec.data.index_of(str(user))  # an unknown user: CatalogError naming the id form
    history = rec.data.sequences[index] if history is None else np.asarray(history)
    if batcher is not None:
        proposals = batcher.propose(history)
    else:
        proposals = rec.generate_many([history], k=1, content_items=with_text)[0]
    if not proposals:
        raise CatalogError(f"the GRM proposed no D-SID for user {user!r}")
    proposed = rec.dsid(proposals[0][0])
    product = space.catalog.get(str(rec.item_for_content(proposed.content)))
    dsid = DSID(content=space.content_codes(product), creative=proposed.creative)
    return product.id, dsid, rec.item_of_entry[history].tolist()


def cache_run(cache: VideoCache, product: str, dsid: DSID, video: Path, run_id: str,
              reports: list[CriticReport]) -> Entry:  # fmt: skip
    """A finished run's video into the cache, with the critic's chosen draft's scores and the D-SID its
    file re-encodes to (what the API and the batch executor both keep)."""
    best = max(reports, key=ranking) if reports else None
    measured = None
    if best is not None and best.reencoding is not None:
        measured = {"content": list(best.reencoding.content), "creative": list(best.reencoding.creative)}
    scores = {"total": best.total, "reward": best.reward, **best.rewards} if best is not None else None
    return cache.put(product, dsid.content, dsid.creative, video, run_id, measured, scores)


@dataclass(frozen=True)
class Served:
    """The answer of the online path: which cache case applied, the video served (if any), the job queued
    for the exact D-SID (if any), and the D-SID that was asked for."""

    case: Literal["hit", "content", "nearest", "miss"]
    product: str
    dsid: DSID
    entry: Entry | None
    job: Job | None
    job_created: bool = False
    basis: Literal["history", "popular", "request"] = "request"  # why this D-SID (popular: a user without history)


class VideoService:
    def __init__(self, settings: Settings, grm: Path | None = None, *, workers: int = 1, capacity: int = 32,
                 timeout_s: float = 900.0, cache_max_bytes: int | None = None,
                 cache_max_age_s: float | None = None) -> None:  # fmt: skip
        self.settings = settings
        root = Path(settings.runs_dir) / "serving"
        self.space = load_sid_space(settings.data_dir, settings.cache_dir, seed=0)
        self.with_text: set[int] | None = None  # every catalog item has text to advertise
        self.grm_path = grm
        self._rec: Recommender | None = None
        self._batcher: BeamBatcher | None = None
        self._rec_lock = threading.Lock()
        self.cache = VideoCache(root / "cache", max_bytes=cache_max_bytes, max_age_s=cache_max_age_s,
                                space=self.space.name)  # fmt: skip
        self.feedback = FeedbackStore(settings.runs_dir)
        self.queue = JobQueue(root / "jobs.sqlite", self._render, workers=workers, capacity=capacity,
                              timeout_s=timeout_s)  # fmt: skip

    @property
    def recommender(self) -> Recommender:
        with self._rec_lock:
            if self._rec is None:
                if self.grm_path is None:
                    raise NoGRM("this server has no GRM: start it with --grm runs/grm/rec2video.pt (made by "
                                   "`recgen grm train --creative`)")  # fmt: skip
                if not Path(self.grm_path).is_file():
                    raise NoGRM(f"no GRM checkpoint at {self.grm_path}; train one with `recgen grm train --creative`")
                rec = load_recommender(Path(self.grm_path))
                check_space(rec, self.space)
                self._rec = rec
                self._batcher = BeamBatcher(self._rec, self.with_text)
            return self._rec

    def propose(self, user: str) -> tuple[str, DSID, list[int]]:
        rec = self.recommender
        return propose(rec, self.space, self.with_text, user, self._batcher)

    def for_user(self, user: str, key: str | None = None) -> Served:
        """The online path: propose, look up, and queue the exact video when the cache lacks it."""
        product, dsid, history = self.propose(user)
        return replace(self._serve(product, dsid, history, key), basis="history" if history else "popular")

    def for_product(self, product: str, creative: str, key: str | None = None) -> Served:
        """A video of a catalog product in a creative (preset name or D-SID's creative half)."""
        p = self.space.catalog.get(str(product))
        return self._serve(p.id, self.space.dsid_for(p, creative), [], key)

    def _serve(self, product: str, dsid: DSID, history: list[int], key: str | None) -> Served:
        found = self.cache.lookup(product, dsid.content, dsid.creative)
        if found.case == "hit":
            return Served("hit", product, dsid, found.entry, None)
        payload = {"product": product, "creative": list(dsid.creative), "viewer": history[-50:]}
        job, created = self.queue.submit(RENDER, payload, key)
        return Served(found.case, product, dsid, found.entry, job, created)

    def check_users(self, events) -> None:
        """Feedback comes from users the GRM knows (a new user is one with an empty history in its
        interactions); without a GRM there is no list of users to check against."""
        try:
            users = self.recommender.data
        except NoGRM:
            return
        for i, e in enumerate(events):
            try:
                users.index_of(e.user)
            except CatalogError:
                raise InputError(f"event {i} ({e.event_id}): unknown user {e.user!r}; a new user is declared with an "
                                 "empty history in the interactions the GRM was trained on") from None  # fmt: skip

    def video(self, vid: str) -> Entry:
        entry = self.cache.get(key_of(vid))
        if entry is None or not entry.path.is_file():
            raise CatalogError(f"no video {vid!r} in the cache (it may have been evicted)")
        return entry

    def _render(self, job: Job, report) -> dict:
        """A queued video: generate it, keep the draft the critic chose, add it to the cache."""
        p = job.payload
        product = self.space.catalog.get(p["product"])
        dsid = DSID(content=self.space.content_codes(product), creative=tuple(p["creative"]))
        seen: set[str] = set()

        def on_event(node: str, message: str) -> None:
            seen.add(node)
            report(min(progress(seen), 0.99), f"{node}: {message}")

        rid = f"job-{job.id}"  # a job's run has a name of its own: a requeued job finds it and resumes it
        if (RunFolder.of(self.settings.runs_dir, rid).path / RECORD_FILE).is_file():
            report(0.0, f"resuming run {rid} from its checkpoint")
            result = generate_video(resume=rid, settings=self.settings, on_event=on_event)
        else:
            report(0.0, f"starting ({len(PIPELINE)} stages)")
            result = generate_video(product, dsid, settings=self.settings, viewer=p.get("viewer", ()),
                                    on_event=on_event, run_id=rid)  # fmt: skip
        if result.final_path is None:
            raise CatalogError(f"run {result.run_id} ended without a video (status {result.status})")
        entry = cache_run(self.cache, product.id, dsid, result.final_path, result.run_id, result.reports)
        return {"video": video_id(entry.key), "run_id": result.run_id, "dsid": str(dsid)}

    def beam_batch_sizes(self) -> dict[int, int]:
        return dict(self._batcher.batch_sizes) if self._batcher is not None else {}

    def warm(self) -> None:
        """Load the GRM and run one search now, not on the first request, and what a render loads on first
        use (the voice, OCR, speech recognition, the feedback model), not inside the first job; then move
        everything loaded out of the garbage collector's way (a full collection over the models' objects
        stalled requests)."""
        from recgen.generate import load_for_render

        load_for_render(self.settings)
        if self.grm_path is not None:
            rec = self.recommender
            if rec.data.users:
                self.propose(rec.data.users[0])
        gc.collect()
        gc.freeze()

    def close(self) -> None:
        self.queue.close(wait=False)
