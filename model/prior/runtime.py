"""Loading the prior's ONNX weights and running them with onnxruntime (never torch).

`predict(rgb)` squashes the picture to the network's square, runs it, and returns the maps at
the network's resolution (the caller scales what it needs). A missing or unreadable weights file
raises `PriorUnavailable` with one sentence; the session is cached per file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
ENV_WEIGHTS = "STRATA_PRIOR_WEIGHTS"  # another prior.onnx (tests, experiments)
PRIOR_MODES = ("auto", "on", "off")


class PriorUnavailable(Exception):
    """The prior cannot run; the message is one sentence."""


@dataclass(frozen=True)
class Prior:
    session: object  # onnxruntime.InferenceSession
    res: int
    manifest: dict

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        """Float RGB HxWx3 in [0, 1] -> maps RxRx5 float32 (`model.train.data.targets`)."""
        small = cv2.resize(
            np.ascontiguousarray(rgb, np.float32),
            (self.res, self.res),
            interpolation=cv2.INTER_AREA,
        )
        x = small.transpose(2, 0, 1)[None].astype(np.float32)
        (maps,) = self.session.run(None, {"rgb": x})
        return maps[0].transpose(1, 2, 0)


def weights_path() -> Path:
    return Path(os.environ.get(ENV_WEIGHTS) or WEIGHTS_DIR / "prior.onnx")


def manifest(path: Path | None = None) -> dict:
    """The manifest beside the weights ({} when there is none or it is unreadable)."""
    path = (path or weights_path()).with_name("manifest.json")
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def enabled(mode: str) -> bool:
    """Whether a decomposition with `--prior mode` should try the prior: `on` always, `auto`
    when the shipped manifest says it won on the held-out sets, `off` never."""
    if mode == "off":
        return False
    if mode == "on":
        return True
    return bool(manifest().get("default_on", False))


def load(path: Path | None = None) -> Prior:
    path = path or weights_path()
    return _load(str(path), path.stat().st_mtime_ns if path.exists() else 0)


@lru_cache(maxsize=2)
def _load(path: str, _mtime: int) -> Prior:
    if not Path(path).is_file():
        raise PriorUnavailable(f"the layer prior's weights are missing ({path})")
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        shape = session.get_inputs()[0].shape
        res = int(shape[-1])
    except Exception as exc:  # noqa: BLE001 - any reader failure: the file is not usable
        raise PriorUnavailable(
            f"the layer prior's weights ({path}) are not a usable ONNX model"
        ) from exc
    return Prior(session, res, manifest(Path(path)))
