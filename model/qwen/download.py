"""Fetching the Qwen-Image-Layered weights with huggingface_hub (resumable, cancellable).

Only safetensors weights and small text files are fetched; pickle files never are. Before the
download starts the repository's size is asked from the Hub (a dry run) and checked against the
free disk space. Cancelling (from any thread) stops at the next progress update; running the
download again resumes: huggingface_hub keeps finished files and partial ones.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from model.base import Cancelled, CancelToken, DecomposeError, Progress
from model.qwen.pipeline import INSTALL_HINT
from model.qwen.weights import DEFAULT_MODEL, check_folder

ALLOW_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.jinja", "*.md", "LICENSE*"]
MARGIN_BYTES = 1024**3  # keep 1 GiB free beyond what the files need
_BYTES_BAR = "huggingface_hub.snapshot_download"  # the bar counting bytes written to disk


class DownloadError(DecomposeError):
    """The download could not start or finish; the message says what to do."""


def _network_message(exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
    return (
        f"could not reach the Hugging Face Hub ({first[:200]}); check the network connection "
        "(or HTTPS_PROXY / HF_ENDPOINT) and run the command again: it resumes where it stopped"
    )


def require_hub() -> None:
    """DownloadError naming the extra to install when huggingface_hub cannot be imported."""
    try:
        import huggingface_hub  # noqa: F401
    except ImportError:
        raise DownloadError(
            f"downloading the weights needs the qwen extra, which is not installed: {INSTALL_HINT}"
        ) from None


def _existing_parent(path: Path) -> Path:
    path = path.expanduser().absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def target_folder(to: str | Path | None) -> Path:
    if to is not None:
        return Path(to).expanduser()
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def check_disk(needed: int, folder: Path) -> None:
    free = shutil.disk_usage(_existing_parent(folder)).free
    if free < needed + MARGIN_BYTES:
        raise DownloadError(
            f"the weights need {needed / 1e9:.1f} GB more but only {free / 1e9:.1f} GB are free "
            f"under {_existing_parent(folder)}; free some space or pass `--to DIR` on another disk"
        )


def _progress_bar_class(
    progress: Callable[[Progress], None] | None, cancel: CancelToken | None, show: bool
) -> type:
    from huggingface_hub.utils import tqdm as hf_tqdm

    class Bar(hf_tqdm):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._strata_name = kwargs.get("name")
            self._strata_done = int(kwargs.get("initial") or 0)  # a disabled tqdm counts nothing
            if not show:
                kwargs["disable"] = True
            super().__init__(*args, **kwargs)

        def update(self, n: float | None = 1) -> bool | None:
            if cancel is not None:
                cancel.check()  # raises Cancelled inside the download thread
            result = super().update(n)
            self._strata_done += int(n or 0)
            if progress is not None and self._strata_name == _BYTES_BAR:
                total = int(self.total or 0)
                progress(Progress("downloading", self._strata_done, total, "bytes"))
            return result

    return Bar


def bytes_to_fetch(repo_id: str = DEFAULT_MODEL, to: str | Path | None = None) -> int:
    """How many bytes the download still needs (asks the Hub; raises DownloadError offline)."""
    from huggingface_hub import snapshot_download

    try:
        infos = snapshot_download(
            repo_id,
            local_dir=str(to) if to is not None else None,
            allow_patterns=ALLOW_PATTERNS,
            dry_run=True,
        )
    except Exception as exc:  # noqa: BLE001 - any failure here means the Hub is unreachable
        raise DownloadError(_network_message(exc)) from exc
    return sum(int(info.file_size or 0) for info in infos if info.will_download)


def download(
    repo_id: str = DEFAULT_MODEL,
    to: str | Path | None = None,
    progress: Callable[[Progress], None] | None = None,
    cancel: CancelToken | None = None,
    show_bars: bool = True,
    check: Callable[[Path, str, str], Any] | None = None,
    announce: Callable[[int], None] | None = None,
) -> Any:
    """Download (or finish downloading) the weights; returns the completeness report
    (`check(folder, repo_id, source)`, by default a diffusers pipeline's). `announce` hears
    the bytes still to fetch before anything is written."""
    require_hub()
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        raise DownloadError(
            "HF_HUB_OFFLINE is set, so nothing can be downloaded; unset it and run again"
        )
    from huggingface_hub import snapshot_download

    folder = target_folder(to)
    needed = bytes_to_fetch(repo_id, to)
    if announce is not None:
        announce(needed)
    check_disk(needed, folder)
    if cancel is not None:
        cancel.check()
    try:
        path = snapshot_download(
            repo_id,
            local_dir=str(to) if to is not None else None,
            allow_patterns=ALLOW_PATTERNS,
            tqdm_class=_progress_bar_class(progress, cancel, show_bars),
        )
    except (Cancelled, DecomposeError):
        raise
    except OSError as exc:
        if exc.errno == 28:  # ENOSPC
            raise DownloadError(
                f"the disk under {folder} filled up during the download; free some space and "
                "run again: it resumes where it stopped"
            ) from exc
        raise DownloadError(_network_message(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - network and Hub errors come in many types
        raise DownloadError(_network_message(exc)) from exc
    return (check or check_folder)(Path(path), repo_id, "folder" if to is not None else "hub cache")
