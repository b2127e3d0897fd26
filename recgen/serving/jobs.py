"""Runs started from the UI (resume after review, regenerate with another creative code) execute in a
background thread, one at a time, so the page stays responsive and the machine is not oversubscribed."""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from recgen.errors import RecgenError
from recgen.generate import generate_video
from recgen.settings import Settings

log = logging.getLogger(__name__)


class Jobs:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recgen-run")
        self.futures: dict[str, Future] = {}

    def submit(self, key: str, **kwargs: Any) -> Future:
        """Start generate_video in the background; failures are written to the run's record by it."""

        kwargs.setdefault("settings", self.settings)

        def work():
            try:
                return generate_video(**kwargs)
            except RecgenError as e:
                log.warning("run %s failed: %s", key, e)
                raise

        fut = self._pool.submit(work)
        self.futures[key] = fut
        return fut

    def busy(self, run_id: str) -> bool:
        fut = self.futures.get(run_id)
        return fut is not None and not fut.done()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)
