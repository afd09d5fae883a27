"""The `classic` backend: a CPU decomposer that needs no downloaded weights."""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from model.base import (
    Availability,
    CancelToken,
    DecomposedLayer,
    DecomposeError,
    DecomposeOptions,
    DecomposeResult,
    Progress,
    ProgressCallback,
    as_rgba,
)
from model.classic.background import complete_background, shade_under, texture_under
from model.classic.cancel import cancellable
from model.classic.compose import BUSY_SPREAD, SMOOTH_SPREAD, compose_layers, composite
from model.classic.count import MIN_PIECE, Layer, fit_count
from model.classic.design import segment_design
from model.classic.kind import detect_kind
from model.classic.naming import unique_names
from model.classic.overlay import Band, find_band, lift, untint
from model.classic.pieces import Piece, quantise
from model.classic.prior_hook import with_prior
from model.classic.subject import segment_subject
from model.classic.text import detect_text
from model.prior.runtime import enabled as prior_enabled
from model.textfit.attach import text_specs

MIN_SEGMENT_SIDE = 16  # smaller images are not segmented, only split to the layer count
MAX_LAYERS = 20
MAX_MEGAPIXELS = 40  # about 4 GB of working memory at this size
DESIGNED_SHAPES = 0.02  # flat shapes covering this much of a photo make it a design
MIN_BAND_SIDE = 64  # smaller pictures are not searched for translucent bands
RIM_LEAK = 0.2  # a layer with this little of its alpha mass in the band's tint may go above it
BAND_PSNR = 45.0  # a band split must reproduce the input this well, else it is not used
STAGES = ("analysing", "reading text", "segmenting", "completing background", "composing")


def _looks_designed(pieces: list[Piece], canvas: int) -> bool:
    """A photo-like picture with text or sizeable flat shapes on it is treated as a design."""
    flat = sum(p.area for p in pieces if p.kind == "shape")
    return any(p.kind == "text" for p in pieces) or flat >= DESIGNED_SHAPES * canvas


def _overlay_order(layers: list[np.ndarray], band: Band) -> tuple[list[int], list[int]]:
    """The layers that stay under the overlay and those that go above it (text or a logo
    found on a scrim), each bottom first. A layer goes above when it touches the band's
    cut-outs, reaches little into what the band tints (its soft rim; lift() re-solves it
    there) and overlaps none of the layers it is lifted over."""
    h, w = layers[0].shape[:2]
    tinted = band.mask((h, w)) > 0
    on_band = band.above if band.above is not None else np.zeros((h, w), bool)
    below, above = [0], []
    staying = np.zeros((h, w), bool)  # what the layers left under the band cover, above this one
    for index in range(len(layers) - 1, 0, -1):
        alpha = layers[index][:, :, 3]
        seen = alpha > 0
        leak = float(alpha[tinted].sum(dtype=np.int64))  # faint rims reaching into the tint
        mass = float(alpha.sum(dtype=np.int64))
        if seen[on_band].any() and leak <= RIM_LEAK * mass and not seen[staying].any():
            above.insert(0, index)
        else:
            below.insert(1, index)
            staying |= seen
    return below, above


def _reproduces(layers: list[np.ndarray], rgb: np.ndarray) -> bool:
    error = composite(layers)[:, :, :3] - rgb
    mse = float(np.mean(error**2))
    return mse == 0 or 10 * np.log10(1.0 / mse) >= BAND_PSNR


class ClassicDecomposer:
    name = "classic"
    description = (
        "Built-in CPU decomposer (no downloads): text, flat shapes and images of graphic "
        "designs, or the main subject of a photo, over a completed background."
    )

    def availability(self, options: DecomposeOptions | None = None) -> Availability:
        return Availability(True, "the classic decomposer runs on any CPU and needs no weights")

    def decompose(
        self,
        rgba: np.ndarray,
        options: DecomposeOptions,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        bands: bool = True,
    ) -> DecomposeResult:
        token = cancel or CancelToken()
        report = progress or (lambda p: None)
        n = options.layers
        if n is not None and not 1 <= n <= MAX_LAYERS:
            raise DecomposeError(f"the layer count must be between 1 and {MAX_LAYERS}, not {n}")
        megapixels = rgba.shape[0] * rgba.shape[1] / 1e6 if rgba.ndim >= 2 else 0.0
        if megapixels > MAX_MEGAPIXELS:
            raise DecomposeError(
                f"the image is {rgba.shape[1]}x{rgba.shape[0]} ({megapixels:.0f} megapixels); "
                f"the classic decomposer takes up to {MAX_MEGAPIXELS}, so scale it down first"
            )
        image = as_rgba(rgba)
        if prior_enabled(options.prior):  # the learned prior, where it is confident
            run = lambda im, o: self.decompose(im, o, progress, token, bands)  # noqa: E731
            return with_prior(image, options, run)
        rgb = image[:, :, :3].astype(np.float32) / 255.0
        if (
            bands
            and n != 1
            and min(image.shape[:2]) >= MIN_BAND_SIDE
            and image[:, :, 3].min() == 255
        ):
            band = find_band(rgb)
            if band is not None:
                split = self._with_band(image, rgb, band, options, progress, token)
                if split is not None:
                    return split
        timings: dict[str, float] = {}
        warnings: list[str] = []
        started = clock = time.perf_counter()

        def stage(index: int, message: str = "") -> None:
            nonlocal clock
            token.check()
            now = time.perf_counter()
            if index > 0:
                timings[STAGES[index - 1]] = round(now - clock, 3)
            clock = now
            if index < len(STAGES):
                report(Progress(STAGES[index], index, len(STAGES), message))

        alpha_in = image[:, :, 3].astype(np.float32) / 255.0
        h, w = alpha_in.shape
        stage(0, "looking at the picture")
        pieces: list[Piece] = []
        covered = np.zeros((h, w), bool)
        kind = "tiny"
        if min(h, w) >= MIN_SEGMENT_SIDE and alpha_in.max() > 0:
            kind = detect_kind(rgb, alpha_in)
        stage(1, "finding text")
        if kind != "tiny":
            lines = cancellable(token.check, detect_text, rgb * alpha_in[:, :, None])
        else:
            lines = []
        stage(2, f"segmenting a {kind}" if kind != "tiny" else "too small to segment")
        background: np.ndarray | None = None
        model: np.ndarray | None = None  # the background's smooth model, when it has one
        smooth = True
        if kind != "tiny":
            pieces, background, model = cancellable(
                token.check, segment_design, rgb, alpha_in, lines, token.check
            )
            smooth = model is not None
            if (kind == "photo" or not smooth) and not _looks_designed(pieces, h * w):
                from model.classic import warmup  # here: `python -m` runs it as a script

                if warmup.first_run():  # numba compiles pymatting: say so, it takes a minute
                    report(Progress("preparing", 2, len(STAGES), warmup.FIRST_RUN_MESSAGE))
                    cancellable(token.check, warmup.load)
                # Segment Anything's main objects when its weights are downloaded (issue 16);
                # otherwise the saliency cut, kept only when it passes the gate
                from model.segment.classic_objects import object_pieces

                found = cancellable(token.check, object_pieces, rgb, alpha_in, token.check)
                why = ""
                if found:
                    pieces, covered = found
                else:
                    pieces, covered, why = cancellable(
                        token.check, segment_subject, rgb, alpha_in, token.check
                    )
                background, model, smooth = None, None, False
                if not pieces and why:
                    warnings.append(why)
        stage(3, "filling in behind the foreground")
        if background is None:
            background = (
                cancellable(token.check, complete_background, rgb, covered)
                if pieces
                else rgb.astype(np.float32)
            )
        # Specks are not worth a layer of their own: they stay in the background.
        pieces = [p for p in pieces if p.kind == "text" or p.area >= MIN_PIECE * h * w]
        stage(4, "solving layer colours")
        if not smooth and pieces:
            # A texture or photo is continued under everything the pieces touch, from the
            # pixels no piece touches (and not their anti-aliased rims): what shows when a
            # layer is moved, and the guess its soft edges are unblended against.
            background = cancellable(token.check, texture_under, rgb, background, pieces)
        elif model is not None and pieces:
            # What the smooth model does not explain around a piece (a shadow or glow left in
            # the background, the model's own error) is continued under it.
            background = shade_under(rgb, model, background, pieces)
        raw = compose_layers(
            rgb,
            alpha_in,
            background,
            pieces,
            token.check,
            bg_spread=SMOOTH_SPREAD if smooth else BUSY_SPREAD,
        )
        layers = [Layer(raw[0], "Background", "background")] + [
            Layer(rgba_, piece.name, piece.kind) for rgba_, piece in zip(raw[1:], pieces)
        ]
        layers, count_warnings = fit_count(layers, n)
        warnings += count_warnings
        fitting = time.perf_counter()
        specs = cancellable(token.check, text_specs, layers, lines, warnings)  # issue 17
        timings["fitting text"] = round(time.perf_counter() - fitting, 3)
        stage(5)
        timings["total"] = round(time.perf_counter() - started, 3)
        names = unique_names([layer.name for layer in layers])
        return DecomposeResult(
            layers=[
                DecomposedLayer(layer.rgba, name, text=spec)
                for layer, name, spec in zip(layers, names, specs)
            ],
            backend=self.name,
            device="cpu",
            timings=timings,
            warnings=warnings,
        )

    def _with_band(
        self,
        image: np.ndarray,
        rgb: np.ndarray,
        band: Band,
        options: DecomposeOptions,
        progress: ProgressCallback | None,
        token: CancelToken,
    ) -> DecomposeResult | None:
        """The picture without a translucent band, decomposed, with the band over it (under the
        elements found on top of it); None when the split would not reproduce the input."""
        below = untint(rgb, band)
        inner = np.dstack([quantise(below), image[:, :, 3]])
        n = options.layers
        inner_options = dataclasses.replace(options, layers=None if n is None else n - 1)
        result = self.decompose(inner, inner_options, progress, token, bands=False)
        layers = [layer.rgba for layer in result.layers] + [band.layer(image.shape[:2])]
        names = [layer.name for layer in result.layers] + ["Overlay"]
        texts = [layer.text for layer in result.layers] + [None]
        if not _reproduces(layers, rgb):
            return None
        below_ids, above_ids = _overlay_order(layers[:-1], band)
        if above_ids:  # elements on the band: they go above it, the band whole under them
            at = len(below_ids)
            order = below_ids + above_ids
            lifted = lift([layers[i] for i in order], at, band, image)
            if _reproduces(lifted, rgb):
                names, texts = [names[i] for i in order], [texts[i] for i in order]
                layers, names = lifted, names[:at] + ["Overlay"] + names[at:]
                texts = texts[:at] + [None] + texts[at:]
        names = unique_names(names)
        result.layers = [
            DecomposedLayer(rgba, name, text=text) for rgba, name, text in zip(layers, names, texts)
        ]
        return result
