"""Object masks of classic's photo subject, gated and ungated, on a set with true mattes
(model/evaluation/objects.py): mask IoU, boundary F-score, the share the gate rejects, seconds.

    python benchmarks/bench_objects.py --seed 2 --count 100            # synthetic object set
    python benchmarks/bench_objects.py --psd /tmp/psdset                # converted PSD samples
    python benchmarks/bench_objects.py --seed 1 --count 60 --per-sample

Prints one JSON object. "positives" are samples with an object, "negatives" samples without
one. For positives, a rejected or missing cut scores IoU 0 and boundary F 0 ("all"); "passed"
averages only the cuts the gate let through. For negatives the figure is the share of
pictures that got a subject layer anyway (false_subject: lower is better).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.classic.subject import subject_alpha  # noqa: E402
from model.evaluation.dataset import sample_dirs  # noqa: E402
from model.evaluation.objects import ObjectSample, mask_scores, object_sample, psd_object  # noqa: E402


def _summary(rows: list[dict], key: str) -> dict:
    pos = [r for r in rows if r["has_object"]]
    neg = [r for r in rows if not r["has_object"]]
    out: dict = {"positives": len(pos), "negatives": len(neg)}
    if pos:
        passed = [r for r in pos if r[key]["found"]]
        out["iou_all"] = round(float(np.mean([r[key]["iou"] for r in pos])), 4)
        out["boundary_f_all"] = round(float(np.mean([r[key]["boundary_f"] for r in pos])), 4)
        out["rejected_share"] = round(1 - len(passed) / len(pos), 4)
        if passed:
            out["iou_passed"] = round(float(np.mean([r[key]["iou"] for r in passed])), 4)
            out["boundary_f_passed"] = round(
                float(np.mean([r[key]["boundary_f"] for r in passed])), 4
            )
            out["passed_below_0.7_iou"] = sum(r[key]["iou"] < 0.7 for r in passed)
    if neg:
        out["false_subject"] = round(float(np.mean([r[key]["found"] for r in neg])), 4)
    return out


def score(sample: ObjectSample) -> dict:
    rgb = sample.rgb.astype(np.float32) / 255.0
    alpha_in = np.ones(sample.alpha.shape, np.float32)
    started = time.perf_counter()
    ungated, verdict = subject_alpha(rgb, alpha_in, lambda: None, gated=False)
    seconds = time.perf_counter() - started
    row: dict = {"name": sample.name, "kind": sample.kind, "has_object": bool(sample.alpha.any()),
                 "seconds": round(seconds, 3)}  # fmt: skip
    passed = verdict is not None and verdict.passed
    for key, alpha in (("ungated", ungated), ("gated", ungated if passed else None)):
        found = alpha is not None
        pred = alpha if found else np.zeros(sample.alpha.shape, np.float32)
        scores = mask_scores(pred, sample.alpha)
        row[key] = {"found": found, **{k: round(v, 4) for k, v in scores.items()}}
    if verdict is not None:
        row["gate"] = {"reason": verdict.reason,
                       **{k: round(float(v), 3) for k, v in verdict.scores.items()}}  # fmt: skip
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--psd", type=Path, help="a converted PSD dataset instead")
    parser.add_argument("--per-sample", action="store_true")
    args = parser.parse_args()
    if args.psd is not None:
        samples = [s for s in (psd_object(d) for d in sample_dirs(args.psd)) if s is not None]
        source = f"psd:{args.psd}"
    else:
        samples = [object_sample(args.seed, i) for i in range(args.count)]
        source = f"synthetic objects seed {args.seed}"
    with contextlib.redirect_stdout(sys.stderr):  # pymatting prints solver warnings
        rows = [score(s) for s in samples]
    seconds = round(float(np.median([r["seconds"] for r in rows])), 3) if rows else 0.0
    report = {"set": source, "samples": len(rows), "gated": _summary(rows, "gated"),
              "ungated": _summary(rows, "ungated"), "seconds_median": seconds}  # fmt: skip
    if args.per_sample:
        report["per_sample"] = rows
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
