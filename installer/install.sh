#!/usr/bin/env bash
# Install Strata for the current user from this checkout.
#
#   installer/install.sh                 environment, app, `strata` launcher, desktop entry
#   installer/install.sh --with-qwen     also the qwen decomposer (torch for this machine, ...)
#   installer/install.sh --dry-run       print the steps, change nothing
#   installer/install.sh --no-system-packages   only print the apt-get line the editor's window needs
#   installer/install.sh --uninstall     remove what an earlier run installed
#
# Running it again is harmless: every step checks what is already there and only redoes what
# changed. It reaches the network only through pip (PyPI, and PyTorch's wheel index for torch).
# Written for Linux; on macOS everything except the desktop integration applies. notes/installer.md
# says how the macOS and Windows variants differ.
set -euo pipefail

MARKER="written by Strata's installer/install.sh"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA_HOME_DEFAULT="${XDG_DATA_HOME:-$HOME/.local/share}"
# Wheel tags of PyTorch's CUDA indexes, newest first, as "major.minor:tag"; the driver's CUDA
# version (from nvidia-smi) must be at least the tag's. Extend when PyTorch publishes a new one.
CUDA_WHEELS="13.0:cu130 12.9:cu129 12.8:cu128 12.6:cu126 12.4:cu124 12.1:cu121 11.8:cu118"
TORCH_INDEX_BASE="https://download.pytorch.org/whl"
# What a snapshot of the checkout holds (the app runs from it, so resources/ sits beside app/).
SNAPSHOT_PATHS="main.py pyproject.toml README.md app model resources"

usage() {
  cat <<EOF
usage: installer/install.sh [options]

  --prefix DIR        Strata's own folder: environment and app (default: $DATA_HOME_DEFAULT/strata)
  --bin-dir DIR       where the \`strata\` launcher goes (default: \$HOME/.local/bin)
  --data-home DIR     where the desktop entry, icon and file type go (default: $DATA_HOME_DEFAULT)
  --python PATH       Python 3.11 or newer to build the environment with (default: newest found)
  --with-qwen         also install the qwen extra (torch, diffusers, transformers, ...)
  --torch KIND        torch build for --with-qwen: auto (default), cpu, cuda, a CUDA wheel tag
                      such as cu126, or pypi (PyPI's default wheels; MPS on Apple silicon)
  --torch-index URL   install torch and torchvision from this package index instead
  --editable          run the app from this checkout instead of a copy (for developers)
  --no-pip            install no packages (an environment you fill yourself; tests)
  --no-desktop        skip the desktop entry, icon and file type
  --no-system-packages  do not apt-get install the libraries Qt's X11 plugin needs nor the
                      open-licence fonts (as root); only print the lines (without root they
                      are always only printed)
  --dry-run           print the steps without doing them
  --uninstall         remove what an earlier run installed (with the same --prefix)
  -h, --help          this text
EOF
}

prefix="" bin_dir="" data_home="" python="" with_qwen=0 torch_kind="auto" torch_index=""
editable=0 no_pip=0 desktop=1 dry_run=0 action="install" system_packages=1
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="${2:?--prefix needs a folder}"; shift ;;
    --bin-dir) bin_dir="${2:?--bin-dir needs a folder}"; shift ;;
    --data-home) data_home="${2:?--data-home needs a folder}"; shift ;;
    --python) python="${2:?--python needs a path}"; shift ;;
    --with-qwen) with_qwen=1 ;;
    --torch) torch_kind="${2:?--torch needs a kind}"; shift ;;
    --torch-index) torch_index="${2:?--torch-index needs a URL}"; shift ;;
    --editable) editable=1 ;;
    --no-pip) no_pip=1 ;;
    --no-desktop) desktop=0 ;;
    --no-system-packages) system_packages=0 ;;
    --dry-run) dry_run=1 ;;
    --uninstall) action="uninstall" ;;
    -h|--help) usage; exit 0 ;;
    *) echo "error: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

absolute() { case "$1" in /*) printf '%s' "$1" ;; *) printf '%s/%s' "$PWD" "$1" ;; esac; }
prefix="$(absolute "${prefix:-$DATA_HOME_DEFAULT/strata}")"
manifest="$prefix/install.env"
log="$prefix/install.log"
# An uninstall reads the folders from the manifest of the install it undoes.
if [ "$action" = uninstall ] && [ -f "$manifest" ]; then
  bin_dir="${bin_dir:-$(sed -n 's/^BIN_DIR=//p' "$manifest")}"
  data_home="${data_home:-$(sed -n 's/^DATA_HOME=//p' "$manifest")}"
fi
bin_dir="$(absolute "${bin_dir:-$HOME/.local/bin}")"
data_home="$(absolute "${data_home:-$DATA_HOME_DEFAULT}")"
venv="$prefix/venv"
src="$prefix/src"
[ "$editable" = 1 ] && src="$ROOT"
launcher="$bin_dir/strata"
system="$(uname -s)"
[ "$system" = Linux ] || desktop=0

# ---- output and actions --------------------------------------------------------------------
step() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
quoted() {
  local out="" a
  for a in "$@"; do out+="$(printf '%q' "$a") "; done
  printf '%s' "${out% }"
}
# Run a command that changes something; --dry-run only prints it.
act() {
  if [ "$dry_run" = 1 ]; then note "would run: $(quoted "$@")"; return; fi
  note "+ $(quoted "$@")"
  "$@"
}
# The same for pip: its output (warnings of build tools included) goes to the log, and only
# the log's end is shown when it fails.
act_logged() {
  if [ "$dry_run" = 1 ]; then act "$@"; return; fi
  note "+ $(quoted "$@")"
  mkdir -p "$prefix"
  printf '\n[%s] $ %s\n' "$(date '+%F %T')" "$(quoted "$@")" >> "$log"
  if ! "$@" >> "$log" 2>&1; then
    tail -n 25 "$log" | sed 's/^/    | /' >&2
    note "failed; the whole output is in $log"
    return 1
  fi
}
die() { echo "error: $*" >&2; exit 1; }
hasher=sha1sum; command -v sha1sum >/dev/null || hasher=shasum   # shasum on macOS
hash_stdin() { "$hasher" | cut -c1-16; }

# Copy FILE to DEST unless DEST already holds the same bytes; returns 1 when nothing changed.
put_file() {
  local file="$1" dest="$2"
  if [ -f "$dest" ] && cmp -s "$file" "$dest"; then note "up to date: $dest"; return 1; fi
  act mkdir -p "$(dirname "$dest")"
  act cp "$file" "$dest"
}

update_mime_db() {
  if command -v update-mime-database >/dev/null; then act update-mime-database "$data_home/mime"; fi
}

# ---- Python and the environment --------------------------------------------------------------
python_ok() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }

find_python() {
  if [ -n "$python" ]; then
    python_ok "$python" || die "$python is not Python 3.11 or newer"
    printf '%s' "$python"; return
  fi
  local candidate
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null && python_ok "$(command -v "$candidate")"; then
      command -v "$candidate"; return
    fi
  done
  die "Strata needs Python 3.11 or newer; install it (e.g. python3.11-venv) or pass --python"
}

ensure_venv() {
  step "environment: $venv"
  if [ -x "$venv/bin/python" ] && python_ok "$venv/bin/python"; then
    note "kept: $("$venv/bin/python" --version 2>&1)"
    return
  fi
  local py; py="$(find_python)"
  local args=(-m venv)
  [ "$no_pip" = 1 ] && args+=(--without-pip)
  [ -e "$venv" ] && act rm -rf "$venv"   # a broken or too old environment is rebuilt
  act "$py" "${args[@]}" "$venv"
  if [ "$no_pip" = 0 ]; then
    act_logged "$venv/bin/python" -m pip install --upgrade pip \
      || die "could not update pip in $venv"
  fi
}

# ---- the app ---------------------------------------------------------------------------------
# A hash of the files a snapshot holds (names and bytes), computed once.
source_hash() {
  if [ -z "${_source_hash:-}" ]; then
    # shellcheck disable=SC2086 # the list is meant to split
    _source_hash="$(cd "$ROOT" && find $SNAPSHOT_PATHS -type f ! -path '*/__pycache__/*' \
      ! -name '*.pyc' -print0 | LC_ALL=C sort -z | xargs -0 "$hasher" | hash_stdin)"
  fi
  printf '%s\n' "$_source_hash"
}

copy_snapshot() {
  step "app files: $src"
  if [ "$editable" = 1 ]; then note "editable: the app runs from this checkout"; return; fi
  local want; want="$(source_hash)"
  if [ -f "$src/.strata-source" ] && [ "$(cat "$src/.strata-source")" = "$want" ]; then
    note "up to date (same files as this checkout)"
    return
  fi
  if [ "$dry_run" = 1 ]; then note "would copy $SNAPSHOT_PATHS from $ROOT"; return; fi
  rm -rf "$src.new" && mkdir -p "$src.new"
  # shellcheck disable=SC2086 # the list is meant to split
  (cd "$ROOT" && tar -cf - --exclude=__pycache__ --exclude='*.pyc' $SNAPSHOT_PATHS) \
    | (cd "$src.new" && tar -xf -)
  printf '%s\n' "$want" > "$src.new/.strata-source"
  rm -rf "$src" && mv "$src.new" "$src"
  note "copied $SNAPSHOT_PATHS from $ROOT"
}

# The newest CUDA version the NVIDIA driver supports ("12.4"), or nothing without a driver.
cuda_version() {
  command -v nvidia-smi >/dev/null || return 0
  { nvidia-smi 2>/dev/null || true; } | sed -n 's/.*CUDA Version: *\([0-9]*\.[0-9]*\).*/\1/p' \
    | head -n1 || true
}

# CUDA wheel tags this driver can run, best first; empty when there is no usable NVIDIA driver.
cuda_tags() {
  local version; version="$(cuda_version)"
  [ -n "$version" ] || return 0
  local have=$(( ${version%%.*} * 100 + ${version#*.} )) entry need
  for entry in $CUDA_WHEELS; do
    need="${entry%%:*}"
    if [ $(( ${need%%.*} * 100 + ${need#*.} )) -le "$have" ]; then printf '%s ' "${entry#*:}"; fi
  done
}

# Package indexes to try for torch, best first (one per line; "pypi" = PyPI's default wheels).
torch_indexes() {
  if [ -n "$torch_index" ]; then printf '%s\n' "$torch_index"; return; fi
  local kind="$torch_kind" tags tag
  if [ "$kind" = auto ]; then
    if [ "$system" = Darwin ]; then kind=pypi
    elif [ -n "$(cuda_tags)" ]; then kind=cuda
    else kind=cpu
    fi
  fi
  case "$kind" in
    pypi) echo pypi ;;
    cpu) echo "$TORCH_INDEX_BASE/cpu" ;;
    cuda)
      tags="$(cuda_tags)"
      [ -n "$tags" ] \
        || die "--torch cuda: nvidia-smi finds no NVIDIA driver with CUDA 11.8 or newer"
      for tag in $tags; do echo "$TORCH_INDEX_BASE/$tag"; done ;;
    cu[0-9]*) echo "$TORCH_INDEX_BASE/$kind" ;;
    *) die "--torch must be auto, cpu, cuda, pypi or a wheel tag like cu126, not '$kind'" ;;
  esac
}

describe_torch() {
  case "$1" in
    pypi) if [ "$system" = Darwin ]; then echo "PyPI's wheels (MPS on Apple silicon)";
          else echo "PyPI's default wheels"; fi ;;
    */cpu) echo "CPU wheels from $1" ;;
    *) echo "CUDA wheels ${1##*/} from $1 (driver: CUDA $(cuda_version))" ;;
  esac
}

install_torch() {
  local indexes; indexes="$(torch_indexes)"
  step "torch: $(describe_torch "$(printf '%s\n' "$indexes" | head -n1)")"
  # When PyTorch's index cannot be reached (or has no wheel for this Python), PyPI's torch is the
  # last resort: on Linux x86_64 that is a CUDA build, bigger, but it runs on a CPU too.
  if [ -z "$torch_index" ] && [ "$(printf '%s\n' "$indexes" | tail -n1)" != pypi ]; then
    indexes="$(printf '%s\npypi' "$indexes")"
  fi
  local index args
  for index in $indexes; do
    args=(-m pip install torch torchvision)
    [ "$index" = pypi ] || args+=(--index-url "$index")
    if [ "$no_pip" = 1 ]; then
      note "skipped (--no-pip): $(quoted "$venv/bin/python" "${args[@]}")"
      return
    fi
    if act_logged "$venv/bin/python" "${args[@]}"; then return; fi
    note "no torch from $([ "$index" = pypi ] && echo PyPI || echo "$index"); trying the next"
  done
  die "could not install torch from: $(echo $indexes)"
}

install_packages() {
  local extras="" stamp="$venv/.strata-install"
  [ "$with_qwen" = 1 ] && extras="[qwen]"
  local want
  want="$( { source_hash; echo "$extras $torch_kind $torch_index $editable $src"; } | hash_stdin)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    step "packages: up to date (strata$extras)"
    return
  fi
  [ "$with_qwen" = 1 ] && install_torch
  step "packages: strata$extras and its dependencies"
  if [ "$no_pip" = 1 ]; then note "skipped (--no-pip)"; return; fi
  act_logged "$venv/bin/python" -m pip install -e "$src$extras" \
    || die "pip could not install strata$extras"
  # numba compiles pymatting's functions now, not in the first decomposition (about a minute).
  step "compiling the classic decomposer's matting code (once, about a minute)"
  act_logged "$venv/bin/python" -m model.classic.warmup \
    || note "the warm-up failed (see $log); the first decomposition will compile instead"
  if [ "$dry_run" = 0 ]; then printf '%s\n' "$want" > "$stamp"; fi
}

# ---- system libraries of Qt's X11 plugin (Linux with apt) -----------------------------------
# app/platform_check.py is standard-library only: it runs with the new environment's Python (and
# then asks ldd about PySide6's libqxcb.so) or, in a dry run before that exists, with python3.
install_system_packages() {
  [ "$system" = Linux ] || return 0
  step "system packages for the editor's window (Qt's X11 plugin)"
  local py="$venv/bin/python" args=(--system-packages)
  [ -x "$py" ] || py="$(find_python)"
  if [ "$dry_run" = 1 ]; then args+=(--dry-run)
  elif [ "$system_packages" = 1 ] && [ "$no_pip" = 0 ]; then args+=(--install)
  fi
  "$py" "$ROOT/app/platform_check.py" "${args[@]}" | sed 's/^/    /' || true
}

# ---- open-licence fonts for the text fit (Linux with apt, as root) ---------------------------
# model/textfit searches the installed fonts: the more common families are present, the more
# text layers become editable text. installer/font-packages.txt lists them; unknown names skip.
install_font_packages() {
  [ "$system" = Linux ] && command -v apt-get >/dev/null || return 0
  step "open-licence fonts for editable text"
  local pkgs=() name
  while read -r name; do
    name="${name%%#*}"; name="${name//[[:space:]]/}"
    [ -n "$name" ] || continue
    if dpkg-query -W -f='${Status}' "$name" 2>/dev/null | grep -q "ok installed"; then continue; fi
    if apt-cache show --no-all-versions "$name" >/dev/null 2>&1; then pkgs+=("$name"); fi
  done < "$ROOT/installer/font-packages.txt"
  if [ "${#pkgs[@]}" = 0 ]; then note "fonts: all there"; return 0; fi
  if [ "$dry_run" = 1 ] || [ "$system_packages" = 0 ] || [ "$(id -u)" != 0 ]; then
    note "fonts: sudo apt-get install --no-install-recommends ${pkgs[*]}"
    return 0
  fi
  DEBIAN_FRONTEND=noninteractive act_logged apt-get install -y --no-install-recommends "${pkgs[@]}" \
    || note "could not install the fonts (see $log); text fits only the fonts already installed"
}

# ---- launcher and desktop integration --------------------------------------------------------
write_launcher() {
  step "launcher: $launcher"
  if [ -e "$launcher" ] && ! grep -qF "$MARKER" "$launcher" 2>/dev/null; then
    die "$launcher exists and was not written by this installer; move it away or pass --bin-dir"
  fi
  local tmp; tmp="$(mktemp)"
  printf '#!/bin/sh\n# %s\nexec %s %s "$@"\n' "$MARKER" \
    "$(quoted "$venv/bin/python")" "$(quoted "$src/main.py")" > "$tmp"
  if put_file "$tmp" "$launcher"; then act chmod 755 "$launcher"; fi
  rm -f "$tmp"
  case ":$PATH:" in
    *":$bin_dir:"*) ;;
    *) note "note: $bin_dir is not on your PATH; add it, or start Strata as $launcher" ;;
  esac
}

# The repository's entry says Exec=strata; the installed one names the launcher's full path,
# because a desktop session's PATH often lacks ~/.local/bin.
desktop_entry() {
  local exec_path="$launcher"
  case "$exec_path" in
    *[\"\`\$\\]*) die "the launcher path $launcher has characters a desktop entry cannot hold" ;;
    *[[:space:]]*) exec_path="\"$exec_path\"" ;;
  esac
  sed -e "s|^Exec=strata |Exec=$exec_path |" -e "s|^TryExec=strata$|TryExec=$launcher|" \
    "$ROOT/installer/strata.desktop"
}

install_desktop() {
  if [ "$desktop" = 0 ]; then
    step "desktop integration: skipped ($([ "$system" = Linux ] && echo "--no-desktop" \
      || echo "not Linux"))"
    return
  fi
  local tmpdir; tmpdir="$(mktemp -d)"
  step "icon: $data_home/icons/hicolor"
  put_file "$ROOT/resources/icons/strata.svg" "$data_home/icons/hicolor/scalable/apps/strata.svg" \
    || true
  put_file "$ROOT/resources/icons/strata.png" "$data_home/icons/hicolor/256x256/apps/strata.png" \
    || true

  step "file type: application/x-strata-session (*.strata)"
  local mime_dest="$data_home/mime/packages/strata-mime.xml"
  if [ -f "$mime_dest" ] && cmp -s "$ROOT/installer/strata-mime.xml" "$mime_dest"; then
    note "up to date: $mime_dest"
  elif command -v xdg-mime >/dev/null; then
    act env XDG_DATA_HOME="$data_home" xdg-mime install --mode user \
      "$ROOT/installer/strata-mime.xml"
  else
    put_file "$ROOT/installer/strata-mime.xml" "$mime_dest" || true
    update_mime_db
  fi

  step "desktop entry: $data_home/applications/strata.desktop"
  desktop_entry > "$tmpdir/strata.desktop"
  local entry_dest="$data_home/applications/strata.desktop"
  if [ -f "$entry_dest" ] && cmp -s "$tmpdir/strata.desktop" "$entry_dest"; then
    note "up to date: $entry_dest"
  else
    # Copied rather than given to xdg-desktop-menu, which also writes ~/.gnome/apps and makes
    # Strata the default for PNG and JPEG where no default is set.
    put_file "$tmpdir/strata.desktop" "$entry_dest" || true
    if command -v update-desktop-database >/dev/null; then
      act update-desktop-database -q "$data_home/applications"
    fi
  fi
  rm -rf "$tmpdir"
}

write_manifest() {
  local tmp; tmp="$(mktemp)"
  printf '# %s\nBIN_DIR=%s\nDATA_HOME=%s\nSRC=%s\nWITH_QWEN=%s\n' \
    "$MARKER" "$bin_dir" "$data_home" "$src" "$with_qwen" > "$tmp"
  step "record of this install: $manifest"
  put_file "$tmp" "$manifest" || true
  rm -f "$tmp"
}

# ---- uninstall -------------------------------------------------------------------------------
remove() { if [ -e "$1" ] || [ -L "$1" ]; then act rm -rf "$1"; else note "not there: $1"; fi; }

uninstall() {
  step "launcher: $launcher"
  if [ -e "$launcher" ] && ! grep -qF "$MARKER" "$launcher"; then
    note "kept: it was not written by this installer"
  else
    remove "$launcher"
  fi
  if [ "$system" = Linux ]; then
    step "desktop entry, file type and icon in $data_home"
    local entry="$data_home/applications/strata.desktop"
    if [ -e "$entry" ]; then
      remove "$entry"
      if command -v update-desktop-database >/dev/null; then
        act update-desktop-database -q "$data_home/applications"
      fi
    fi
    local mime="$data_home/mime/packages/strata-mime.xml"
    if [ -f "$mime" ] && command -v xdg-mime >/dev/null; then
      act env XDG_DATA_HOME="$data_home" xdg-mime uninstall --mode user \
        "$ROOT/installer/strata-mime.xml"
    fi
    if [ -e "$mime" ]; then
      remove "$mime"
      update_mime_db
    fi
    remove "$data_home/icons/hicolor/scalable/apps/strata.svg"
    remove "$data_home/icons/hicolor/256x256/apps/strata.png"
  fi
  step "environment and app files in $prefix"
  remove "$venv"
  # The app files are only ours to delete when they are a copy, never this checkout.
  [ "$(sed -n 's/^SRC=//p' "$manifest" 2>/dev/null)" = "$ROOT" ] || remove "$prefix/src"
  remove "$manifest"
  remove "$log"
  if [ -d "$prefix" ] && [ -z "$(ls -A "$prefix")" ]; then act rmdir "$prefix"; fi
  step "Strata is uninstalled"
}

# ---- main ------------------------------------------------------------------------------------
[ "$dry_run" = 1 ] && step "dry run: nothing is changed"
if [ "$action" = uninstall ]; then uninstall; exit 0; fi
[ -f "$ROOT/main.py" ] && [ -f "$ROOT/pyproject.toml" ] || die "$ROOT is not a Strata checkout"
if [ "$with_qwen" = 1 ]; then torch_indexes >/dev/null; fi   # a bad --torch fails before any change
source_hash >/dev/null   # fills the cache in this shell; later calls run in subshells
ensure_venv
copy_snapshot
install_packages
install_system_packages
install_font_packages
write_launcher
install_desktop
write_manifest
if [ "$dry_run" = 1 ]; then
  step "dry run finished; run again without --dry-run to install"
else
  step "Strata is installed: run \`strata\` (or $launcher), or open it from the applications menu"
fi
