"""`python main.py decompose INPUT -o OUTPUT`: split a picture into layers and save them."""

from __future__ import annotations

import argparse
import sys
import time

from app.cli.options import OUTPUT_FORMATS, add_max_pixels
from app.core import wording

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


def weights_dtype(text: str) -> str:
    from model.base import DecomposeError
    from model.qwen.plan import parse_weights_dtype

    try:
        parse_weights_dtype(text)
    except DecomposeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "decompose",
        help="split a picture into RGBA layers",
        description=f"Decompose INPUT into layers and write OUTPUT, chosen by its extension: "
        f"{OUTPUT_FORMATS}. OUTPUT is checked before the work starts: another extension, the "
        "input itself or a folder that cannot be written is refused.",
    )
    p.add_argument("input", metavar="INPUT")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT")
    p.add_argument("--layers", type=layer_count, default=None, metavar="N|auto",
                   help="at most N layers (default: auto); when fewer meaningful layers are "
                   "found, fewer come back with a warning")
    p.add_argument("--backend", choices=["auto", "classic", "qwen"], default="auto",
                   help="auto = qwen when its weights and a GPU are here, else classic")
    add_backend_options(p)
    add_max_pixels(p)
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
    parser.add_argument("--device", choices=["auto", "cuda", "mps", "cpu"], default="auto",
                        help="where qwen runs (classic always runs on the CPU)")
    parser.add_argument("--offload", choices=["auto", "none", "model", "group", "sequential"],
                        default="auto", help="qwen: where the weights live (auto = the planner; "
                        "group = the transformer streamed block by block)")
    parser.add_argument("--quality", choices=["exact", "fast", "draft"], default="exact",
                        help="qwen: exact = the paper's call; fast = step caching; draft = 20 "
                        "steps, CFG 2.5 and caching, for previews")
    parser.add_argument("--weights-dtype", type=weights_dtype, default="auto",
                        metavar="bf16|fp8|int8|nf4",
                        help="qwen weight format (default auto: the planner; bf16 for exact); "
                        "per component: transformer=fp8,text_encoder=nf4")
    parser.add_argument("--no-names", dest="names", action="store_false",
                        help="qwen: keep Background/Layer N instead of asking the model for names")
    parser.add_argument("--refine", choices=["auto", "off"], default="auto",
                        help="auto: bring a model's layers to full resolution, exact (qwen); "
                        "off: only resize them")
    parser.add_argument("--prior", choices=["auto", "on", "off"], default="auto",
                        help="classic: the learned layer prior (auto = on when its manifest "
                        "says it won on the held-out sets; off = the heuristics alone)")


def options_from_args(args: argparse.Namespace):
    """DecomposeOptions from the arguments `add_backend_options` (and --layers) declared."""
    from model.base import DecomposeOptions

    return DecomposeOptions(
        layers=args.layers, prompt=args.prompt, seed=args.seed, resolution=args.resolution,
        steps=args.steps, cfg=args.cfg, model=args.model, device=args.device,
        offload=args.offload, quality=args.quality, weights_dtype=args.weights_dtype,
        names=args.names, refine=args.refine, prior=args.prior,
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
            if self.tty and progress.phase == "preparing" and progress.message:
                print(f"{progress.message}...", file=sys.stderr)  # a one-time wait, said once
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


def device_warning(backend: str, device: str) -> str | None:
    """A warning when a device was asked for that the chosen backend does not use."""
    if backend == "classic" and device not in ("auto", "cpu"):
        return f"the classic backend runs on the CPU; --device {device} is not used"
    return None


def run(args: argparse.Namespace) -> int:
    from app.core.decomposition import result_document
    from app.core.formats import check_output, load_image_rgba, save_document
    from model.base import as_rgba
    from model.refine.results import describe, measure
    from model.registry import choose_backend

    notes: list[str] = []  # printed after success, so a failure prints exactly one line

    check_output(args.output, (args.input,))  # before seconds or minutes of work
    options = options_from_args(args)
    rgba = as_rgba(load_image_rgba(args.input))
    backend, reason = choose_backend(args.backend, options)
    notes.append(f"backend: {reason}")
    unused = device_warning(backend.name, args.device)
    if unused:
        notes.append(f"warning: {unused}")
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

    doc = result_document(rgba, result, backend_choice=reason, input=str(args.input),
                          timings={**result.timings, "total_s": round(seconds, 3)})
    save_document(doc, args.output)
    count = len(doc.layers)
    notes.append(f"wrote {wording.count(count, 'layer')} to {args.output} "
                 f"({result.backend}, {seconds:.1f} s)")
    if not args.quiet:
        print("\n".join(notes), file=sys.stderr)
    return 0
