"""`python main.py models`: backends and the Qwen weights' completeness, offline."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("diffusers")

from app.cli import main  # noqa: E402
from model.qwen.tiny import save_tiny_pipeline  # noqa: E402
from model.qwen.weights import inspect_weights  # noqa: E402

TRANSFORMER_INDEX = "transformer/diffusion_pytorch_model.safetensors.index.json"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-qwen") / "model"
    return save_tiny_pipeline(folder, seed=0, max_shard_size="200KB")


@pytest.fixture
def model(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "model"
    shutil.copytree(pristine, copy)
    return copy


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import huggingface_hub.constants as hub

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(tmp_path / "hub-cache"))


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def shards(folder: Path, component: str) -> list[Path]:
    return sorted((folder / component).glob("*-of-*.safetensors"))


def test_complete_tiny_model(model: Path, capsys: pytest.CaptureFixture) -> None:
    rc, out, _ = run(capsys, "models", "--model", str(model))
    assert rc == 0
    assert f"location: {model}" in out
    assert "status: complete" in out
    total = sum(p.stat().st_size for p in model.rglob("*") if p.is_file())
    report = inspect_weights(str(model))
    assert report.complete
    # every file counted except the per-component metadata nobody lists (generation config)
    assert 0.95 * total <= report.total_bytes <= total
    assert "classic" in out and "qwen" in out
    assert "auto picks: classic" in out


def test_removed_shard_is_named(model: Path, capsys: pytest.CaptureFixture) -> None:
    victim = shards(model, "transformer")[1]
    victim.unlink()
    rc, out, _ = run(capsys, "models", "--model", str(model))
    assert rc == 1
    assert "INCOMPLETE, 1 problem(s)" in out
    assert f"- transformer/{victim.name} is missing" in out


def test_truncated_file_is_named_with_missing_bytes(
    model: Path, capsys: pytest.CaptureFixture
) -> None:
    victim = shards(model, "vae")[0]
    data = victim.read_bytes()
    victim.write_bytes(data[:-1000])
    rc, out, _ = run(capsys, "models", "--model", str(model))
    assert rc == 1
    assert f"- vae/{victim.name} is truncated (1000 bytes short)" in out


def test_broken_header_and_config_are_named(model: Path, capsys: pytest.CaptureFixture) -> None:
    victim = shards(model, "text_encoder")[0]
    victim.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    (model / "vae" / "config.json").write_text("{", encoding="utf-8")
    (model / "tokenizer" / "tokenizer.json").unlink()
    rc, out, _ = run(capsys, "models", "--model", str(model))
    assert rc == 1
    assert f"- text_encoder/{victim.name} has a header that does not parse" in out
    assert "- vae/config.json is not valid JSON" in out
    assert "- tokenizer/vocab.json is missing (nor tokenizer.json)" in out
    assert "INCOMPLETE, 4 problem(s)" in out  # vocab.json and merges.txt both named


def test_missing_component_and_index(model: Path, capsys: pytest.CaptureFixture) -> None:
    shutil.rmtree(model / "scheduler")
    (model / TRANSFORMER_INDEX).unlink()
    for shard in shards(model, "transformer"):
        shard.unlink()
    rc, out, _ = run(capsys, "models", "--model", str(model))
    assert rc == 1
    assert "- scheduler/ is missing" in out
    assert "- transformer/ has no safetensors weights" in out


def test_pickle_weights_are_reported_not_loaded(
    model: Path, capsys: pytest.CaptureFixture
) -> None:
    for shard in shards(model, "vae"):
        shard.unlink()
    (model / "vae" / "diffusion_pytorch_model.safetensors.index.json").unlink()
    (model / "vae" / "diffusion_pytorch_model.bin").write_bytes(b"not even a pickle")
    rc, out, _ = run(capsys, "models", "--model", str(model))
    assert rc == 1
    assert "only pickle files diffusion_pytorch_model.bin, which are never loaded" in out


def test_hub_cache_snapshot_is_found_offline(
    pristine: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    # the layout huggingface_hub writes: refs/main -> snapshots/<commit>/...
    repo = tmp_path / "hub-cache" / "models--someone--tiny-layered"
    commit = "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(pristine, repo / "snapshots" / commit)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    rc, out, _ = run(capsys, "models", "--model", "someone/tiny-layered")
    assert rc == 0
    assert "(hub cache)" in out and "status: complete" in out


def test_weights_not_found_say_how_to_get_them(capsys: pytest.CaptureFixture) -> None:
    rc, out, _ = run(capsys, "models")
    assert rc == 0
    assert "not found" in out and "python main.py models download" in out


def test_download_offline_fails_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rc, out, err = run(capsys, "models", "download", "--to", str(tmp_path / "w"), "-q")
    assert rc == 1
    assert err.count("\n") == 1 and "HF_HUB_OFFLINE" in err
    assert not (tmp_path / "w").exists()
