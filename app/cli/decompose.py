"""`python main.py decompose INPUT -o OUTPUT`: split a picture into layers and save them."""

from __future__ import annotations

import argparse
import sys
import time

MAX_LAYERS = 20


def layer_count(text: str) -> int | None:
    if text == "auto":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'auto' or a number, got '{text}'") from None
    if not 1 <= value <= MAX_LAYERS:
        raise argparse.ArgumentTypeError(f"the layer count must be 1..{MAX_LAYERS}, got {value}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "decompose",
        help="split a picture into RGBA layers",
        description="Decompose INPUT into layers and write OUTPUT, chosen by its extension: "
        ".psd, .ora, .strata (session), .png (flattened) or a folder of layer PNGs.",
    )
    p.add_argument("input", metavar="INPUT")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT")
    p.add_argument("--layers", type=layer_count, default=None, metavar="N|auto",
                   help="number of layers (default: auto)")
    p.add_argument("--backend", choices=["auto", "classic", "qwen"], default="auto",
                   help="auto = qwen when its weights and a GPU are here, else classic")
    add_backend_options(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress, only errors")
    p.set_defaults(handler=run)


def add_backend_options(parser: argparse._ActionsContainer) -> None:
    """The decomposer options of the CLI contract (shared by `decompose` and `eval`)."""
    parser.add_argument("--model", metavar="ID_OR_DIR", help="qwen weights: Hub id or local folder")
    parser.add_argument("--resolution", type=int, choices=[640, 1024], default=640)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--cfg", type=float, default=4.0, help="true CFG scale (qwen)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--prompt", default=None,
                        help="qwen: describe the picture (default: caption)")
    parser.add_argument("--device", choices=["auto", "cuda", "mps", "cpu"], default="auto")
    parser.add_argument("--offload", choices=["auto", "none", "model", "sequential"],
                        default="auto")
    parser.add_argument("--refine", choices=["auto", "off"], default="auto",
                        help="auto: bring a model's layers to full resolution, exact (qwen); "
                        "off: only resize them")


def options_from_args(args: argparse.Namespace):
    """DecomposeOptions from the arguments `add_backend_options` (and --layers) declared."""
    from model.base import DecomposeOptions

    return DecomposeOptions(
        layers=args.layers, prompt=args.prompt, seed=args.seed, resolution=args.resolution,
        steps=args.steps, cfg=args.cfg, model=args.model, device=args.device,
        offload=args.offload, refine=args.refine,
    )


class ProgressPrinter:
    """A transient tqdm bar per phase on a terminal; nothing otherwise (stderr stays clean for
    scripts: a failure prints exactly one line)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self._bar = None
        self._phase = ""

    def __call__(self, progress) -> None:
        if self.quiet:
            return
        if progress.phase != self._phase:
            self.close()
            self._phase = progress.phase
            if self.tty and progress.total > 1:
                from tqdm import tqdm

                self._bar = tqdm(total=progress.total, desc=progress.phase, file=sys.stderr,
                                 leave=False, unit="step")
        if self._bar is not None:
            self._bar.n = progress.step
            self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def run(args: argparse.Namespace) -> int:
    from app.core.document import Document
    from app.core.formats import load_image_rgba, save_document
    from model.base import as_rgba
    from model.refine.results import describe, measure
    from model.registry import choose_backend

    notes: list[str] = []  # printed after success, so a failure prints exactly one line

    options = options_from_args(args)
    rgba = as_rgba(load_image_rgba(args.input))
    backend, reason = choose_backend(args.backend, options)
    notes.append(f"backend: {reason}")
    printer = ProgressPrinter(args.quiet)
    start = time.perf_counter()
    try:
        result = backend.decompose(rgba, options, printer)
    finally:
        printer.close()
    seconds = time.perf_counter() - start
    for warning in result.warnings:
        notes.append(f"warning: {warning}")
    if result.caption:
        notes.append(f"caption: {result.caption}")
    notes.append(describe(measure(result, rgba)))

    doc = Document.from_image(rgba)
    from app.core.decomposition import layers_from_arrays

    doc.layers = layers_from_arrays([(layer.rgba, layer.name) for layer in result.layers])
    doc.metadata.update(
        backend=result.backend,
        backend_choice=reason,
        device=result.device,
        caption=result.caption,
        timings={**result.timings, "total_s": round(seconds, 3)},
        reconstruction_db=result.reconstruction_db,
        warnings=list(result.warnings),
        input=str(args.input),
    )
    save_document(doc, args.output)
    count = len(doc.layers)
    notes.append(f"wrote {count} layers to {args.output} ({result.backend}, {seconds:.1f} s)")
    if not args.quiet:
        print("\n".join(notes), file=sys.stderr)
    return 0
