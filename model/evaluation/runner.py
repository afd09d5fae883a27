"""Run a predictor over a dataset and build the paper's table.

A predictor is a backend (anything satisfying model/base.py's Decomposer), a reference baseline
(model/evaluation/baselines.py), or a folder of predictions in the dataset layout (`--pred DIR`,
matched by sample folder name), so other tools' outputs are scored by the same code.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from model.base import DecomposeOptions, Decomposer
from model.evaluation.baselines import BASELINES, ColourClusters, SingleLayer
from model.evaluation.dataset import (
    DatasetError,
    Sample,
    read_layers,
    read_sample,
    sample_dirs,
    write_layers,
)
from model.evaluation.metrics import MAX_MERGES, PSNR_CAP_DB, SampleScore, psnr, score_sample
from model.evaluation.reveal import RevealScore, background_kinds, reveal_score, summarise


@dataclass
class Predictor:
    name: str  # e.g. "backend classic", "baseline kmeans", "predictions /path"
    predict: Callable[[Sample], list[np.ndarray]]
    timed: bool = True  # whether its seconds measure a decomposition (not a file read)
    backend: str | None = None  # the decomposer's name, when it is one


def decomposer_predictor(
    decomposer: Decomposer, options: DecomposeOptions, label: str | None = None
) -> Predictor:
    def predict(sample: Sample) -> list[np.ndarray]:
        result = decomposer.decompose(sample.composite, options)
        return [layer.rgba for layer in result.layers]

    return Predictor(label or f"backend {decomposer.name}", predict, backend=decomposer.name)


def backend_predictor(name: str, options: DecomposeOptions) -> Predictor:
    from model.registry import choose_backend

    backend, why = choose_backend(name, options)
    return decomposer_predictor(backend, options, f"backend {backend.name} ({why})")


def simulated_predictor(
    options: DecomposeOptions, upscale: float | None = None, drift: float | None = None
) -> Predictor:
    """The true layers degraded as a model degrades them (model/evaluation/simulate.py), then
    brought back to the sample's size by refinement (options.refine "auto") or by the plain
    resize `qwen` used before it ("off"). Seeded by --seed and the sample's name."""
    import zlib

    from model.evaluation.simulate import Degradation, degrade, naive_resize
    from model.refine import refine_layers

    settings = {} if drift is None else {"drift": drift, "field": drift / 2}
    degradation = Degradation(resolution=options.resolution, upscale=upscale, **settings)
    refine = options.refine != "off"

    def predict(sample: Sample) -> list[np.ndarray]:
        seed = [options.seed or 0, zlib.crc32(sample.name.encode("utf-8"))]
        frames = degrade(sample.layers, degradation, np.random.default_rng(seed))
        height, width = sample.composite.shape[:2]
        if refine:
            return refine_layers(sample.composite, frames).layers
        return naive_resize(frames, width, height)

    how = "refined" if refine else "naive resize"
    return Predictor(f"{degradation.label()}, {how}", predict)


def baseline_predictor(
    name: str, options: DecomposeOptions, upscale: float | None = None
) -> Predictor:
    if name == "simulated":
        return simulated_predictor(options, upscale)
    if name == "gt":
        return Predictor("baseline gt", lambda sample: list(sample.layers))
    if name == "single":
        return decomposer_predictor(SingleLayer(), options, "baseline single")
    if name == "kmeans":
        k = options.layers or 4
        return decomposer_predictor(ColourClusters(), options, f"baseline kmeans (k={k})")
    raise DatasetError(f"unknown baseline '{name}'; choose one of: {', '.join(BASELINES)}")


def folder_predictor(pred_dir: Path) -> Predictor:
    pred_dir = Path(pred_dir)
    if not pred_dir.is_dir():
        raise DatasetError(f"{pred_dir} is not a folder of predictions")

    def predict(sample: Sample) -> list[np.ndarray]:
        folder = pred_dir / sample.name
        if not folder.is_dir():
            raise DatasetError(f"no prediction for {sample.name} in {pred_dir}")
        return read_layers(folder)

    return Predictor(f"predictions {pred_dir}", predict, timed=False)


def _fit(layers: list[np.ndarray], shape: tuple[int, ...]) -> tuple[list[np.ndarray], bool]:
    """Layers at the sample's size (Pillow resizes RGBA with premultiplied alpha)."""
    if not layers:
        raise DatasetError("the prediction has no layers")
    for layer in layers:
        if layer.ndim != 3 or layer.shape[2] != 4 or layer.dtype != np.uint8:
            raise DatasetError(f"a predicted layer is {layer.dtype} {layer.shape}, not HxWx4 uint8")
    if all(layer.shape == shape for layer in layers):
        return layers, False
    size = (shape[1], shape[0])
    fitted = [
        np.asarray(Image.fromarray(x, "RGBA").resize(size, Image.Resampling.BILINEAR))
        for x in layers
    ]
    return fitted, True


@dataclass
class SampleResult:
    name: str
    score: SampleScore | None = None
    psnr_db: float | None = None
    seconds: float | None = None  # the predictor's time for this sample
    metric_seconds: float | None = None
    resized: bool = False
    error: str | None = None
    reveal: RevealScore | None = None  # with `evaluate(..., reveal=True)`
    kind: str = "other"  # the sample's background kind, when the dataset says

    def to_json(self) -> dict:
        out: dict = {"name": self.name}
        if self.error is not None:
            out["error"] = self.error
            return out
        assert self.score is not None
        out.update(
            rgb_l1=self.score.rgb_l1,
            alpha_iou=self.score.alpha_iou,
            psnr_db=self.psnr_db,
            seconds=self.seconds,
            metric_seconds=self.metric_seconds,
            layers_pred=self.score.pred_layers,
            layers_gt=self.score.gt_layers,
            groups_pred=self.score.pred_groups,
            groups_gt=self.score.gt_groups,
            merges=self.score.merges,
            resized=self.resized,
        )
        if self.reveal is not None:
            out["reveal"] = self.reveal.to_json()
            out["background"] = self.kind
        return out


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


@dataclass
class Report:
    dataset: str
    predictor: str
    max_merges: int
    results: list[SampleResult] = field(default_factory=list)

    @property
    def scored(self) -> list[SampleResult]:
        return [r for r in self.results if r.score is not None]

    @property
    def failed(self) -> list[SampleResult]:
        return [r for r in self.results if r.error is not None]

    def table(self) -> list[dict]:
        scored = [r.score for r in self.scored if r.score is not None]
        return [
            {
                "merge": k,
                "rgb_l1": _mean([s.rgb_l1[k] for s in scored]),
                "alpha_iou": _mean([s.alpha_iou[k] for s in scored]),
            }
            for k in range(self.max_merges + 1)
        ]

    def reveal_summary(self) -> dict | None:
        scores = [(r.kind, r.reveal) for r in self.scored if r.reveal is not None]
        return summarise(scores) if scores else None

    def summary(self) -> dict:
        scored = self.scored
        scores = [r.score for r in scored if r.score is not None]
        seconds = [r.seconds for r in scored if r.seconds is not None]
        return {
            "samples": len(self.results),
            "scored": len(scored),
            "failed": len(self.failed),
            "psnr_db": _mean([r.psnr_db for r in scored if r.psnr_db is not None]),
            "psnr_exact": sum(1 for r in scored if r.psnr_db == PSNR_CAP_DB),
            "seconds_per_image": _mean(seconds),
            "metric_seconds_per_image": _mean(
                [r.metric_seconds for r in scored if r.metric_seconds is not None]
            ),
            "layers_pred": _mean([float(s.pred_layers) for s in scores]),
            "layers_gt": _mean([float(s.gt_layers) for s in scores]),
            "groups_pred": _mean([float(s.pred_groups) for s in scores]),
            "groups_gt": _mean([float(s.gt_groups) for s in scores]),
            "resized": sum(1 for r in scored if r.resized),
        }

    def to_json(self, per_sample: bool = True) -> dict:
        out = {
            "dataset": self.dataset,
            "predictor": self.predictor,
            "protocol": "LayerD: pre-grouping, order-aware DTW, greedy merges",
            "table": self.table(),
            **self.summary(),
            "errors": [{"name": r.name, "error": r.error} for r in self.failed],
        }
        reveal = self.reveal_summary()
        if reveal is not None:
            out["reveal"] = reveal
        if per_sample:
            out["per_sample"] = [r.to_json() for r in self.results]
        return out

    def format(self) -> str:
        s = self.summary()
        head = f"{self.predictor} on {self.dataset}: {s['scored']} samples scored"
        if s["failed"]:
            head += f", {s['failed']} failed"
        lines = [
            head,
            "",
            "Merge   RGB L1 (lower is better)   Alpha soft IoU (higher is better)",
        ]
        for row in self.table():
            l1 = "-" if row["rgb_l1"] is None else f"{row['rgb_l1']:.4f}"
            iou = "-" if row["alpha_iou"] is None else f"{row['alpha_iou']:.4f}"
            lines.append(f"{row['merge']:>5}   {l1:>24}   {iou:>33}")
        lines.append("")
        if s["psnr_db"] is not None:
            lines.append(
                f"Reconstruction PSNR: {s['psnr_db']:.2f} dB mean "
                f"({s['psnr_exact']} exact, counted as {PSNR_CAP_DB:.0f} dB)"
            )
        if s["seconds_per_image"] is not None:
            lines.append(f"Seconds per image: {s['seconds_per_image']:.3f} (decomposition)")
        if s["metric_seconds_per_image"] is not None:
            lines.append(f"Metric seconds per image: {s['metric_seconds_per_image']:.3f}")
        if s["layers_pred"] is not None:
            lines.append(
                f"Layers per image: predicted {s['layers_pred']:.2f} "
                f"({s['groups_pred']:.2f} after pre-grouping), ground truth "
                f"{s['layers_gt']:.2f} ({s['groups_gt']:.2f} after pre-grouping)"
            )
        if s["resized"]:
            lines.append(f"{s['resized']} predictions were resized to the sample size")
        reveal = self.reveal_summary()
        if reveal is not None:
            lines += [
                "",
                "Reveal (bottom layer alone vs the true background; edge colour of matched layers)",
            ]
            lines.append(
                f"{'background':<12} {'n':>4} {'reveal L1':>10} {'outline mean':>13} "
                f"{'median':>8} {'edge L1':>8}"
            )
            for kind, f in reveal.items():
                cells = [
                    _cell(f["reveal_l1"]),
                    _cell(f["outline_mean"], True),
                    _cell(f["outline_median"], True),
                    _cell(f["edge_l1"]),
                ]
                lines.append(
                    f"{kind:<12} {f['samples']:>4} {cells[0]:>10} {cells[1]:>13} "
                    f"{cells[2]:>8} {cells[3]:>8}"
                )
        for r in self.failed[:10]:
            lines.append(f"failed: {r.name}: {r.error}")
        if len(self.failed) > 10:
            lines.append(f"... and {len(self.failed) - 10} more failures (see --json)")
        return "\n".join(lines)


def _cell(value: float | None, percent: bool = False) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.2f} %" if percent else f"{value:.4f}"


def evaluate(
    dataset: Path,
    predictor: Predictor,
    limit: int | None = None,
    max_merges: int = MAX_MERGES,
    save_pred: Path | None = None,
    progress: Callable[[int], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    reveal: bool = False,
) -> Report:
    """Score `predictor` on the dataset's samples (the first `limit` by name); with `reveal`
    also the reveal test and edge colour (model/evaluation/reveal.py)."""
    dirs = sample_dirs(Path(dataset))
    kinds = background_kinds(Path(dataset)) if reveal else {}
    if limit is not None:
        dirs = dirs[: max(0, limit)]
    if on_start is not None:
        on_start(len(dirs))
    report = Report(str(dataset), predictor.name, max_merges)
    for folder in dirs:
        result = _evaluate_one(folder, predictor, max_merges, save_pred, reveal)
        result.kind = kinds.get(folder.name, "other")
        report.results.append(result)
        if progress is not None:
            progress(1)
    return report


def _evaluate_one(
    folder: Path, predictor: Predictor, max_merges: int, save_pred: Path | None, reveal: bool
) -> SampleResult:
    result = SampleResult(folder.name)
    try:
        sample = read_sample(folder)
        start = time.perf_counter()
        predicted = predictor.predict(sample)
        if predictor.timed:
            result.seconds = time.perf_counter() - start
        layers, result.resized = _fit(predicted, sample.composite.shape)
        if save_pred is not None:
            write_layers(Path(save_pred) / sample.name, layers)
        start = time.perf_counter()
        result.score = score_sample(layers, sample.layers, max_merges=max_merges)
        result.psnr_db = psnr(layers, sample.composite)
        if reveal:
            result.reveal = reveal_score(layers, sample.layers)
        result.metric_seconds = time.perf_counter() - start
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - one bad sample is reported, the run goes on
        result.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return result
