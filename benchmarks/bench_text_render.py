"""Text layers: how long a render takes (an edit re-renders once), and what a poster with
text layers costs to export to PSD (type layers) and open again. Prints JSON.

    python benchmarks/bench_text_render.py [--family "DejaVu Sans"] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times) * 1000, 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--family", default="DejaVu Sans")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from app.core import fonts
    from app.core.commands import History
    from app.core.document import Document
    from app.core.formats import load_document, save_document
    from app.core.text_layer import edit_text, text_layer
    from app.core.text_render import render_text
    from model.text_spec import TextSpec

    start = time.perf_counter()
    families = len(fonts.installed_families())
    out: dict = {"installed_families": families,
                 "font_list_ms": round((time.perf_counter() - start) * 1000, 1)}
    base = TextSpec(("Summer SALE up to 50% off",), args.family, x=40.0, y=300.0)
    render_text(base)  # font file lookup and load, once
    out["render_one_line_ms"] = {
        str(size): _median_ms(lambda s=size: render_text(replace(base, size_px=float(s))),
                              args.repeat)
        for size in (12, 32, 64, 120, 200)
    }
    tracked = replace(base, size_px=64.0, tracking=100.0)
    out["render_tracked_64px_ms"] = _median_ms(lambda: render_text(tracked), args.repeat)
    six = replace(base, lines=tuple(f"Line {i}: the quick brown fox" for i in range(6)),
                  size_px=48.0)
    out["render_six_lines_48px_ms"] = _median_ms(lambda: render_text(six), args.repeat)

    doc = Document.from_image(np.full((1024, 1024, 4), 255, np.uint8))
    for i in range(6):
        doc.layers.append(text_layer(replace(base, size_px=24.0 + 16 * i, y=120.0 + 150 * i)))
    history = History(doc)
    lid = doc.layers[3].id
    out["edit_words_ms"] = _median_ms(
        lambda: history.push(edit_text(doc, lid, lines=(f"edit {time.time()}",))), args.repeat
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "poster.psd"
        out["psd_export_1024_6_text_ms"] = _median_ms(lambda: save_document(doc, path), 3)
        out["psd_open_1024_6_text_ms"] = _median_ms(lambda: load_document(path), 3)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
