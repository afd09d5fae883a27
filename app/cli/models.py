"""`python main.py models`: which decomposers can run here, and the Qwen weights' state.

`python main.py models download [NAME] [--to DIR]` fetches the Qwen-Image-Layered weights, or
by NAME the Segment Anything / ViTMatte weights the editor's Object Select uses.
"""

from __future__ import annotations

import argparse
import sys

from model.base import DecomposeOptions


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "models",
        help="list decomposer backends and check or download the Qwen weights",
        description="List the decomposer backends, whether each can run here and why not, and "
        "where the Qwen-Image-Layered weights are, their size and whether they are complete. "
        "Exits 1 when weights were found but are incomplete.",
    )
    p.add_argument("--model", metavar="ID_OR_DIR", default=None,
                   help="qwen weights to check: Hub id (local cache only) or folder")
    p.add_argument("--device", choices=["auto", "cuda", "mps", "cpu"], default="auto")
    actions = p.add_subparsers(dest="models_command", metavar="ACTION")
    from model.segment.catalogue import KNOWN

    d = actions.add_parser(
        "download",
        help="download the Qwen-Image-Layered weights, or segmentation weights (resumable)",
        description="Download the Qwen-Image-Layered weights, or by NAME the Segment Anything "
        "or ViTMatte weights for Object Select (safetensors only), into the Hugging Face cache "
        "or into DIR. The size is shown first; running it again resumes an interrupted "
        "download. NAME: qwen (the default), "
        + ", ".join(f"{k.name} ({k.repo}, about {k.size})" for k in KNOWN) + ".",
    )
    d.add_argument("name", nargs="?", default="qwen", metavar="NAME",
                   choices=["qwen", *(k.name for k in KNOWN)],
                   help="what to download: qwen (default) or a segmentation/matting model")
    d.add_argument("--to", metavar="DIR", default=None,
                   help="download into this folder (then use --model DIR)")
    d.add_argument("--repo", metavar="ID", default=None, help="Hub repository id")
    d.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if getattr(args, "models_command", None) == "download":
        return run_download(args)
    return run_list(args)


def backend_lines(options: DecomposeOptions) -> list[str]:
    from model.registry import backend_names, get_backend

    lines = []
    for name in backend_names():
        try:
            backend = get_backend(name)
            available = backend.availability(options)
            ok, reason = available.ok, available.reason
        except Exception as exc:  # noqa: BLE001 - a broken backend is reported, not fatal
            ok, reason = False, f"cannot be loaded: {str(exc).splitlines()[0] if str(exc) else exc}"
        lines.append(f"  {name:<8} {'yes' if ok else 'no ':<4} {reason}")
    return lines


def qwen_plan_lines(options: DecomposeOptions) -> list[str]:
    """What each quality preset would do on this machine's GPU, with its expected time (a
    projection from the H200 measurements); nothing when there is no GPU."""
    from model.qwen.device import gpu_kind

    if gpu_kind() is None:
        return []
    from model.registry import get_backend

    try:
        plans = get_backend("qwen").plans(options)
    except Exception:  # noqa: BLE001 - the plan is informative; never fail the listing
        return []
    if not plans:
        return []
    layers = options.layers or 4
    head = (f"Qwen plan on this machine ({options.resolution} px, {layers} layers, "
            f"{options.steps} steps; time projected from H200 measurements):")
    return [head] + [f"{quality:<6} {plan.summary()}" for quality, plan in plans.items()]


def run_list(args: argparse.Namespace) -> int:
    from model.qwen.weights import DEFAULT_MODEL, inspect_weights

    options = DecomposeOptions(model=args.model, device=args.device)
    print("Backends (name, can run here, why):")
    for line in backend_lines(options):
        print(line)
    from model.registry import choose_backend

    try:
        _backend, why = choose_backend("auto", options)
        print(f"  auto picks: {why}")
    except Exception as exc:  # noqa: BLE001
        print(f"  auto picks nothing: {exc}")

    plan_lines = qwen_plan_lines(options)
    if plan_lines:
        print()
        print(plan_lines[0])
        for line in plan_lines[1:]:
            print(f"  {line}")

    from model.qwen import single_file

    file = single_file.transformer_file(args.model)
    if file is not None:
        report = single_file.inspect(args.model, file)
    else:
        report = inspect_weights(args.model or DEFAULT_MODEL)
    print()
    print(f"Qwen-Image-Layered weights ({report.model}):")
    status = _qwen_report(report, file)
    lines, segment_status = segment_lines()
    print()
    print("Object Select weights (Segment Anything, ViTMatte; optional, CPU is fine):")
    for line in lines:
        print(line)
    return max(status, segment_status)


def _qwen_report(report, file) -> int:
    from model.qwen.weights import human_size

    if not report.found:
        print(f"  not found: {report.problems[0]}")
        return 0
    print(f"  location: {report.path} ({report.source})")
    if file is not None:
        print(f"  transformer: {file} (single file, replaces {report.path}/transformer)")
    parts = ", ".join(
        f"{name} {human_size(size)}"
        for name, size in sorted(report.component_bytes.items(), key=lambda kv: -kv[1])
    )
    print(f"  size: {human_size(report.total_bytes)} ({parts})")
    if report.complete:
        print("  status: complete (every file the model index lists is present; "
              "safetensors headers parse and no file is short)")
        return 0
    print(f"  status: INCOMPLETE, {len(report.problems)} problem(s):")
    for problem in report.problems:
        print(f"    - {problem}")
    print("  fix: `python main.py models download` resumes the download "
          "(or re-download the folder given with --model)")
    return 1


def segment_lines() -> tuple[list[str], int]:
    """The Object Select weights: each known model's state; status 1 when one is found but
    incomplete."""
    from model.segment.catalogue import DEFAULT_MATTER, DEFAULT_SEGMENTER, KNOWN
    from model.segment.weights import inspect

    lines, status = [], 0
    for entry in KNOWN:
        report = inspect(entry.name)
        if report.path is None:
            state = (f"not downloaded (about {entry.size}): "
                     f"`python main.py models download {entry.name}`")
        elif report.problem:
            state, status = f"INCOMPLETE: {report.problem}", 1
        else:
            state = f"complete, {report.summary()}"
        default = " [default]" if entry.name in (DEFAULT_SEGMENTER, DEFAULT_MATTER) else ""
        lines.append(f"  {entry.name:<18} {state}{default}")
    return lines, status


def run_download(args: argparse.Namespace) -> int:
    if getattr(args, "name", "qwen") != "qwen":
        return run_segment_download(args)
    from model.qwen.download import download, require_hub
    from model.qwen.weights import DEFAULT_MODEL

    require_hub()
    if args.to:
        from app.core.formats import check_writable_folder

        check_writable_folder(args.to)
    repo = args.repo or DEFAULT_MODEL
    where = args.to or "the Hugging Face cache"
    if not args.quiet:
        print(f"Downloading {repo} (safetensors only) into {where}...", file=sys.stderr)
    report = download(repo, args.to, show_bars=not args.quiet)
    print(f"{repo}: {report.summary()}")
    if not report.complete:
        for problem in report.problems:
            print(f"  - {problem}")
        return 1
    if args.to:
        print("use it with: python main.py decompose IMAGE -o OUT --backend qwen "
              f"--model {args.to}")
    return 0


def run_segment_download(args: argparse.Namespace) -> int:
    from model.qwen.download import require_hub
    from model.qwen.weights import human_size
    from model.segment.catalogue import known
    from model.segment.download import download

    require_hub()
    entry = known(args.name)
    assert entry is not None  # argparse's choices
    if args.to:
        from app.core.formats import check_writable_folder

        check_writable_folder(args.to)
    where = args.to or "the Hugging Face cache"

    def announce(needed: int) -> None:
        print(f"{entry.name} ({entry.repo}): {human_size(needed)} to download into {where} "
              "(safetensors only)", file=sys.stderr)

    report = download(entry, args.to, show_bars=not args.quiet, announce=announce)
    print(f"{entry.name}: {report.summary()}")
    if report.problem:
        print(f"  - {report.problem}")
        return 1
    if args.to:
        print(f"use it with: STRATA_SEGMENT_MODEL={args.to} python main.py")
    return 0
