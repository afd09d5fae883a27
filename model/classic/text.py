"""Finding text lines with rapidocr (PP-OCR ONNX models shipped inside its wheel).

The bundled model files are passed explicitly so that rapidocr never tries to download.
Detection runs on a copy whose short side is about `OCR_SHORT` pixels (small pictures are
scaled up, which finds small text) and long side at most `OCR_LONG`; boxes are scaled back.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.classic.pieces import quantise, resize
from model.threads import thread_budget

OCR_SHORT = 736
OCR_LONG = 1280
MAX_UPSCALE = 3.0  # beyond this, enlarged blur reads as letters
MIN_SCORE = 0.8
MIN_CHARS = 2  # single characters are mostly false detections in photos
_lock = threading.Lock()
_engine = None


@dataclass
class TextLine:
    box: tuple[int, int, int, int]  # y0, y1, x0, x1 in full-resolution pixels
    text: str
    score: float


def _bundled_models() -> dict[str, str]:
    import rapidocr

    models = Path(rapidocr.__file__).parent / "models"
    params: dict[str, str] = {}
    for key, pattern in (("Det", "*det*.onnx"), ("Rec", "*rec*.onnx"), ("Cls", "*cls*.onnx")):
        found = sorted(models.glob(pattern))
        if found:
            params[f"{key}.model_path"] = str(found[-1])
    return params


def engine():
    """The shared OCR engine (created once; rapidocr is imported lazily)."""
    global _engine
    with _lock:
        if _engine is None:
            from rapidocr import RapidOCR

            threads = thread_budget(min(4, os.cpu_count() or 1))  # a batch worker's share
            params = {
                "Global.log_level": "error",
                "Global.use_cls": False,
                # We size the picture ourselves; rapidocr must not rescale it again.
                "Det.limit_type": "max",
                "Det.limit_side_len": OCR_LONG,
                "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            }
            params.update(_bundled_models())
            _engine = RapidOCR(params=params)
            logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        return _engine


def detect_text(rgb: np.ndarray) -> list[TextLine]:
    """Text lines in an HxWx3 float image, with their recognised words."""
    h, w = rgb.shape[:2]
    if min(h, w) < 24:
        return []
    scale = min(OCR_SHORT / min(h, w), OCR_LONG / max(h, w), MAX_UPSCALE)
    size = max(1, round(w * scale)), max(1, round(h * scale))
    small = resize(rgb, size)
    u8 = quantise(small)
    result = engine()(u8, use_cls=False)
    if result.boxes is None or result.txts is None:
        return []
    sx, sy = w / size[0], h / size[1]
    lines = []
    for quad, text, score in zip(result.boxes, result.txts, result.scores):
        text = str(text).strip()
        if score < MIN_SCORE or len(text.replace(" ", "")) < MIN_CHARS:
            continue
        quad = np.asarray(quad, np.float64)
        x0, y0 = quad.min(axis=0)
        x1, y1 = quad.max(axis=0)
        box = (
            max(0, int(np.floor(y0 * sy))),
            min(h, int(np.ceil(y1 * sy))),
            max(0, int(np.floor(x0 * sx))),
            min(w, int(np.ceil(x1 * sx))),
        )
        if box[1] - box[0] >= 2 and box[3] - box[2] >= 2:
            lines.append(TextLine(box, text, float(score)))
    return lines
