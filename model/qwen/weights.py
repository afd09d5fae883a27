"""Where the Qwen-Image-Layered weights are, and whether every file they need is there.

A model is a local folder or a Hub id resolved from the local Hub cache only (this module never
touches the network). The completeness check reads what `model_index.json` and each component's
files declare: configs parse, every safetensors shard an index lists exists, each safetensors
header parses and the file is as long as its header says. Pickle weights are never opened.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_MODEL = "Qwen/Qwen-Image-Layered"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
_MAX_HEADER = 100 * 1024 * 1024  # safetensors caps its JSON header at 100 MB


@dataclass
class WeightsReport:
    model: str  # what the user asked for (Hub id or folder)
    path: Path | None  # the folder found, or None
    source: str  # "folder", "hub cache" or "not found"
    total_bytes: int = 0
    component_bytes: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # one line per missing/unreadable file

    @property
    def found(self) -> bool:
        return self.path is not None

    @property
    def complete(self) -> bool:
        return self.found and not self.problems

    def summary(self) -> str:
        if not self.found:
            return self.problems[0] if self.problems else f"{self.model} not found"
        size = human_size(self.total_bytes)
        state = "complete" if self.complete else f"INCOMPLETE ({len(self.problems)} problems)"
        return f"{self.path} ({self.source}), {size}, {state}"


def human_size(n: int) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n} B"


def not_found_message(model: str) -> str:
    return (
        f"the Qwen-Image-Layered weights ({model}) were not found in the local Hugging Face cache; "
        "run `python main.py models download` or pass `--model DIR` with a downloaded copy."
    )


def locate(model: str | None = None) -> tuple[Path | None, str]:
    """The weights folder and where it came from, offline: a folder path or the Hub cache."""
    model = model or DEFAULT_MODEL
    candidate = Path(model).expanduser()
    if candidate.is_dir():
        return candidate.resolve(), "folder"
    if candidate.is_absolute() or model.startswith((".", "~")) or model.count("/") != 1:
        return None, "not found"
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError:
        return None, "not found"
    try:
        folder = snapshot_download(model, local_files_only=True)
    except (LocalEntryNotFoundError, FileNotFoundError, ValueError, OSError):
        return None, "not found"
    return Path(folder), "hub cache"


def safetensors_problem(path: Path) -> tuple[str | None, set[str]]:
    """None if the file's header parses and the data it declares is all there; and its tensors."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            raw = f.read(8)
            if len(raw) < 8:
                return "is empty or truncated (no header)", set()
            (header_len,) = struct.unpack("<Q", raw)
            if header_len > _MAX_HEADER or 8 + header_len > size:
                return "is truncated or not a safetensors file (bad header length)", set()
            header = json.loads(f.read(header_len))
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})", set()
    except (ValueError, UnicodeDecodeError):
        return "has a header that does not parse", set()
    if not isinstance(header, dict):
        return "has a header that does not parse", set()
    tensors = {k for k in header if k != "__metadata__"}
    try:
        end = max((int(header[k]["data_offsets"][1]) for k in tensors), default=0)
    except (KeyError, TypeError, ValueError, IndexError):
        return "has a header that does not parse", set()
    if 8 + header_len + end > size:
        missing = 8 + header_len + end - size
        return f"is truncated ({missing} bytes short)", tensors
    return None, tensors


def _json_problem(path: Path) -> tuple[str | None, object]:
    if not path.is_file():
        return "is missing", None
    try:
        return None, json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})", None
    except ValueError:
        return "is not valid JSON", None


class FolderChecker:
    """Collects what is missing or truncated in a downloaded weights folder (qwen and the
    Object Select models both check theirs with it)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[str] = []
        self.sizes: dict[str, int] = {}

    def fail(self, path: Path, what: str) -> None:
        self.problems.append(f"{path.relative_to(self.root).as_posix()} {what}")

    def count(self, component: str, path: Path) -> None:
        try:
            self.sizes[component] = self.sizes.get(component, 0) + path.stat().st_size
        except OSError:
            pass

    def json_file(self, component: str, path: Path) -> object:
        problem, data = _json_problem(path)
        if problem:
            self.fail(path, problem)
        else:
            self.count(component, path)
        return data

    def weights(self, component: str, folder: Path) -> None:
        indexes = sorted(folder.glob("*.safetensors.index.json"))
        singles = sorted(p for p in folder.glob("*.safetensors"))
        if indexes:
            for index in indexes:
                data = self.json_file(component, index)
                if not isinstance(data, dict) or not isinstance(data.get("weight_map"), dict):
                    if data is not None:
                        self.fail(index, "has no weight_map")
                    continue
                wanted: dict[str, set[str]] = {}
                for tensor, shard in data["weight_map"].items():
                    wanted.setdefault(str(shard), set()).add(tensor)
                for shard, tensors in sorted(wanted.items()):
                    self._shard(component, folder / shard, tensors)
        elif singles:
            for single in singles:
                self._shard(component, single, set())
        else:
            pickles = [p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES]
            hint = ""
            if pickles:
                hint = f" (only pickle files {', '.join(pickles)}, which are never loaded)"
            self.problems.append(
                f"{folder.relative_to(self.root).as_posix()}/ has no safetensors weights{hint}"
            )

    def _shard(self, component: str, path: Path, tensors: set[str]) -> None:
        if not path.is_file():
            self.fail(path, "is missing")
            return
        problem, found = safetensors_problem(path)
        if problem:
            self.fail(path, problem)
            return
        self.count(component, path)
        if tensors - found:
            self.fail(path, f"lacks {len(tensors - found)} tensors its index lists")


def _check_component(checker: FolderChecker, name: str, class_name: str) -> None:
    folder = checker.root / name
    if not folder.is_dir():
        checker.problems.append(f"{name}/ is missing")
        return
    for extra in sorted(folder.glob("*.json")):  # every JSON file there must at least parse
        if extra.name.endswith(".safetensors.index.json"):
            continue
        if (
            extra.name not in ("config.json", "scheduler_config.json")
            and not extra.name.startswith(("tokenizer", "processor", "preprocessor"))
        ):
            checker.json_file(name, extra)
    if "Scheduler" in class_name:
        checker.json_file(name, folder / "scheduler_config.json")
    elif "Tokenizer" in class_name:
        checker.json_file(name, folder / "tokenizer_config.json")
        _tokenizer_files(checker, name, folder)
    elif "Processor" in class_name:
        configs = [folder / n for n in ("processor_config.json", "preprocessor_config.json")]
        present = [c for c in configs if c.is_file()]
        if not present:
            checker.fail(configs[0], "is missing (nor preprocessor_config.json)")
        for config in present:
            checker.json_file(name, config)
        if (folder / "tokenizer_config.json").is_file():
            checker.json_file(name, folder / "tokenizer_config.json")
            _tokenizer_files(checker, name, folder)
    else:
        checker.json_file(name, folder / "config.json")
        checker.weights(name, folder)


def _tokenizer_files(checker: FolderChecker, name: str, folder: Path) -> None:
    if (folder / "tokenizer.json").is_file():
        checker.json_file(name, folder / "tokenizer.json")
        return
    for needed in ("vocab.json", "merges.txt"):
        if not (folder / needed).is_file():
            checker.fail(folder / needed, "is missing (nor tokenizer.json)")
        elif needed.endswith(".json"):
            checker.json_file(name, folder / needed)
        else:
            checker.count(name, folder / needed)


def check_folder(root: Path, model: str = "", source: str = "folder") -> WeightsReport:
    """Check a diffusers pipeline folder against its model_index.json."""
    checker = FolderChecker(root)
    index = checker.json_file("model_index", root / "model_index.json")
    if isinstance(index, dict):
        for name, value in sorted(index.items()):
            if name.startswith("_") or not isinstance(value, list) or len(value) != 2:
                continue
            if value[0] is None or value[1] is None:  # an optional component left out
                continue
            _check_component(checker, name, str(value[1]))
    elif index is not None:
        checker.problems.append("model_index.json is not a JSON object")
    return WeightsReport(
        model=model or str(root),
        path=root,
        source=source,
        total_bytes=sum(checker.sizes.values()),
        component_bytes=dict(checker.sizes),
        problems=checker.problems,
    )


def inspect_weights(model: str | None = None) -> WeightsReport:
    """Locate the weights offline and check them; never loads a tensor."""
    model = model or DEFAULT_MODEL
    path, source = locate(model)
    if path is None:
        if Path(model).expanduser().exists() or model.startswith((".", "/", "~")):
            message = (
                f"{model} is not a folder; pass `--model DIR` with a downloaded copy, "
                "or run `python main.py models download`"
            )
        else:
            message = not_found_message(model)
        return WeightsReport(model=model, path=None, source="not found", problems=[message])
    return check_folder(path, model, source)
