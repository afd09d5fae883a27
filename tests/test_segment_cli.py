"""`models` lists and checks the Object Select weights; `models download NAME` takes them by
name through the Qwen download path (offline here: only the refusal can run)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from segment_fixtures import tiny_sam

from app.cli import main
from model.segment.catalogue import KNOWN


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import huggingface_hub.constants as hub

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(tmp_path / "hub-cache"))


def run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def cache_copy(folder: Path, repo: str) -> Path:
    from huggingface_hub import constants as hub

    commit = "0123456789abcdef0123456789abcdef01234567"
    root = Path(hub.HF_HUB_CACHE) / f"models--{repo.replace('/', '--')}"
    snapshot = root / "snapshots" / commit
    shutil.copytree(folder, snapshot)
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text(commit)
    return snapshot


def test_models_lists_every_segmentation_model_and_how_to_get_it(capsys):
    rc, out, _ = run(capsys, "models")
    assert rc == 0
    section = out[out.index("Object Select weights"):]
    for entry in KNOWN:
        assert (f"  {entry.name:<18} not downloaded (about {entry.size}): "
                f"`python main.py models download {entry.name}`") in section
    assert "edgetam" in section.splitlines()[1] and "[default]" in section.splitlines()[1]


def test_models_checks_a_downloaded_copy_and_names_a_truncated_file(capsys, tmp_path):
    snapshot = cache_copy(tiny_sam(tmp_path / "tiny"), "facebook/sam-vit-base")
    rc, out, _ = run(capsys, "models")
    assert rc == 0
    line = next(x for x in out.splitlines() if x.strip().startswith("sam-vit-base"))
    assert f"complete, {snapshot} (hub cache)" in line
    weights = snapshot / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10])
    rc, out, _ = run(capsys, "models")
    assert rc == 1
    assert (f"  sam-vit-base       INCOMPLETE: The sam-vit-base weights in {snapshot} are "
            "incomplete: model.safetensors is truncated (10 bytes short); run "
            "`python main.py models download sam-vit-base` again to resume.") in out


def test_download_by_name_offline_fails_in_one_line(capsys, tmp_path):
    rc, _out, err = run(capsys, "models", "download", "edgetam", "--to", str(tmp_path / "w"),
                        "-q")
    assert rc == 1
    assert err.count("\n") == 1 and "HF_HUB_OFFLINE" in err
    assert not (tmp_path / "w").exists()


def test_download_of_an_unknown_name_is_refused(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["models", "download", "sam-vit-gigantic"])
    assert caught.value.code != 0
    assert "invalid choice: 'sam-vit-gigantic'" in capsys.readouterr().err


def test_download_announces_the_size_before_fetching(monkeypatch, capsys, tmp_path):
    """The Hub's dry run is asked first and its size printed before anything is written."""
    from model.qwen import download as hub_download

    monkeypatch.delenv("HF_HUB_OFFLINE")
    order = []

    def dry_run(repo, to=None):
        order.append(("size", repo))
        return 123_000_000

    def fetch(repo_id, **kwargs):  # stands in for the network: copies a tiny model
        order.append(("fetch", repo_id))
        tiny_sam(Path(kwargs["local_dir"]))
        return kwargs["local_dir"]

    monkeypatch.setattr(hub_download, "bytes_to_fetch", dry_run)
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fetch)
    rc, out, err = run(capsys, "models", "download", "sam-vit-base", "--to",
                       str(tmp_path / "w"), "-q")
    assert rc == 0, err
    assert order == [("size", "facebook/sam-vit-base"), ("fetch", "facebook/sam-vit-base")]
    assert ("sam-vit-base (facebook/sam-vit-base): 123.00 MB to download into "
            f"{tmp_path / 'w'} (safetensors only)") in err
    assert "complete" in out and f"STRATA_SEGMENT_MODEL={tmp_path / 'w'}" in out
