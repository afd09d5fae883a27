"""Pieces of the qwen backend that need no model: resizing, memory plans, file checks, `auto`."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.base import DecomposeError, DecomposeOptions
from model.qwen.device import gpu_kind, image_tokens, pick_device, plan_memory
from model.qwen.pipeline import _version_tuple
from model.qwen.resample import resize_layer
from model.qwen.weights import safetensors_problem

GIB = 1024**3
sizes = st.integers(min_value=2, max_value=40)


@settings(max_examples=30, deadline=None)
@given(
    w=sizes, h=sizes, out_w=sizes, out_h=sizes,
    colour=st.tuples(*[st.integers(0, 255)] * 3), alpha=st.integers(1, 255),
)
def test_uniform_layer_stays_uniform(w, h, out_w, out_h, colour, alpha) -> None:
    layer = np.empty((h, w, 4), np.float32)
    layer[...] = [*(c / 255 for c in colour), alpha / 255]
    out = resize_layer(layer, out_w, out_h)
    assert out.shape == (out_h, out_w, 4) and out.dtype == np.uint8
    assert np.abs(out[..., 3].astype(int) - alpha).max() <= 1
    # colour is recovered from premultiplied values: rounding error grows as alpha shrinks
    tolerance = 1 + 255 / alpha
    assert np.abs(out[..., :3].astype(int) - np.array(colour)).max() <= tolerance


@settings(max_examples=30, deadline=None)
@given(w=sizes, h=sizes, seed=st.integers(0, 2**16))
def test_same_size_keeps_pixels(w, h, seed) -> None:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (h, w, 4)).astype(np.uint8)
    out = resize_layer(pixels / 255.0, w, h)
    visible = pixels[..., 3] > 0
    np.testing.assert_array_equal(out[..., 3], pixels[..., 3])
    assert np.abs(out[visible].astype(int) - pixels[visible]).max() <= 1
    assert not out[~visible][:, :3].any()  # fully transparent pixels carry no colour


@pytest.mark.parametrize("scale", [0.4, 1.7, 3.0])
def test_hidden_colour_does_not_fringe_edges(scale: float) -> None:
    # left: opaque red; right: transparent, but with green garbage under alpha 0 (models do this)
    layer = np.zeros((32, 64, 4), np.float32)
    layer[:, :32] = [1, 0, 0, 1]
    layer[:, 32:] = [0, 1, 0, 0]
    out = resize_layer(layer, int(64 * scale), int(32 * scale))
    visible = out[..., 3] > 0
    assert visible.any() and (~visible).any()
    assert out[visible][:, 1].max() <= 1  # no green anywhere a pixel shows
    assert out[visible][:, 0].min() >= 254
    assert not out[~visible][:, :3].any()


def test_nan_free_and_clipped_on_overshoot() -> None:
    # a hard 0/1 checkerboard makes Lanczos ring past [0, 1]; the result must stay valid
    layer = np.zeros((16, 16, 4), np.float32)
    layer[::2, ::2] = 1
    layer[1::2, 1::2] = 1
    out = resize_layer(layer, 50, 50)
    assert out.dtype == np.uint8


# The real model in bf16 (safetensors sizes): 40.9 GB transformer, 57.7 GB in all.
REAL_MODEL, REAL_TRANSFORMER = 57_700_000_000, 40_900_000_000


def tokens_at(resolution: int, layers: int = 4) -> int:
    return image_tokens(layers, resolution, resolution)


@pytest.mark.parametrize(
    ("free_gib", "resolution", "layers", "mode"),
    [
        (139, 1024, 4, "none"),  # H200
        (79, 1024, 4, "none"),  # H100 80 GB: measured peak 70.4 GiB
        (79, 1024, 12, "model"),  # 13 frames of 4096 tokens do not fit beside the weights
        (60, 640, 4, "model"),  # 53.7 GiB of weights + 6.6 GiB measured: too tight
        (46, 640, 4, "model"),
        (40, 1024, 4, "sequential"),  # the transformer alone is 38 GiB
        (20, 640, 4, "sequential"),
    ],
)
def test_auto_memory_plan_follows_free_memory_and_run_size(
    free_gib: int, resolution: int, layers: int, mode: str
) -> None:
    tokens = tokens_at(resolution, layers)
    plan = plan_memory("auto", "cuda", REAL_MODEL, REAL_TRANSFORMER, tokens, free=free_gib * GIB)
    assert plan.offload == mode
    assert f"{free_gib:.1f} GiB" in plan.reason


def smallest_free_for(tokens: int, modes: set[str]) -> int:
    """The least free GPU memory (to 1 MiB) for which `auto` picks one of `modes`."""
    low, high = 0, 200 * GIB
    while high - low > 2**20:
        mid = (low + high) // 2
        plan = plan_memory("auto", "cuda", REAL_MODEL, REAL_TRANSFORMER, tokens, free=mid)
        low, high = (low, mid) if plan.offload in modes else (mid, high)
    return high


@pytest.mark.parametrize(
    ("resolution", "modes", "measured_peak_gib"),
    # bench_qwen.py on an H200, 4 layers, full-size random weights (notes/qwen.md)
    [
        (640, {"none"}, 60.29),
        (1024, {"none"}, 70.38),
        (640, {"none", "model"}, 39.2),
        (1024, {"none", "model"}, 40.5),
    ],
)
def test_memory_estimate_covers_the_measured_peaks(
    resolution: int, modes: set[str], measured_peak_gib: float
) -> None:
    """A mode is chosen only where its measured peak fits, and not with far more to spare."""
    needed = smallest_free_for(tokens_at(resolution), modes) / GIB
    assert measured_peak_gib <= needed <= measured_peak_gib + 5


def test_sequential_plan_warns_when_even_the_run_may_not_fit() -> None:
    plan = plan_memory("auto", "cuda", REAL_MODEL, REAL_TRANSFORMER, tokens_at(1024, 20), 24 * GIB)
    assert plan.offload == "sequential"
    assert "lower the resolution or the layer count" in plan.reason
    roomy = plan_memory("auto", "cuda", REAL_MODEL, REAL_TRANSFORMER, tokens_at(640, 2), 24 * GIB)
    assert "lower the resolution" not in roomy.reason


def test_memory_plan_respects_explicit_choice_and_rejects_nonsense() -> None:
    assert plan_memory("sequential", "cuda", GIB, GIB, 1, free=100 * GIB).offload == "sequential"
    assert plan_memory("model", "cpu", GIB, GIB, 1).offload == "none"
    with pytest.raises(DecomposeError, match="unknown offload"):
        plan_memory("most", "cuda", GIB, GIB, 1, free=GIB)


def test_device_choice() -> None:
    device, warnings = pick_device("cpu")
    assert device == "cpu" and any("CPU" in w for w in warnings)
    with pytest.raises(DecomposeError, match="unknown device"):
        pick_device("tpu")
    if gpu_kind() is None:
        assert pick_device("auto")[0] == "cpu"
        with pytest.raises(DecomposeError, match="no MPS GPU"):
            pick_device("mps")


def _write_safetensors(path: Path, length: int) -> None:
    tensor = {"dtype": "F32", "shape": [length // 4], "data_offsets": [0, length]}
    header = json.dumps({"w": tensor})
    path.write_bytes(struct.pack("<Q", len(header)) + header.encode() + bytes(length))


def test_safetensors_check(tmp_path: Path) -> None:
    good = tmp_path / "good.safetensors"
    _write_safetensors(good, 400)
    assert safetensors_problem(good) == (None, {"w"})
    short = tmp_path / "short.safetensors"
    short.write_bytes(good.read_bytes()[:-7])
    assert safetensors_problem(short)[0] == "is truncated (7 bytes short)"
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    assert "truncated" in safetensors_problem(empty)[0]
    huge = tmp_path / "huge.safetensors"
    huge.write_bytes(struct.pack("<Q", 2**40) + b"{}")
    assert "bad header length" in safetensors_problem(huge)[0]


def test_version_parsing() -> None:
    assert _version_tuple("0.42.1") == (0, 42, 1)
    assert _version_tuple("0.37.0.dev0") == (0, 37, 0)
    assert _version_tuple("0.36.0") < (0, 37)


@pytest.mark.skipif(gpu_kind() is not None, reason="this machine has a GPU")
def test_auto_picks_classic_here_and_says_why() -> None:
    from model.registry import choose_backend

    backend, why = choose_backend("auto", DecomposeOptions())
    assert backend.name == "classic"
    assert why.startswith("classic, because qwen cannot run here:")
    assert "GPU" in why


@pytest.mark.slow
def test_full_size_random_components_match_the_real_model() -> None:
    """The benchmark's random full-size pipeline has the published sizes (built on `meta`)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("diffusers")
    from model.qwen.tiny import build_components

    parts = build_components(full_size=True, device="meta", dtype=torch.bfloat16)

    def billions(module) -> float:
        return sum(p.numel() for p in module.parameters()) / 1e9

    assert 20.3 < billions(parts["transformer"]) < 20.5  # "20B MMDiT", 40.9 GB in bf16
    assert 8.2 < billions(parts["text_encoder"]) < 8.4  # Qwen2.5-VL-7B-Instruct
    assert parts["vae"].config.input_channels == 4 and parts["vae"].config.z_dim == 16
    assert parts["transformer"].config.in_channels == 64  # 16-channel latents, 2x2 patches
    assert next(parts["transformer"].parameters()).dtype == torch.bfloat16


def test_download_progress_reports_bytes_and_cancels() -> None:
    pytest.importorskip("huggingface_hub")
    from model.base import Cancelled, CancelToken
    from model.qwen.download import _BYTES_BAR, _progress_bar_class

    seen = []
    token = CancelToken()
    bar_class = _progress_bar_class(seen.append, token, show=False)
    bar = bar_class(total=1000, name=_BYTES_BAR, unit="B")
    bar.update(300)
    bar.update(200)
    assert [(p.phase, p.step, p.total) for p in seen] == [
        ("downloading", 300, 1000), ("downloading", 500, 1000)
    ]
    other = bar_class(total=3, name="some other bar")
    other.update(1)
    assert len(seen) == 2  # only the bytes-on-disk bar is forwarded
    token.cancel()
    with pytest.raises(Cancelled):
        bar.update(100)
    assert seen[-1].step == 500


def test_download_refuses_when_the_disk_is_too_small(tmp_path: Path) -> None:
    from model.qwen.download import DownloadError, check_disk

    check_disk(1000, tmp_path / "not" / "yet" / "there")  # checks the nearest existing parent
    with pytest.raises(DownloadError, match="--to DIR"):
        check_disk(10**18, tmp_path)
