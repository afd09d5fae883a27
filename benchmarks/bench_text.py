"""Font, size and colour recovered from text pixels (model/textfit), on seeded renders.

    python benchmarks/bench_text.py                      # the held-out set: 200 renders, seed 2026
    python benchmarks/bench_text.py --set tuning         # the tuning set (seed 7): tune on this one
    python benchmarks/bench_text.py --n 40 --no-poster   # a quick look

Each sample: 1-3 lines of words set in an installed font (a family drawn uniformly among those
that cover Latin, then one of its styles), em size log-uniform in 12-200 px, a quarter with
letter spacing, left/centre/right aligned, an ink colour that stands out, over a flat, gradient
or photo background (skimage.data's photos). The text is drawn with Pillow (ImageDraw.text, or
character by character when spaced) and composited; OCR (rapidocr, classic's `detect_text`)
reads the composite; the text layer is unmixed from the composite against the true background
with classic's ink estimate and `unmix` (so the layer is what classic gives with a perfectly
completed background); then `fit_outcome` fits it. Scored against the truth:
family top-1 / top-3 (and with look-alike families merged: families whose Regular faces render
a pangram at soft IoU >= LOOKALIKE, measured here, listed in the output), size within 5 %,
ink colour mean abs error (/255), soft IoU of the re-rendered fit against the true matte,
how often the fit is accepted (IoU >= 0.85 against the layer), and seconds per fit.
Held-out fonts: `--held-out` more samples in families left out of the search: the IoU the
nearest installed family reaches. Poster: classic decompositions of posters with 6 text lines,
the time the font fit adds ("fitting text" in its timings) and what the text layers carry.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image, ImageDraw  # noqa: E402

from model.classic.text import detect_text  # noqa: E402
from model.classic.textblocks import text_piece  # noqa: E402
from model.text_spec import TextSpec  # noqa: E402
from model.textfit.attach import text_specs  # noqa: E402
from model.textfit.fit import MIN_IOU, fit_outcome, soft_iou  # noqa: E402
from model.textfit.fonts import Face, installed_faces, text_faces  # noqa: E402
from model.textfit.render import draw_line, face_font, line_width, render_spec  # noqa: E402

SEEDS = {"heldout": 2026, "tuning": 7}
WORDS = (
    "summer sale today only fresh deals every day visit our store open until midnight new "
    "collection spring winter autumn coffee bakery music festival live concert tickets free "
    "delivery order online discover the world of design studio modern classic vintage art "
    "gallery opening night special offer limited edition best price quality service welcome "
    "home garden kitchen travel adventure mountain ocean city lights book club reading week "
    "health fitness yoga class morning evening weekend market farmers local organic food "
    "wine tasting dinner menu breakfast lunch grand prize winner join us celebrate happy "
    "birthday wedding party invitation save the date annual report quarterly results growth"
).split()
# Measured: clones (Liberation Sans 1 vs Arimo, Liberation Serif vs Tinos) 0.89-0.93, distinct
# designs (Arimo vs Nimbus Sans, Noto Sans vs Open Sans, Carlito vs Lato) <= 0.66.
LOOKALIKE = 0.85
PANGRAM = "Sphinx of black quartz, judge my vow 0123"


def _words(rng: np.random.Generator) -> str:
    n = int(rng.integers(1, 5))
    text = " ".join(rng.choice(WORDS, n))
    if rng.random() < 0.15:
        text += f" {int(rng.integers(1, 2030))}"
    case = rng.random()
    if case < 0.25:
        return text.upper()
    if case < 0.5:
        return text.title()
    return text[0].upper() + text[1:]


def _background(rng: np.random.Generator, kind: str, h: int, w: int, photos) -> np.ndarray:
    if kind == "flat":
        return np.broadcast_to(rng.uniform(0, 1, 3), (h, w, 3)).astype(np.float32).copy()
    if kind == "gradient":
        a, b = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
        angle = rng.uniform(0, math.pi)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        t = xx * math.cos(angle) + yy * math.sin(angle)
        t = (t - t.min()) / max(1e-6, float(np.ptp(t)))
        return (a * (1 - t[..., None]) + b * t[..., None]).astype(np.float32)
    photo = photos[int(rng.integers(len(photos)))]
    scale = max(h / photo.shape[0], w / photo.shape[1]) * rng.uniform(1.0, 1.6)
    size = (max(w, round(photo.shape[1] * scale)), max(h, round(photo.shape[0] * scale)))
    big = np.asarray(Image.fromarray(photo).resize(size, Image.BILINEAR))
    y0 = int(rng.integers(0, big.shape[0] - h + 1))
    x0 = int(rng.integers(0, big.shape[1] - w + 1))
    return big[y0 : y0 + h, x0 : x0 + w].astype(np.float32) / 255.0


def _ink(rng: np.random.Generator, background: np.ndarray) -> np.ndarray:
    luma = float((background.reshape(-1, 3) @ np.array([0.299, 0.587, 0.114])).mean())
    for _ in range(50):
        ink = rng.uniform(0, 1, 3)
        if abs(float(ink @ np.array([0.299, 0.587, 0.114])) - luma) > 0.35:
            return ink
    return np.array([0.0, 0.0, 0.0]) if luma > 0.5 else np.array([1.0, 1.0, 1.0])


def _families(faces: list[Face]) -> dict[str, list[Face]]:
    out: dict[str, list[Face]] = {}
    for face in faces:
        out.setdefault(face.family, []).append(face)
    return out


def _true_matte(spec: TextSpec, face: Face, shape: tuple[int, int]) -> np.ndarray:
    """Drawn with Pillow's own ImageDraw.text (the fit renders its candidates with getmask2),
    character by character only when spaced."""
    if spec.tracking:
        return render_spec(spec, shape, face)
    image = Image.new("L", (shape[1], shape[0]), 0)
    draw = ImageDraw.Draw(image)
    f = face_font(face, spec.size_px)
    for i, text in enumerate(spec.lines):
        width = f.getlength(text)
        x = spec.x - {"left": 0.0, "center": width / 2, "right": width}[spec.align]
        draw.text((x, spec.y + i * spec.line_spacing * spec.size_px), text, 255, f, anchor="ls")
    return np.asarray(image, np.float32) / 255.0


def make_sample(rng: np.random.Generator, families: dict[str, list[Face]], photos, held=()):
    pool = sorted(held) if held else sorted(set(families) - set(held))
    family = pool[int(rng.integers(len(pool)))]
    face = families[family][int(rng.integers(len(families[family])))]
    size = float(math.exp(rng.uniform(math.log(12), math.log(200))))
    tracking = float(rng.uniform(-20, 150)) if rng.random() < 0.25 else 0.0
    n_lines = int(rng.choice([1, 2, 3], p=[0.5, 0.3, 0.2]))
    f = face_font(face, size)
    lines = []
    for _ in range(n_lines):
        text = _words(rng)
        while " " in text and line_width(f, text, tracking * size / 1000) > 1100:
            text = text.rsplit(" ", 1)[0]
        lines.append(text)
    widths = [line_width(f, t, tracking * size / 1000) for t in lines]
    spacing = float(rng.uniform(1.1, 1.5))
    align = str(rng.choice(["left", "center", "right"])) if n_lines > 1 else "left"
    margin = int(rng.integers(24, 64))
    ascent, descent = f.getmetrics()
    h = int(margin * 2 + ascent + descent + (n_lines - 1) * spacing * size)
    w = int(margin * 2 + max(widths))
    anchor = {"left": margin, "center": w / 2, "right": w - margin}[align]
    spec = TextSpec(
        lines=tuple(lines), family=face.family, style=face.style, weight=face.weight,
        italic=face.italic, size_px=round(size, 2), tracking=round(tracking, 1),
        line_spacing=spacing, align=align, x=float(anchor), y=float(margin + ascent),
        font_file=face.file,
    )  # fmt: skip
    kind = str(rng.choice(["flat", "gradient", "photo"]))
    background = _background(rng, kind, h, w, photos)
    ink = _ink(rng, background)
    matte = _true_matte(spec, face, (h, w))
    composite = matte[..., None] * ink + (1 - matte[..., None]) * background
    composite = np.round(composite * 255) / 255
    spec = TextSpec(**{**spec.__dict__, "color": tuple(int(round(v * 255)) for v in ink)})
    return spec, face, kind, background.astype(np.float32), composite.astype(np.float32), matte


def text_layer(composite: np.ndarray, background: np.ndarray, lines, busy: bool) -> np.ndarray:
    """Classic's text layer (`text_piece`: one ink colour unmixed, keyed by that colour over a
    busy background) against the true background, i.e. with a perfect background fill."""
    h, w = composite.shape[:2]
    box = (
        min(t.box[0] for t in lines), max(t.box[1] for t in lines),
        min(t.box[2] for t in lines), max(t.box[3] for t in lines),
    )  # fmt: skip
    pad = max(2, (box[1] - box[0]) // 20)
    fbox = (max(0, box[0] - pad), min(h, box[1] + pad), max(0, box[2] - pad), min(w, box[3] + pad))
    rgba = np.zeros((h, w, 4), np.uint8)
    piece = text_piece(composite, background.copy(), list(lines), fbox, busy=busy)
    if piece is None:
        return rgba
    y0, y1, x0, x1 = piece.box
    rgba[y0:y1, x0:x1, :3] = np.round(np.clip(piece.colour, 0, 1) * 255)
    rgba[y0:y1, x0:x1, 3] = np.round(piece.alpha * 255)
    return rgba


def lookalikes(families: dict[str, list[Face]]) -> dict[str, set[str]]:
    """Families whose most regular faces render the pangram alike (ink boxes stretched onto
    each other, soft IoU >= LOOKALIKE): the fit cannot be blamed for confusing them."""
    import cv2

    shapes = {}
    for family, faces in families.items():
        face = min(faces, key=lambda f: (f.italic, abs(f.weight - 400)))
        matte = np.zeros((120, 2400), np.float32)
        draw_line(matte, face_font(face, 64), PANGRAM, 10, 90)
        rows, cols = np.flatnonzero(matte.max(1) > 0.35), np.flatnonzero(matte.max(0) > 0.35)
        crop = matte[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        shapes[family] = cv2.resize(crop, (1200, 48), interpolation=cv2.INTER_AREA)
    alike = {family: {family} for family in families}
    names = sorted(shapes)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if soft_iou(shapes[a], shapes[b]) >= LOOKALIKE:
                alike[a].add(b)
                alike[b].add(a)
    return alike


def _distinct_families(ranking) -> list[str]:
    out: list[str] = []
    for family, _, _ in ranking:
        if family not in out:
            out.append(family)
    return out


def _first_groups(ranked: list[str], alike: dict[str, set[str]], n: int) -> set[str]:
    """The families of the first `n` look-alike groups of the ranking (a group counts once)."""
    groups: list[set[str]] = []
    for family in ranked:
        group = alike.get(family, {family})
        if group not in groups:
            groups.append(group)
    return {member for group in groups[:n] for member in group}


def run_set(args, seed: int, families, photos, alike, held=(), n=0) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for index in range(n):
        spec, face, kind, background, composite, matte = make_sample(rng, families, photos, held)
        row = {"i": index, "background": kind, "family": spec.family,
               "style": spec.style, "size": spec.size_px, "lines": len(spec.lines),
               "tracking": spec.tracking}  # fmt: skip
        started = time.perf_counter()
        found = [t for t in detect_text(composite)]
        row["ocr_s"] = round(time.perf_counter() - started, 3)
        row["ocr_exact"] = [t.text for t in sorted(found, key=lambda t: t.box[0])] == list(
            spec.lines
        )
        if not found:
            row["error"] = "OCR read nothing"
            rows.append(row)
            continue
        layer = text_layer(composite, background, found, busy=kind == "photo")
        cpu = time.process_time()
        outcome = fit_outcome(layer, found, exclude_families=held)
        cpu = time.process_time() - cpu
        row["fit_s"] = outcome.seconds
        row["fit_s_per_line"] = round(outcome.seconds / len(found), 3)
        row["fit_cpu_s_per_line"] = round(cpu / len(found), 3)
        best = outcome.nearest
        if best is None:
            row["error"] = outcome.reason
            rows.append(row)
            continue
        ranked = _distinct_families(outcome.ranking)
        row.update(
            found_family=best.family, found_style=best.style, found_size=best.size_px,
            top1=ranked[:1] == [spec.family], top3=spec.family in ranked[:3],
            top1_alike=bool(ranked) and ranked[0] in alike[spec.family],
            top3_alike=spec.family in _first_groups(ranked, alike, 3),
            size_ok=abs(best.size_px / spec.size_px - 1) <= 0.05,
            colour_err=float(np.abs(np.subtract(best.color, spec.color)).mean()),
            accepted=outcome.spec is not None, layer_iou=best.fit_iou,
        )  # fmt: skip
        rerendered = render_spec(best, matte.shape)
        row["true_iou"] = round(soft_iou(rerendered, matte), 4)
        rows.append(row)
        if args.verbose:
            print(json.dumps(row), file=sys.stderr)
    return rows


def summary(rows: list[dict]) -> dict:
    def share(key: str) -> float | None:
        if rows and not any(key in r for r in rows):
            return None  # not recorded (a log from before the field existed)
        return round(sum(bool(r.get(key)) for r in rows) / max(1, len(rows)), 4)

    fits = [r for r in rows if "true_iou" in r]
    times = [r["fit_s_per_line"] for r in rows if "fit_s_per_line" in r]
    cpu = [r["fit_cpu_s_per_line"] for r in rows if "fit_cpu_s_per_line" in r]
    out = {
        "samples": len(rows),
        "fitted": len(fits),
        "family_top1": share("top1"),
        "family_top3": share("top3"),
        "family_top1_lookalikes_merged": share("top1_alike"),
        "family_top3_lookalikes_merged": share("top3_alike"),
        "size_within_5pct": share("size_ok"),
        "colour_mean_abs_error_255": round(float(np.mean([r["colour_err"] for r in fits])), 3)
        if fits
        else None,
        "true_matte_iou_median": round(float(np.median([r["true_iou"] for r in fits])), 4)
        if fits
        else None,
        "accepted_share": share("accepted"),
        "ocr_exact_share": share("ocr_exact"),
        "fit_seconds_per_line_median": round(float(np.median(times)), 3) if times else None,
        "fit_seconds_per_line_p90": round(float(np.percentile(times, 90)), 3) if times else None,
        "fit_cpu_seconds_per_line_median": round(float(np.median(cpu)), 3) if cpu else None,
        "fit_cpu_seconds_per_line_p90": round(float(np.percentile(cpu, 90)), 3) if cpu else None,
    }
    by_kind = {}
    for kind in ("flat", "gradient", "photo"):
        part = [r for r in rows if r["background"] == kind]
        part_fits = [r for r in part if "true_iou" in r]
        by_kind[kind] = {
            "samples": len(part),
            "family_top1": round(sum(bool(r.get("top1")) for r in part) / max(1, len(part)), 4),
            "true_matte_iou_median": round(float(np.median([r["true_iou"] for r in part_fits])), 4)
            if part_fits
            else None,
        }
    out["by_background"] = by_kind
    return out


def poster(seed: int, families) -> dict:
    """A classic decomposition of a 900x700 gradient poster with a shape and 6 text lines in
    different families: what the font fit adds to it, and what the text layers carry."""
    from model.base import DecomposeOptions
    from model.classic.decomposer import ClassicDecomposer

    rng = np.random.default_rng(seed)
    h, w = 700, 900
    image = Image.fromarray(np.round(_background(rng, "gradient", h, w, []) * 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw.rectangle([620, 380, 860, 660], fill=(240, 200, 40))
    names = sorted(families)
    truth = []
    y = 90
    for size in (64, 40, 30, 30, 26, 22):
        family = names[int(rng.integers(len(names)))]
        face = min(families[family], key=lambda f: (f.italic, abs(f.weight - 400)))
        text = _words(rng)
        f = face_font(face, size)
        while " " in text and f.getlength(text) > 520:
            text = text.rsplit(" ", 1)[0]
        draw.text((40, y), text, (255, 255, 255), f, anchor="ls")
        truth.append((text, family, size))
        y += int(size * 1.3) + 24
    rgba = np.dstack([np.asarray(image), np.full((h, w), 255, np.uint8)])
    started = time.perf_counter()
    result = ClassicDecomposer().decompose(rgba, DecomposeOptions())
    total = time.perf_counter() - started
    # The hook again on the result's text layers, for its CPU time (the machine may be shared:
    # wall time then counts other processes' turns).
    kinds = {w.split('"')[1] for w in result.warnings if "stays pixels" in w}
    hooked = [
        SimpleNamespace(rgba=layer.rgba, name=layer.name,
                        kind="text" if layer.text or layer.name in kinds else "other")
        for layer in result.layers
    ]  # fmt: skip
    lines = detect_text(rgba[..., :3].astype(np.float32) / 255.0)
    cpu, wall = time.process_time(), time.perf_counter()
    text_specs(hooked, lines, [])
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    layers = [
        {"name": layer.name, "family": layer.text.family, "size": layer.text.size_px,
         "iou": layer.text.fit_iou} if layer.text else {"name": layer.name}
        for layer in result.layers
    ]  # fmt: skip
    return {
        "seconds_total": round(total, 2),
        "seconds_fitting_text": result.timings.get("fitting text"),
        "fitting_text_again_wall_s": round(wall, 2),
        "fitting_text_again_cpu_s": round(cpu, 2),
        "text_layers": sum(layer.kind == "text" for layer in hooked),
        "truth": [{"text": t, "family": f, "size": s} for t, f, s in truth],
        "layers": layers,
        "warnings": result.warnings,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=sorted(SEEDS), default="heldout")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--held-out", type=int, default=40, help="samples in held-out fonts")
    parser.add_argument("--held-families", type=int, default=6)
    parser.add_argument("--no-poster", action="store_true")
    parser.add_argument("--per-sample", action="store_true")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--from-log", type=Path, help="summarise the rows a -v run printed")
    args = parser.parse_args()
    if args.from_log:  # a run cut short: its per-sample lines (stderr of -v) summarised
        rows = [json.loads(line) for line in args.from_log.read_text().splitlines()
                if line.startswith("{")]  # fmt: skip
        # The held-out-fonts rows follow the main set's, numbered from 0 again.
        restart = next((k for k in range(1, len(rows)) if rows[k]["i"] == 0), len(rows))
        out = {"from_log": str(args.from_log), **summary(rows[:restart])}
        held = [r["true_iou"] for r in rows[restart:] if "true_iou" in r]
        if rows[restart:]:
            out["held_out_fonts"] = {
                "samples": len(rows) - restart,
                "nearest_iou_median": round(float(np.median(held)), 4) if held else None,
            }
        print(json.dumps(out, indent=1))
        return 0
    import skimage.data

    photos = [skimage.data.astronaut(), skimage.data.coffee(), skimage.data.chelsea(),
              skimage.data.rocket()]  # fmt: skip
    started = time.perf_counter()
    installed_faces()
    families = {k: v for k, v in _families(text_faces("".join(WORDS) + "0123456789")).items()}
    alike = lookalikes(families)
    seed = SEEDS[args.set]
    rows = run_set(args, seed, families, photos, alike, n=args.n)
    out = {"set": args.set, "seed": seed, "families": len(families), **summary(rows)}
    out["lookalike_groups"] = sorted(
        {tuple(sorted(group)) for group in alike.values() if len(group) > 1}
    )
    if args.held_out:
        held_rng = np.random.default_rng(seed + 1)
        names = sorted(families)
        held = tuple(sorted(held_rng.choice(names, args.held_families, replace=False)))
        held_rows = run_set(args, seed + 2, families, photos, alike, held, n=args.held_out)
        ious = [r["true_iou"] for r in held_rows if "true_iou" in r]
        out["held_out_fonts"] = {
            "families": list(held),
            "samples": len(held_rows),
            "nearest_iou_median": round(float(np.median(ious)), 4) if ious else None,
            "accepted_share": round(
                sum(bool(r.get("accepted")) for r in held_rows) / max(1, len(held_rows)), 4
            ),
            "nearest_families": sorted(
                {f"{r['family']} -> {r.get('found_family')}" for r in held_rows}
            ),
        }
    if not args.no_poster:
        out["poster"] = [poster(seed + 3 + i, families) for i in range(2)]
    out["targets"] = {
        "family_top1": ">= 0.80", "family_top3": ">= 0.95", "size_within_5pct": ">= 0.90",
        "colour_mean_abs_error_255": "<= 6", "true_matte_iou_median": ">= 0.90",
        "fit_seconds_per_line": "<= 1", "poster_seconds_fitting_text": "<= 3",
        "accept_threshold_layer_iou": MIN_IOU,
    }  # fmt: skip
    if args.per_sample:
        out["per_sample"] = rows
    out["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
