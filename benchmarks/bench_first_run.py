"""The first decomposition after set-up against the later ones, with and without the warm-up.

    python benchmarks/bench_first_run.py [--repeats 2] [--picture PNG]

Each decomposition is a fresh `python main.py decompose PICTURE -o OUT.psd --backend classic`,
timed from the outside as a user waits for it (start-up and imports included). A first run is
reproduced with an empty NUMBA_CACHE_DIR: numba then finds none of pymatting's compiled code
(it looks there before the __pycache__ folders beside pymatting), so nothing in the shared
environment is touched. Two scenarios, each with a cache of its own:
  cold:   no warm-up; decompose (first), then --repeats more (later);
  warmed: python -m model.classic.warmup as the set-up scripts run it, then the same.
Prints one JSON object: seconds of each run, the warm-up's, and first / median(later).
The default picture is scikit-image's astronaut (512x512), a photo, so the matting runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)
    return round(time.perf_counter() - start, 2)


def scenario(name: str, picture: Path, repeats: int, work: Path) -> dict[str, object]:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(work / f"numba-{name}")}
    decompose = [sys.executable, str(ROOT / "main.py"), "decompose", str(picture), "-o",
                 str(work / "out.psd"), "--backend", "classic", "-q"]
    out: dict[str, object] = {}
    if name == "warmed":
        out["warmup_s"] = timed([sys.executable, "-m", "model.classic.warmup"], env, ROOT)
    first = timed(decompose, env, work)
    later = [timed(decompose, env, work) for _ in range(repeats)]
    out.update(first_s=first, later_s=later,
               first_over_later=round(first / statistics.median(later), 2))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--picture", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        picture = args.picture
        if picture is None:
            from PIL import Image
            from skimage import data

            picture = work / "astronaut.png"
            Image.fromarray(data.astronaut()).save(picture)
        report = {
            "picture": picture.name,
            "cpus": os.cpu_count(),
            "load_avg_start": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
            "cold": scenario("cold", picture, args.repeats, work),
            "warmed": scenario("warmed", picture, args.repeats, work),
            "load_avg_end": round(os.getloadavg()[0], 2),
        }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
