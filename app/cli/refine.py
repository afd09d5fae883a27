"""`python main.py refine PICTURE LAYERS -o OUTPUT`: any layer stack (a folder of layer PNGs,
PSD, ORA or session, at any size) brought to the picture's full resolution, with a composite
that reproduces the picture."""

from __future__ import annotations

import argparse
import sys
import time


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "refine",
        help="bring any layer stack to a picture's full resolution, exactly",
        description="Refine LAYERS (a folder of layer PNGs such as 00.png... or 0000.png..., "
        "a PSD, an ORA or a session) against PICTURE: each visible layer is scaled to the "
        "picture's size, its edges re-estimated from the picture and the colours solved so "
        "that the layers reproduce the picture. OUTPUT as for decompose: .psd, .ora, "
        ".strata, .png (flattened) or a folder.",
    )
    p.add_argument("picture", metavar="PICTURE", help="the original picture, full resolution")
    p.add_argument("layers", metavar="LAYERS", help="layer folder, PSD, ORA or session")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary, only errors")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from app.core.formats import load_document, load_image_rgba, save_document
    from app.core.refinement import refine_document

    start = time.perf_counter()
    picture = load_image_rgba(args.picture)
    layers = load_document(args.layers)
    doc, report = refine_document(picture, layers)
    doc.metadata["input"] = str(args.picture)
    doc.metadata["layers_from"] = str(args.layers)
    save_document(doc, args.output)
    if not args.quiet:
        exact = "exact" if report.psnr_db >= 100 else f"{report.psnr_db:.1f} dB"
        print(
            f"wrote {len(doc.layers)} layers at {doc.width}x{doc.height} to {args.output}: "
            f"reconstruction {exact} ({report.exact_share:.2%} of pixels exact), enlarged "
            f"{report.scale:.2f}x, refined in {report.seconds:.2f} s "
            f"({time.perf_counter() - start:.1f} s in all)",
            file=sys.stderr,
        )
    return 0
