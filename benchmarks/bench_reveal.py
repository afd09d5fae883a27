"""Clean reveals: what the bottom layer shows where the decomposer took elements out of it, and
the colour of the elements' soft edges (model/evaluation/reveal.py), with the LayerD Merge 0 row
beside them so that a gain here is not bought with a loss there.

    python main.py dataset --synthetic 200 --seed 0 -o /tmp/syn200
    python benchmarks/bench_reveal.py /tmp/syn200 [/tmp/check ...] [--limit 40] [--backend classic]
    python benchmarks/bench_reveal.py /tmp/syn200 --pred /tmp/predictions   # score saved layers

Prints one JSON object per dataset: {"dataset": ..., "reveal": {"all": {...}, "flat": {...},
...}, "merge0": {"rgb_l1": ..., "alpha_iou": ...}, ...}. Reveal figures per background kind:
reveal_l1 (RGB L1 in [0, 1] over the removed area), outline_mean / outline_median (share of the
3 px band around the removed elements that shows an edge the true background does not have),
edge_l1 (RGB L1 in [0, 1] over matched layers' soft edges).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.base import DecomposeOptions  # noqa: E402
from model.evaluation.runner import backend_predictor, evaluate, folder_predictor  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="+", type=Path)
    parser.add_argument("--limit", type=int, default=None, help="first N samples of each")
    parser.add_argument("--backend", default="classic")
    parser.add_argument("--pred", type=Path, help="score saved predictions (one dataset only)")
    parser.add_argument("--save-pred", type=Path, help="also write the layers here (per dataset)")
    parser.add_argument("--per-sample", action="store_true", help="include every sample's figures")
    args = parser.parse_args()
    if args.pred is not None and len(args.datasets) != 1:
        parser.error("--pred scores one dataset")
    for dataset in args.datasets:
        if args.pred is not None:
            predictor = folder_predictor(args.pred)
        else:
            predictor = backend_predictor(args.backend, DecomposeOptions())
        save = args.save_pred / dataset.name if args.save_pred is not None else None
        report = evaluate(dataset, predictor, limit=args.limit, save_pred=save, reveal=True)
        summary = report.summary()
        out = {
            "dataset": str(dataset),
            "predictor": report.predictor,
            "samples": summary["scored"],
            "failed": summary["failed"],
            "reveal": report.reveal_summary(),
            "merge0": report.table()[0],
            "psnr_exact": summary["psnr_exact"],
            "psnr_db": summary["psnr_db"],
            "seconds_per_image": summary["seconds_per_image"],
            "load_avg_1min": round(os.getloadavg()[0], 2),
        }
        if args.per_sample:
            out["per_sample"] = [r.to_json() for r in report.results]
        print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
