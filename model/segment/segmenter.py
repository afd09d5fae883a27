"""Prompt -> mask with a Segment Anything model: the picture is embedded once (the slow part,
cancellable, with progress), then each prompt (points with labels, a box) is one cheap decode.

Coordinates: prompts are given in picture pixels (x right, y down, pixel centres at +0.5),
mapped to the model's input the way the model's own processor maps them (SAM: longest side
resized to 1024 and padded; SAM 2 / EdgeTAM: stretched to 1024x1024), and masks come back at
the picture's size (or any size of the same aspect) the way the processor's post-processing
brings them back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.base import Cancelled, CancelToken, Progress

Point = tuple[float, float]
Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in picture pixels

MODEL_CLASSES = {  # config.model_type -> (model class, processor class) in transformers
    "sam": ("SamModel", "SamProcessor"),
    "sam_hq": ("SamHQModel", "SamHQProcessor"),
    "sam2": ("Sam2Model", "Sam2Processor"),
    "edgetam": ("EdgeTamModel", "Sam2Processor"),
}


@dataclass
class Embedding:
    """One picture's image features, and the geometry that maps prompts onto them."""

    features: object  # a tensor (SAM) or a list of tensors (SAM 2, EdgeTAM); passed back as is
    extra: dict  # further forward() arguments (SAM-HQ's intermediate embeddings)
    size: tuple[int, int]  # the picture: height, width
    resized: tuple[int, int]  # the picture inside the model input: height, width
    padded: tuple[int, int]  # the model input: height, width

    def to_model(self, xy: np.ndarray) -> np.ndarray:
        """Picture (x, y) -> model input (x, y)."""
        h, w = self.size
        rh, rw = self.resized
        return np.asarray(xy, np.float64) * np.array([rw / w, rh / h])


@dataclass
class Prediction:
    logits: np.ndarray  # low-resolution mask logits of the chosen mask (model's 256x256 grid)
    score: float  # the model's predicted IoU for it
    embedding: Embedding

    def mask(self, size: tuple[int, int] | None = None, soft: bool = False) -> np.ndarray:
        """The mask at `size` (height, width; default the picture's): bool, or the
        probability (float32 0..1) with `soft`."""
        import torch
        import torch.nn.functional as F

        e = self.embedding
        size = size or e.size
        t = torch.from_numpy(self.logits)[None, None].float()
        if e.resized != e.padded:  # SAM: up to the padded input, padding cut off, then down
            t = F.interpolate(t, e.padded, mode="bilinear", align_corners=False)
            t = t[..., : e.resized[0], : e.resized[1]]
        t = F.interpolate(t, size, mode="bilinear", align_corners=False)[0, 0]
        if soft:
            return torch.sigmoid(t).numpy().astype(np.float32)
        return (t > 0).numpy()


def _hook_progress(encoder, progress: Callable[[Progress], None] | None,
                   cancel: CancelToken | None) -> list:
    """Hooks on the encoder's largest stack of blocks: after each, cancel is checked and
    progress is reported. Returns the handles to remove."""
    import torch.nn as nn

    lists = [m for m in encoder.modules() if isinstance(m, nn.ModuleList)]
    if not lists:
        return []
    blocks = max(lists, key=len)
    total = len(blocks)
    handles = []
    for i, block in enumerate(blocks):
        def after(_module, _inputs, _output, step=i + 1) -> None:
            if cancel is not None:
                cancel.check()
            if progress is not None:
                progress(Progress("embedding", step, total, "Analysing the picture"))
        handles.append(block.register_forward_hook(after))
    return handles


class Segmenter:
    """A loaded Segment Anything model and its processor."""

    def __init__(self, model, processor, name: str = "") -> None:
        self.model = model.eval()
        self.processor = processor
        self.name = name
        self.model_type = model.config.model_type

    @classmethod
    def load(cls, folder: str | Path, name: str = "", device: str = "cpu") -> Segmenter:
        """Load from a folder of safetensors weights (never remote code, never the network)."""
        import transformers
        from transformers import AutoConfig

        folder = str(folder)
        config = AutoConfig.from_pretrained(folder, local_files_only=True)
        if config.model_type not in MODEL_CLASSES:
            raise ValueError(
                f"{folder} holds a {config.model_type} model, not Segment Anything "
                f"({', '.join(MODEL_CLASSES)})"
            )
        model_name, processor_name = MODEL_CLASSES[config.model_type]
        model = getattr(transformers, model_name).from_pretrained(
            folder, local_files_only=True, use_safetensors=True
        ).to(device)
        processor_cls = getattr(transformers, processor_name)
        try:
            processor = processor_cls.from_pretrained(folder, local_files_only=True)
        except (OSError, ValueError, TypeError):
            processor = default_processor(config.model_type)
        return cls(model, processor, name or Path(folder).name)

    @property
    def device(self):
        return next(self.model.parameters()).device

    def embed(
        self,
        rgb: np.ndarray,
        progress: Callable[[Progress], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> Embedding:
        """The picture's embedding (HxWx3 uint8). Raises Cancelled when `cancel` is set."""
        import torch

        if cancel is not None:
            cancel.check()
        inputs = self.processor(images=np.ascontiguousarray(rgb[:, :, :3]), return_tensors="pt")
        pixels = inputs["pixel_values"].to(self.device)
        padded = tuple(int(v) for v in pixels.shape[-2:])
        resized = padded
        if "reshaped_input_sizes" in inputs:
            resized = tuple(int(v) for v in inputs["reshaped_input_sizes"][0])
        handles = _hook_progress(self.model.vision_encoder, progress, cancel)
        try:
            with torch.inference_mode():
                out = self.model.get_image_embeddings(pixels)
        finally:
            for handle in handles:
                handle.remove()
        extra: dict = {}
        if self.model_type == "sam_hq":
            out, intermediate = out
            extra["intermediate_embeddings"] = intermediate
        if cancel is not None and cancel.cancelled:
            raise Cancelled("cancelled")
        return Embedding(out, extra, (rgb.shape[0], rgb.shape[1]), resized, padded)

    def predict(
        self,
        embedding: Embedding,
        points: Sequence[Point] = (),
        labels: Sequence[int] = (),
        box: Box | None = None,
        previous: Prediction | None = None,
    ) -> Prediction:
        """The best mask for the prompts: points (picture pixels) with labels (1 = the object,
        0 = not), and/or a box. One point alone asks for three candidates and keeps the one the
        model scores highest (a click is ambiguous: part, object, group)."""
        import torch

        if not points and box is None:
            raise ValueError("a prompt needs at least one point or a box")
        kwargs: dict = dict(embedding.extra)
        if points:
            xy = embedding.to_model(np.asarray(points, np.float64).reshape(-1, 2))
            kwargs["input_points"] = torch.tensor(xy, dtype=torch.float32)[None, None]
            kwargs["input_labels"] = torch.tensor(list(labels), dtype=torch.long)[None, None]
        if box is not None:
            corners = embedding.to_model(np.asarray(box, np.float64).reshape(2, 2)).reshape(4)
            kwargs["input_boxes"] = torch.tensor(corners, dtype=torch.float32)[None, None]
        multimask = len(points) == 1 and box is None
        with torch.inference_mode():
            out = self.model(
                image_embeddings=_to(embedding.features, self.device),
                multimask_output=multimask, **kwargs,
            )
        masks = out.pred_masks[0, 0].float().cpu().numpy()  # (candidates, 256, 256)
        scores = out.iou_scores[0, 0].float().cpu().numpy()
        best = int(np.argmax(scores))
        return Prediction(masks[best], float(scores[best]), embedding)


    def candidates(self, embedding: Embedding, points: np.ndarray, batch: int = 64
                   ) -> tuple[np.ndarray, np.ndarray]:
        """Every single-point prompt of `points` (N x 2, picture pixels) at once: the three
        candidate masks' low-resolution logits (N x 3 x h x w) and predicted IoUs (N x 3)."""
        import torch

        logits, scores = [], []
        xy = embedding.to_model(np.asarray(points, np.float64).reshape(-1, 2))
        for start in range(0, len(xy), batch):
            chunk = torch.tensor(xy[start : start + batch], dtype=torch.float32)
            with torch.inference_mode():
                out = self.model(
                    image_embeddings=_to(embedding.features, self.device),
                    input_points=chunk[None, :, None, :],
                    input_labels=torch.ones((1, len(chunk), 1), dtype=torch.long),
                    multimask_output=True, **embedding.extra,
                )
            logits.append(out.pred_masks[0].float().cpu().numpy())
            scores.append(out.iou_scores[0].float().cpu().numpy())
        return np.concatenate(logits), np.concatenate(scores)


def _to(features, device):
    if isinstance(features, (list, tuple)):
        return [f.to(device) for f in features]
    return features.to(device)


def default_processor(model_type: str):
    """The processor a model's Hub folder would hold, with its standard settings."""
    import transformers

    if model_type in ("sam", "sam_hq"):
        processor_cls = getattr(transformers, MODEL_CLASSES[model_type][1])
        return processor_cls(image_processor=transformers.SamImageProcessor())
    return transformers.Sam2Processor(image_processor=transformers.Sam2ImageProcessor())
