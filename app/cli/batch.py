"""`python main.py batch INPUT... -o OUTPUT_DIR`: decompose many pictures, resumably."""

from __future__ import annotations

import argparse
import sys
import time

from app.cli.decompose import add_backend_options, layer_count, options_from_args
from app.cli.options import add_max_pixels
from app.core import wording

FORMAT_CHOICES = ["psd", "ora", "strata", "folder"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "batch",
        help="decompose many pictures (files, folders, globs), resumably, here or on Ray",
        description="Decompose every picture INPUT names into OUTPUT_DIR, one output per "
        "picture at the picture's relative path, and record each in OUTPUT_DIR/batch.jsonl. "
        "Running the same command again skips the pictures already done with the same bytes "
        "and options and redoes the failed or missing ones. Exit status 1 if any failed.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="a picture, a folder of pictures, or a glob (quote it: 'shots/*.jpg')")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT_DIR")
    p.add_argument("--format", choices=FORMAT_CHOICES, default="psd",
                   help="what each picture becomes (default psd; folder = a folder of layer "
                   "PNGs)")
    p.add_argument("-r", "--recursive", action="store_true",
                   help="also the pictures in the folders' subfolders")
    p.add_argument("--layers", type=layer_count, default=None, metavar="N|auto",
                   help="at most N layers per picture (default: auto)")
    p.add_argument("--backend", choices=["auto", "classic", "qwen"], default="auto",
                   help="auto = qwen when its weights and a GPU are here (on --ray: when the "
                   "cluster has GPUs), else classic")
    add_backend_options(p)
    p.add_argument("--workers", type=_positive, default=None, metavar="N",
                   help="classic: processes at once (default: the cores); qwen on --ray: "
                   "actors (default: the cluster's GPUs)")
    p.add_argument("--ray", metavar="auto|ADDRESS", default=None,
                   help="run on a Ray cluster: 'auto' (the one this machine joined) or the "
                   "head's address HOST:PORT; inputs and OUTPUT_DIR must be on a disk every "
                   "node sees")
    p.add_argument("--force", action="store_true", help="redo every picture, even those done")
    add_max_pixels(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress, only errors")
    p.set_defaults(handler=run)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {value}")
    return value


class BatchProgress:
    """A tqdm bar (pictures, rate, time left) on a terminal; a line per picture otherwise;
    nothing with -q."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.bar = None
        self.total = 0
        self.count = 0

    def plan(self, total: int, todo: int) -> None:
        self.total = todo
        if self.quiet:
            return
        if total > todo:
            print(f"{wording.count(total - todo, 'picture')} already done, skipped",
                  file=sys.stderr)
        if self.tty and todo:
            from tqdm import tqdm

            self.bar = tqdm(total=todo, file=sys.stderr, unit="picture", dynamic_ncols=True,
                            desc="batch")

    def __call__(self, entry) -> None:
        self.count += 1
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.update(1)
            if entry.status != "ok":
                self.bar.write(f"failed: {entry.input}: {entry.error}", file=sys.stderr)
            return
        what = (f"{wording.count(entry.layers or 0, 'layer')}, {entry.seconds:.1f} s"
                if entry.status == "ok" else f"failed: {entry.error}")
        print(f"[{self.count}/{self.total}] {entry.input}: {what}", file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def run(args: argparse.Namespace) -> int:
    from app.core.batch.driver import BatchRequest, run_batch
    from app.core.batch.manifest import manifest_path
    from app.core.formats.limits import max_pixels

    request = BatchRequest(
        inputs=list(args.inputs), out_dir=args.output, fmt=args.format, backend=args.backend,
        options=options_from_args(args), recursive=args.recursive, force=args.force,
        workers=args.workers, ray=args.ray, max_pixels=max_pixels(),
    )
    printer = BatchProgress(args.quiet)
    start = time.perf_counter()
    try:
        summary = run_batch(request, printer, printer.plan)
    finally:
        printer.close()
        if args.ray is not None:
            from app.core.batch.cluster import disconnect

            disconnect()
    seconds = time.perf_counter() - start
    manifest = manifest_path(args.output)
    if not args.quiet:
        done = summary.ok + summary.failed
        rate = f", {seconds / done:.2f} s per picture" if done else ""
        print(f"backend: {summary.reason}", file=sys.stderr)
        print(f"{wording.count(summary.ok, 'picture')} decomposed, {summary.skipped} skipped, "
              f"{summary.failed} failed in {seconds:.1f} s{rate}; manifest: {manifest}",
              file=sys.stderr)
    if summary.failed:
        print(f"error: {summary.failed} of {wording.count(summary.total, 'picture')} failed "
              f"(see {manifest})", file=sys.stderr)
        return 1
    return 0
