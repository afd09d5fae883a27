#!/usr/bin/env bash
# Build the one-folder desktop app with PyInstaller and check the built program headless:
# it decomposes a sample photo into a PSD (twice: the first run fills numba's cache) and
# psd-tools opens that PSD; the editor's launch check (app/platform_check.py) runs in the build
# without a display and, where xvfb-run exists, with Qt's real xcb plugin. Prints one JSON
# object (build seconds, folder size, timings).
#
#   installer/build_check.sh              build into dist/strata (work files in build/), then check
#   installer/build_check.sh --no-build   check the dist/strata that is already there
#   STRATA_DIST=DIR installer/build_check.sh --no-build   check DIR/strata instead
#
# Takes several minutes on 2 cores. tests/test_installer.py runs it when STRATA_BUILD_CHECK=1.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build=1
[ "${1:-}" = "--no-build" ] && build=0
py="$root/.venv/bin/python"
dist="${STRATA_DIST:-$root/dist}"
app="$dist/strata"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
log() { printf '%s\n' "$*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

[ -x "$py" ] || "$root/installer/bootstrap.sh" app >&2
build_s=None  # a Python literal: the report below is written by Python
if [ "$build" = 1 ]; then
  if ! "$py" -c "import PyInstaller" 2>/dev/null; then
    log "installing PyInstaller (the build extra)"
    "$py" -m pip install --quiet -e "$root[build]" >&2
  fi
  log "building $app (several minutes)"
  start="$(now)"
  "$py" -m PyInstaller --noconfirm --log-level WARN --distpath "$dist" \
    --workpath "$root/build/pyinstaller" "$root/installer/strata.spec" >&2
  build_s="$(since "$start")"
fi
[ -x "$app/strata" ] || { log "error: $app/strata is missing; build it first"; exit 1; }
for left_out in torch diffusers transformers; do
  if [ -e "$app/_internal/$left_out" ]; then log "error: $left_out is in the build"; exit 1; fi
done
size_mb="$(du -sm "$app" | cut -f1)"

# A real photo from the scikit-image wheel, as a PNG the built program has to read.
"$py" -c "
import sys
from PIL import Image
from skimage import data
Image.fromarray(data.astronaut()).save(sys.argv[1])
" "$work/astronaut.png"

export QT_QPA_PLATFORM=offscreen
# numba keeps pymatting's compiled code inside the build (see strata.spec): the first run after
# a build compiles and fills that cache, so the folder ships warm. NUMBA_CACHE_DIR would move it.
unset NUMBA_CACHE_DIR
numba_cache_files() {
  if [ -d "$app/_internal/pymatting" ]; then find "$app/_internal/pymatting" -name '*.nbi' | wc -l
  else echo 0; fi
}
cached_before="$(numba_cache_files)"
# Away from the checkout, so that nothing can be imported from the source tree by accident.
cd "$work"
runs=()
for run in first second; do
  log "decompose ($run run)"
  start="$(now)"
  "$app/strata" decompose astronaut.png -o "$run.psd" --backend classic >&2
  runs+=("$(since "$start")")
done
log "decompose with --backend auto (qwen is not in the build, so classic)"
start="$(now)"
"$app/strata" decompose astronaut.png -o auto.psd >&2
auto_s="$(since "$start")"

cached_after="$(numba_cache_files)"

# The editor with a file: still running after 30 s means Qt, its plugins and the file loaded.
log "editor: open first.psd offscreen for 30 s"
editor_rc=0
timeout 30 "$app/strata" first.psd >"$work/editor.log" 2>&1 || editor_rc=$?
if [ "$editor_rc" != 124 ]; then
  log "error: the editor exited with status $editor_rc:"; tail -n 20 "$work/editor.log" >&2; exit 1
fi

# The launcher's platform check is in the build: without any display it says so in one line
# (Qt would abort with signal 6), and in a real X server (Xvfb, Qt's xcb plugin, not offscreen)
# the check passes and the window stays up.
log "editor without a display: one line, exit status 1"
nodisplay_rc=0
env -u QT_QPA_PLATFORM -u DISPLAY -u WAYLAND_DISPLAY "$app/strata" first.psd \
  >"$work/nodisplay.log" 2>&1 || nodisplay_rc=$?
if [ "$nodisplay_rc" != 1 ] || ! grep -q "^error: there is no display" "$work/nodisplay.log"; then
  log "error: without a display the editor exited with $nodisplay_rc:"; cat "$work/nodisplay.log" >&2
  exit 1
fi
editor_xcb=None
if command -v xvfb-run >/dev/null; then
  log "editor: open first.psd under Xvfb with the xcb plugin for 20 s"
  xcb_rc=0
  env -u QT_QPA_PLATFORM -u WAYLAND_DISPLAY STRATA_NO_SYSTEM_INSTALL=1 \
    xvfb-run -a -s "-screen 0 1600x1000x24" timeout 20 "$app/strata" first.psd \
    >"$work/xcb.log" 2>&1 || xcb_rc=$?
  if [ "$xcb_rc" != 124 ]; then
    log "error: under xcb the editor exited with status $xcb_rc:"; tail -n 20 "$work/xcb.log" >&2
    exit 1
  fi
  editor_xcb=True
else
  log "note: xvfb-run is not installed (apt-get install xvfb): the xcb check is skipped"
fi

"$py" - "$work/first.psd" "$work/auto.psd" "$work/astronaut.png" <<EOF
import json, sys
import numpy as np
from PIL import Image
from psd_tools import PSDImage

psd = PSDImage.open(sys.argv[1])
layers = [layer for layer in psd.descendants() if not layer.is_group()]
assert layers, "the PSD has no layers"
assert psd.size == Image.open(sys.argv[3]).size, f"the PSD is {psd.size}, not the picture's size"
picture = np.asarray(Image.open(sys.argv[3]).convert("RGB"), dtype=np.float64)
flat = np.asarray(psd.composite(force=True).convert("RGB"), dtype=np.float64)
auto = PSDImage.open(sys.argv[2])
print(json.dumps({
    "build_s": $build_s,
    "folder_mb": $size_mb,
    "decompose_first_s": ${runs[0]},
    "decompose_second_s": ${runs[1]},
    "decompose_auto_s": $auto_s,
    "psd_layers": len(layers),
    "psd_size": list(psd.size),
    "composite_mean_abs_error": round(float(np.abs(flat - picture).mean()), 2),
    "auto_psd_layers": sum(1 for layer in auto.descendants() if not layer.is_group()),
    "editor_ran_30s": True,
    "editor_no_display_one_line": True,
    "editor_xcb_ran_20s": $editor_xcb,
    "numba_cache_files_before": $cached_before,
    "numba_cache_files_after": $cached_after,
}))
EOF
