"""User → GRM → D-SIDs → video: the whole Recommendation-as-Generation path for one user.

The GRM runs in generation mode (any valid content path × any valid creative path) over the whole catalog;
the best D-SID's content picks the product and its creative codes choose the style of the video the graph
then generates.
"""

from __future__ import annotations

from pathlib import Path

from recgen.errors import CatalogError
from recgen.generate import RunResult, generate_video
from recgen.runs import write_record
from recgen.settings import Settings
from recgen.sid.recommender import check_space, load_recommender
from recgen.sid.semantics import load_sid_space


def video_for_user(user: str, checkpoint: Path, settings: Settings | None = None, **kwargs) -> RunResult:
    settings = settings or Settings()
    rec = load_recommender(checkpoint)
    space = load_sid_space(settings.data_dir, settings.cache_dir)
    check_space(rec, space)
    proposals = rec.generate(str(user), k=5)
    if not proposals:
        raise CatalogError(f"the GRM proposed no D-SID for user {user!r}")
    path, logp, exists = proposals[0]
    proposed = rec.dsid(path)  # content in the catalog's space (or a collaborative GRM's own), creative shared
    item = rec.item_for_content(proposed.content)
    product = space.catalog.get(str(item))
    history = rec.item_of_entry[rec.history(str(user))].tolist()  # item ids (entries pair items with creatives)
    result = generate_video(product, proposed, settings=settings, viewer=history, **kwargs)
    write_record(
        result.run_dir,
        grm={
            "user": str(user),
            "history": rec.history(str(user)).tolist()[-10:],
            "dsid": proposed.model_dump(mode="json"),
            "log_prob": logp,
            "existing_video": exists,
            "item": item,
            # a user without history is offered the most popular D-SIDs, not a prediction (cold start)
            "basis": "popular" if rec.cold(str(user)) else "history",
            "alternatives": [
                {"dsid": rec.dsid(p).model_dump(mode="json"), "log_prob": lp, "existing_video": e}
                for p, lp, e in proposals[1:]
            ],
        },
    )
    return result
