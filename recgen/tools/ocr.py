"""Text recognition: what a viewer can read on a frame.

RapidOCR (Apache-2.0) with the PP-OCR ONNX models its wheel ships (onnxruntime, MIT); nothing is downloaded.
Frames are scaled to a fixed width first, so reading costs the same at any output resolution."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import cv2
import numpy as np

from recgen.errors import BackendUnavailableError

READ_WIDTH = 270  # frames are read at this width (text on a 9:16 phone frame stays legible there)


@dataclass(frozen=True)
class Seen:
    text: str
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in the frame's own pixels
    score: float


class RapidOCRReader:
    name = "rapidocr"

    def __init__(self, threads: int = 2) -> None:
        try:
            from rapidocr import RapidOCR
        except ImportError as e:
            raise BackendUnavailableError("reading text back needs: pip install rapidocr onnxruntime") from e
        logging.getLogger("RapidOCR").setLevel(logging.ERROR)  # "no text detected" is an answer, not a warning
        # detection at the frame's own size: the default scales a small frame up to 736 px, four times slower
        params = {"Global.log_level": "error", "Det.limit_type": "max", "Det.limit_side_len": 480,
                  "EngineConfig.onnxruntime.intra_op_num_threads": threads,
                  "EngineConfig.onnxruntime.inter_op_num_threads": 1}  # fmt: skip
        self.engine = RapidOCR(params=params)

    def load(self) -> RapidOCRReader:
        """Load the detection and recognition models now (the engine loads each on first use): reading a
        word on a blank card needs both."""
        card = np.full((48, READ_WIDTH, 3), 255, np.uint8)
        cv2.putText(card, "recgen", (8, 36), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 0), 2)
        self.read(card)
        return self

    def read(self, frame: np.ndarray, full_width: int | None = None, scale: float | None = None) -> list[Seen]:
        """Text on a frame; boxes in the pixels of a frame `full_width` wide (default: this frame's width).
        A frame already decoded at READ_WIDTH — or a crop of one, with its `scale` — is read as it is."""
        h, w = frame.shape[:2]
        k = READ_WIDTH / (full_width or w)
        if scale is not None:
            img, k = frame, scale
        elif w == READ_WIDTH:
            img = frame
        else:
            k = READ_WIDTH / w
            interp = cv2.INTER_AREA if k < 1 else cv2.INTER_CUBIC
            img = cv2.resize(frame, (READ_WIDTH, max(1, round(h * k))), interpolation=interp)
        # BGR, as the engine expects; no angle classifier: our text is drawn upright (a third faster)
        out = self.engine(np.ascontiguousarray(img[:, :, ::-1]), use_cls=False)
        if out.txts is None:
            return []
        seen = []
        for text, box, score in zip(out.txts, out.boxes, out.scores, strict=True):
            xs, ys = np.asarray(box)[:, 0] / k, np.asarray(box)[:, 1] / k
            seen.append(Seen(str(text), (int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())), float(score)))
        return seen


@functools.cache
def get_ocr(threads: int = 2) -> RapidOCRReader:
    """One reader per process (and thread budget): loading its models takes longer than reading a frame."""
    return RapidOCRReader(threads)
