"""The prior's effect on a dataset (LayerD protocol, Merge 0), measured where it acts.

    python benchmarks/eval_prior.py DATASET [--full | --baseline L1 IOU] [--oracle]
                                    [--out FILE.json]

Classic with `--prior on` gives exactly classic's own answer wherever the prior does not take an
overlay off (the same code runs), so only the samples where it does are scored both ways: the
full-set figure with the prior is the full set's figure without it plus the summed per-sample
change over N. `--full` scores every sample without the prior first (else pass the known
figure with --baseline). Prints JSON: how often the prior acted, on samples with and without a
true full-canvas tint/fade, and the Merge 0 RGB L1 / alpha soft IoU off and on. `--oracle`
feeds the hook the true maps (from the dataset's layers and dataset.json's kinds) instead of
the network's: what classic would gain from a perfect prior of this kind.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model.base import DecomposeOptions  # noqa: E402
from model.classic import ClassicDecomposer  # noqa: E402
from model.classic.prior_hook import candidate, with_prior  # noqa: E402
from model.evaluation.dataset import read_rgba, read_sample, sample_dirs  # noqa: E402
from model.evaluation.runner import Predictor, backend_predictor, evaluate  # noqa: E402
from model.prior import runtime  # noqa: E402
from model.train import data  # noqa: E402
from model.train.net import RES  # noqa: E402

FULL_CANVAS = ("overlay:tint", "overlay:fade")


def _kinds(dataset: Path) -> dict[str, list[str]]:
    try:
        info = json.loads((dataset / "dataset.json").read_text())
    except (OSError, ValueError):
        return {}
    return {s["name"]: s.get("layers", []) for s in info.get("samples", [])}


class Oracle:
    """The true maps of one sample, at the network's resolution."""

    def __init__(self, sample, kinds: list[str], res: int = RES) -> None:
        true = data.Sample(sample.composite, sample.layers, kinds)
        self.maps = data.network_pair(true, res)[1].transpose(1, 2, 0)

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        return self.maps


def _oracle_predictor(kinds: dict[str, list[str]]) -> Predictor:
    decomposer = ClassicDecomposer()

    def predict(sample) -> list[np.ndarray]:
        result = with_prior(
            sample.composite,
            DecomposeOptions(prior="on"),
            decomposer.decompose,
            Oracle(sample, kinds[sample.name]),
        )
        return [layer.rgba for layer in result.layers]

    return Predictor("classic with the true maps", predict)


def _scores(dataset: Path, mode: str, oracle=None) -> dict[str, tuple[float, float]]:
    predictor = (
        _oracle_predictor(oracle)
        if oracle is not None and mode == "on"
        else backend_predictor("classic", DecomposeOptions(prior=mode))
    )
    report = evaluate(dataset, predictor)
    return {
        r.name: (r.score.rgb_l1[0], r.score.alpha_iou[0])
        for r in report.results
        if r.score is not None
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--baseline", nargs=2, type=float, metavar=("L1", "IOU"))
    parser.add_argument("--limit", type=int, help="the first N samples only")
    parser.add_argument("--oracle", action="store_true", help="the true maps, not the network")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.full and args.limit:
        parser.error("--full scores the whole set; use --baseline with --limit")
    dirs = sample_dirs(args.dataset)[: args.limit]
    kinds = _kinds(args.dataset)
    prior = None if args.oracle else runtime.load()
    start = time.perf_counter()
    fired = []
    for folder in dirs:
        if args.oracle:
            sample = read_sample(folder)
            rgba, source = sample.composite, Oracle(sample, kinds[folder.name])
        else:
            rgba, source = read_rgba(folder / "composite.png"), prior
        if rgba[:, :, 3].min() == 255 and candidate(source, rgba[:, :, :3] / np.float32(255)):
            fired.append(folder)
    detect_s = (time.perf_counter() - start) / max(1, len(dirs))
    has = {d.name: any(k.startswith(FULL_CANVAS) for k in kinds.get(d.name, [])) for d in dirs}
    with tempfile.TemporaryDirectory() as tmp:
        subset = Path(tmp)
        for folder in fired:
            (subset / folder.name).symlink_to(folder.resolve())
        on = _scores(subset, "on", kinds if args.oracle else None) if fired else {}
        off_sub = _scores(subset, "off") if fired else {}
    full_off = _scores(args.dataset, "off") if args.full else None
    n = len(dirs)
    if full_off is not None:
        base = (
            float(np.mean([v[0] for v in full_off.values()])),
            float(np.mean([v[1] for v in full_off.values()])),
        )
    else:
        base = tuple(args.baseline) if args.baseline else (float("nan"), float("nan"))
    delta = [sum(on[k][i] - off_sub[k][i] for k in on) / n for i in (0, 1)]
    out = {
        "dataset": str(args.dataset),
        "samples": n,
        "weights": str(runtime.weights_path()),
        "steps": None if prior is None else prior.manifest.get("steps"),
        "oracle": args.oracle,
        "acted": len(fired),
        "acted_with_true_tint_or_fade": sum(has[f.name] for f in fired),
        "samples_with_true_tint_or_fade": sum(has.values()),
        "subset_off": [round(float(np.mean([v[i] for v in off_sub.values()])), 4) for i in (0, 1)]
        if off_sub
        else None,
        "subset_on": [round(float(np.mean([v[i] for v in on.values()])), 4) for i in (0, 1)]
        if on
        else None,
        "per_sample": {
            k: {
                "off": [round(x, 4) for x in off_sub[k]],
                "on": [round(x, 4) for x in on[k]],
                "true_overlay": has[k],
            }
            for k in on
        },
        "full_off_l1_iou": [round(base[0], 4), round(base[1], 4)],
        "full_on_l1_iou": [round(base[0] + delta[0], 4), round(base[1] + delta[1], 4)],
        "detect_s_per_image": round(detect_s, 4),
    }
    text = json.dumps(out, indent=1)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
