"""CLI subcommands `dataset` (PSD files or the synthetic generator -> evaluation samples) and
`eval` (the paper's table for a backend, a reference baseline or a folder of predictions).

    python main.py dataset PSD_DIR -o DATASET_DIR [--max-layers 20] [--short-side 512]
    python main.py dataset --synthetic N [--seed S] -o DATASET_DIR
    python main.py eval DATASET [--backend auto|classic|qwen | --baseline gt|single|kmeans
                                 | --pred DIR] [--layers N] [--limit N] [--json] [--save-pred DIR]
                                [--reveal]
    python main.py eval DATASET --baseline simulated [--upscale F] [--refine auto|off]
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from pathlib import Path

from app.cli.decompose import add_backend_options, device_warning, options_from_args
from app.cli.options import add_max_pixels


@contextmanager
def _progress_bar(quiet: bool, unit: str, total: int | None = None):
    """A tqdm bar on stderr, hidden with --quiet or when stderr is not a terminal.
    Yields (update, set_total)."""
    from tqdm import tqdm

    bar = tqdm(total=total, unit=unit, file=sys.stderr, disable=quiet or not sys.stderr.isatty())

    def set_total(count: int) -> None:
        bar.total = count
        bar.refresh()

    try:
        yield bar.update, set_total
    finally:
        bar.close()


def register(sub: argparse._SubParsersAction) -> None:
    dataset = sub.add_parser(
        "dataset",
        help="PSD files (or the synthetic generator) -> evaluation samples",
        description="Build an evaluation dataset: one folder per sample with composite.png and "
        "0000.png, 0001.png, ... (full canvas RGBA, bottom first).",
    )
    dataset.add_argument("psd_dir", nargs="?", metavar="PSD_DIR", help="folder of .psd files")
    dataset.add_argument("-o", "--output", required=True, metavar="DATASET_DIR")
    dataset.add_argument(
        "--synthetic", type=int, metavar="N", help="generate N synthetic designs instead of PSDs"
    )
    dataset.add_argument("--seed", type=int, default=0, help="synthetic seed (default 0)")
    dataset.add_argument("--max-layers", type=int, default=20, help="merge neighbours above this")
    dataset.add_argument("--short-side", type=int, default=512, help="resize target (PSDs)")
    dataset.add_argument(
        "--dedupe-bits", type=int, default=2, help="perceptual-hash distance counted as duplicate"
    )
    add_max_pixels(dataset)
    dataset.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    dataset.set_defaults(handler=run_dataset)

    ev = sub.add_parser(
        "eval",
        help="the paper's table (LayerD protocol) for a decomposer on a dataset",
        description="Score a decomposer on a dataset: rows Merge 0..5, RGB L1 and alpha soft "
        "IoU after order-aware alignment, plus reconstruction PSNR and seconds per image.",
    )
    ev.add_argument("dataset", metavar="DATASET")
    source = ev.add_mutually_exclusive_group()
    source.add_argument("--backend", default=None, help="auto, classic, qwen (default auto)")
    source.add_argument("--baseline", choices=["gt", "single", "kmeans", "simulated"],
                        help="reference; simulated: the true layers degraded as a model "
                        "degrades them, refined back (--refine auto) or resized (--refine off)")
    source.add_argument("--pred", metavar="DIR", help="score predictions in the dataset layout")
    ev.add_argument("--layers", type=int, default=None, help="layers to ask for (default: auto)")
    ev.add_argument("--upscale", type=float, default=None, metavar="F",
                    help="simulated: the model works at the picture's size / F instead of "
                    "its --resolution bucket")
    ev.add_argument("--limit", type=int, default=None, metavar="N", help="first N samples only")
    ev.add_argument("--merges", type=int, default=5, help="largest merge count k (default 5)")
    ev.add_argument("--json", action="store_true", help="print JSON instead of the table")
    ev.add_argument("--save-pred", metavar="DIR", help="also write the predicted layers here")
    add_max_pixels(ev)
    ev.add_argument(
        "--reveal",
        action="store_true",
        help="also the reveal test (bottom layer vs the true background where layers were "
        "taken out: RGB L1, outline visibility) and the edge colour of matched layers",
    )
    ev.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    backend = ev.add_argument_group("backend options (as for decompose)")
    add_backend_options(backend)
    ev.set_defaults(handler=run_eval)


def _check_folder_output(folder: Path, source: str | None = None) -> None:
    """An output folder is refused before the work when it is the input or not writable."""
    from app.core.errors import ExportFailed
    from app.core.formats import check_writable_folder

    if folder.exists() and not folder.is_dir():
        raise ExportFailed(folder, "a file has that name, not a folder")
    if source is not None and Path(source).exists() and folder.exists() and (
        folder.resolve() == Path(source).resolve()
    ):
        raise ExportFailed(folder, "that is the input folder; choose another output folder")
    check_writable_folder(folder)


def run_dataset(args: argparse.Namespace) -> int:
    out = Path(args.output)
    _check_folder_output(out, args.psd_dir)
    if args.synthetic is not None:
        if args.psd_dir:
            raise ValueError("give either PSD_DIR or --synthetic N, not both")
        if args.synthetic < 1:
            raise ValueError("--synthetic needs a positive number of samples")
        from model.evaluation.synthetic import generate

        with _progress_bar(args.quiet, "sample", args.synthetic) as (update, _):
            names = generate(out, args.synthetic, args.seed, progress=update)
        print(f"wrote {len(names)} synthetic samples (seed {args.seed}) to {out}")
        return 0
    if not args.psd_dir:
        raise ValueError("give a folder of PSD files, or --synthetic N")
    from model.evaluation.psd_dataset import build_dataset

    with _progress_bar(args.quiet, "psd") as (update, set_total):
        report = build_dataset(
            Path(args.psd_dir),
            out,
            max_layers=args.max_layers,
            short_side=args.short_side,
            dedupe_bits=args.dedupe_bits,
            progress=update,
            on_start=set_total,
        )
    print(
        f"wrote {len(report['written'])} samples to {out}; skipped {len(report['skipped'])}, "
        f"duplicates {len(report['duplicates'])} (details in {out / 'report.json'})"
    )
    return 0 if report["written"] else 1


def _predictor(args: argparse.Namespace):
    from model.evaluation import runner

    options = options_from_args(args)
    if args.pred:
        return runner.folder_predictor(Path(args.pred))
    if args.upscale is not None and (args.baseline != "simulated" or args.upscale <= 0):
        raise ValueError("--upscale takes a positive factor, with --baseline simulated")
    if args.baseline:
        return runner.baseline_predictor(args.baseline, options, args.upscale)
    return runner.backend_predictor(args.backend or "auto", options)


def run_eval(args: argparse.Namespace) -> int:
    from model.evaluation.runner import evaluate

    if args.merges < 0:
        raise ValueError("--merges must be 0 or more")
    if args.save_pred:
        _check_folder_output(Path(args.save_pred), args.dataset)
    predictor = _predictor(args)
    unused = device_warning(predictor.backend or "", args.device)
    if unused and not args.quiet:
        print(f"warning: {unused}", file=sys.stderr)
    with _progress_bar(args.quiet, "sample") as (update, set_total):
        report = evaluate(
            Path(args.dataset),
            predictor,
            limit=args.limit,
            max_merges=args.merges,
            save_pred=Path(args.save_pred) if args.save_pred else None,
            progress=update,
            on_start=set_total,
            reveal=args.reveal,
        )
    if args.json:
        print(json.dumps(report.to_json(), indent=1))
    else:
        print(report.format())
    return 0 if report.scored else 1
