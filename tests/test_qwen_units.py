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
from model.qwen.device import gpu_kind, pick_device
from model.qwen.pipeline import _version_tuple
from model.qwen.plan import (
    REAL_SIZES,
    Machine,
    MemoryPlan,
    ModelSizes,
    RunShape,
    format_bytes,
    gpu_speed,
    parse_weights_dtype,
    plan_memory,
)
from model.qwen.presets import Preset, full_steps, preset
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


# The real model in bf16 (safetensors sizes): 40.9 GB transformer, 16.6 GB text encoder.
SIZES = REAL_SIZES


def run_at(resolution: int, layers: int = 4, **kw) -> RunShape:
    return RunShape.square(resolution, layers, **kw)


H200 = Machine("cuda", speed=1.0, host=256 * GIB)


def plan(free_gib: float, resolution: int, layers: int = 4, requested: str = "auto",
         weights: str = "auto", machine: Machine = H200, **kw) -> MemoryPlan:
    return plan_memory(requested, "cuda", SIZES, run_at(resolution, layers, **kw), weights,
                       free=int(free_gib * GIB), machine=machine)


@pytest.mark.parametrize(
    ("free_gib", "resolution", "layers", "mode"),
    [
        (139, 1024, 4, "none"),  # H200
        (79, 1024, 4, "none"),  # H100 80 GB: measured peak 70.4 GiB
        (79, 640, 4, "none"),
        (46, 640, 4, "model"),  # 48 GB: the transformer and its work fit, the model does not
        (22.5, 640, 4, "group"),  # 24 GB: streamed, not 12 minutes of sequential offload
        (14.5, 1024, 4, "group"),  # 16 GB
        (6.5, 1024, 20, "sequential"),  # nothing fits: the least memory, with a warning
    ],
)
def test_auto_plan_follows_free_memory_and_run_size(
    free_gib: float, resolution: int, layers: int, mode: str
) -> None:
    chosen = plan(free_gib, resolution, layers)
    assert chosen.offload == mode
    assert f"{free_gib:.1f} GiB" in chosen.reason


@pytest.mark.parametrize("gb", [8, 16, 24, 48, 80, 141])
@pytest.mark.parametrize("resolution", [640, 1024])
@pytest.mark.parametrize("quality", ["exact", "fast", "draft"])
def test_planner_grid(gb: int, resolution: int, quality: str) -> None:
    """Every card size, both buckets, 2-20 layers: the plan fits (or says it may not), exact
    keeps bf16, and more layers never make the projected run faster."""
    free = gb - 1.5  # the CUDA context and the desktop
    previous = 0.0
    for layers in range(2, 21):
        steps, cfg = (20, 2.5) if quality == "draft" else (50, 4.0)
        chosen = plan(free, resolution, layers, quality=quality, steps=steps, cfg=cfg)
        warned = "lower the resolution or the layer count" in chosen.reason
        assert chosen.gpu_bytes is not None
        assert warned or chosen.gpu_bytes <= free * GIB, (layers, chosen)
        if quality == "exact":
            assert (chosen.transformer_format, chosen.text_encoder_format) == ("bf16", "bf16")
        assert not chosen.batch_cfg or chosen.offload in ("group", "sequential")
        assert chosen.expected_s is not None and chosen.expected_s > 0
        assert chosen.expected_s >= previous * 0.94 - 1, (layers, chosen)
        previous = chosen.expected_s


@pytest.mark.parametrize("resolution", [640, 1024])
@pytest.mark.parametrize("layers", [2, 4, 12, 20])
def test_more_memory_is_never_slower(resolution: int, layers: int) -> None:
    times = [plan(gb - 1.5, resolution, layers).expected_s for gb in (8, 16, 24, 48, 80, 141)]
    for smaller, larger in zip(times, times[1:]):
        assert larger <= smaller * 1.06 + 1  # ties within 5% + 1 s go to the simpler placement


def test_issue_targets_as_projected() -> None:
    """The issue's targets for 640 px, 4 layers, 50 steps on an H200 capped to a card's memory,
    as the planner projects them to PCIe 4.0 (the measurement is bench_qwen.py's job)."""
    assert plan(139, 640).expected_s <= 50  # whole H200, exact (measured today: 45 s)
    assert plan(22.5, 640).expected_s <= 120  # 24 GB, bf16 streamed
    assert plan(22.5, 640, weights="fp8").expected_s <= 90  # 24 GB, fp8 weights
    assert plan(14.5, 640).expected_s <= 180  # 16 GB


@pytest.mark.parametrize(
    ("mode", "resolution", "measured_peak_gib"),
    # bench_qwen.py on an H200, 4 layers, full-size random weights (notes/qwen.md)
    [
        ("none", 640, 60.29), ("none", 1024, 70.38),
        ("model", 640, 39.2), ("model", 1024, 40.5),
        ("sequential", 640, 6.5), ("sequential", 1024, 16.6),
    ],
)
def test_memory_estimate_covers_the_measured_peaks(
    mode: str, resolution: int, measured_peak_gib: float
) -> None:
    """The estimate for a mode lies above its measured peak, and not far above."""
    chosen = plan(200, resolution, requested=mode)
    assert measured_peak_gib <= chosen.gpu_bytes / GIB <= measured_peak_gib + 5


def test_vae_slicing_is_chosen_only_when_decoding_all_layers_does_not_fit() -> None:
    assert not plan(139, 1024, 4).vae_slicing
    tight = plan(14.5, 1024, 12)
    assert tight.vae_slicing and tight.gpu_bytes <= 14.5 * GIB


def test_text_encoder_leaves_the_gpu_when_the_transformer_is_streamed() -> None:
    roomy = plan(22.5, 640, 2)
    assert roomy.offload == "group" and roomy.text_encoder in ("gpu", "swap")
    small = plan(14.5, 640, 4)
    assert small.offload == "group" and small.text_encoder == "stream" and not small.names


def test_fast_presets_may_store_fp8_when_it_saves_streaming() -> None:
    chosen = plan(46, 640, 4, quality="fast")
    assert chosen.transformer_format == "fp8" and chosen.offload == "none"
    assert plan(46, 640, 4).transformer_format == "bf16"


def test_little_host_ram_pins_on_the_fly() -> None:
    small_host = Machine("cuda", speed=1.0, host=48 * GIB)
    assert plan(22.5, 640, machine=small_host).low_cpu_mem_usage
    assert not plan(22.5, 640).low_cpu_mem_usage


def test_explicit_choices_and_nonsense() -> None:
    assert plan(100, 640, requested="sequential").offload == "sequential"
    assert plan(100, 640, requested="group").batch_cfg
    over = plan(10, 1024, 4, requested="none")
    assert over.offload == "none" and "may run out of memory" in over.reason
    cpu = plan_memory("model", "cpu", SIZES, run_at(640))
    assert cpu.offload == "none" and cpu.expected_s is None
    with pytest.raises(DecomposeError, match="unknown offload"):
        plan(10, 640, requested="most")
    with pytest.raises(DecomposeError, match="cannot hold int8"):
        plan(100, 640, requested="group", weights="int8")
    with pytest.raises(DecomposeError, match="need an NVIDIA GPU with CUDA") as info:
        plan_memory("auto", "cpu", SIZES, run_at(640), "nf4")
    assert "\n" not in str(info.value)
    with pytest.raises(DecomposeError, match="MPS"):
        plan_memory("auto", "mps", SIZES, run_at(640), "fp8")


def test_unified_memory_plan_on_apple_silicon() -> None:
    mac = Machine("mps", free=100 * GIB)
    chosen = plan_memory("auto", "mps", SIZES, run_at(640), machine=mac)
    assert chosen.offload == "none" and chosen.expected_s is None
    small = plan_memory("auto", "mps", SIZES, run_at(640), machine=Machine("mps", free=40 * GIB))
    assert small.offload == "model"
    with pytest.raises(DecomposeError, match="needs CUDA"):
        plan_memory("group", "mps", SIZES, run_at(640), machine=mac)


def test_weights_dtype_parsing() -> None:
    assert parse_weights_dtype("fp8") == ("fp8", "fp8")
    assert parse_weights_dtype(None) == ("auto", "auto")
    assert parse_weights_dtype("transformer=fp8, text-encoder=nf4") == ("fp8", "nf4")
    assert parse_weights_dtype("text_encoder=int8") == ("auto", "int8")
    for bad in ("fp9", "vae=fp8", "transformer=fp9"):
        with pytest.raises(DecomposeError):
            parse_weights_dtype(bad)


def test_format_sizes_and_gpu_speed() -> None:
    assert format_bytes("transformer", 100 * GIB, "fp8") < 51 * GIB
    assert format_bytes("text_encoder", 100 * GIB, "nf4") < 35 * GIB
    assert gpu_speed("NVIDIA H200") == 1.0
    assert gpu_speed("NVIDIA H100 PCIe") == 0.76
    assert gpu_speed("NVIDIA GeForce RTX 4090") < 0.2
    assert gpu_speed("Some Future GPU", 132, (9, 0)) == pytest.approx(1.0)
    assert gpu_speed("Unknown", 0, (7, 5)) is None


def test_single_file_formats_fix_the_transformer() -> None:
    run = run_at(640)
    gguf = plan_memory("auto", "cuda", ModelSizes(12 * GIB, SIZES.text_encoder), run,
                       free=22 * GIB, machine=H200, transformer_file_format="gguf")
    assert gguf.transformer_format == "gguf" and gguf.offload in ("none", "model")
    with pytest.raises(DecomposeError, match="GGUF"):
        plan_memory("auto", "cuda", SIZES, run, "fp8", free=GIB, machine=H200,
                    transformer_file_format="gguf")


def test_full_steps_follow_taylorseer_rule() -> None:
    assert full_steps(50) == 27 and full_steps(20) == 11
    assert full_steps(3) == 3  # too few steps to cache any
    assert preset("draft", 50, 4.0) == Preset("draft", 20, 2.5, cache=True)
    assert preset("draft", 8, 1.5).steps == 8 and preset("draft", 8, 1.5).cfg == 1.5
    assert preset("exact", 30, 3.0) == Preset("exact", 30, 3.0, cache=False)
    with pytest.raises(DecomposeError, match="unknown quality"):
        preset("best", 50, 4.0)


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


def test_cli_options_reach_decompose_options() -> None:
    from app.cli import build_parser
    from app.cli.decompose import options_from_args

    parser = build_parser()
    args = parser.parse_args(["decompose", "in.png", "-o", "out.psd", "--quality", "fast",
                              "--weights-dtype", "transformer=fp8,text_encoder=nf4",
                              "--offload", "group", "--no-names"])
    opts = options_from_args(args)
    assert (opts.quality, opts.weights_dtype, opts.offload, opts.names) == (
        "fast", "transformer=fp8,text_encoder=nf4", "group", False)
    defaults = options_from_args(parser.parse_args(["decompose", "in.png", "-o", "o.psd"]))
    assert (defaults.quality, defaults.weights_dtype, defaults.names) == ("exact", "auto", True)
    with pytest.raises(SystemExit):
        parser.parse_args(["decompose", "in.png", "-o", "o.psd", "--weights-dtype", "fp4"])


@pytest.mark.parametrize(
    ("answer", "name"),
    [
        ("Headline text", "Headline text"),
        ('"cat."', "Cat"),
        ("  Blue   sky\nbecause it is", "Blue sky"),
        ("Rock & roll", "Rock & roll"),
        ("猫", "猫"),
        ("a very long name of five words", None),
        ("x" * 21, None),
        ("", None),
        ("42", None),
        ("\x07\x1b[0m", None),
        ("ĠÃ¤Ã", None),
        ("<|im_end|>", None),
        ("cat!!?", None),
    ],
)
def test_name_sanitizer(answer: str, name: str | None) -> None:
    from model.qwen.names import sanitize

    assert sanitize(answer) == name


def test_names_fall_back_on_failure_and_stay_unique() -> None:
    from model.qwen.names import layer_names, unique

    frames = [np.zeros((8, 8, 4), np.float32) for _ in range(3)]
    names, why = layer_names(None, frames, "cpu")  # no model: naming fails
    assert names == ["Background", "Layer 1", "Layer 2"]
    assert why.startswith("layer names kept (naming failed")
    assert unique(["Text", "Cat", "text"]) == ["Text", "Cat", "text 2"]


def test_pinned_swap_round_trip_on_cpu() -> None:
    torch = pytest.importorskip("torch")
    from model.qwen.swap import PinnedSwap

    module = torch.nn.Linear(4, 4)
    before = module.weight.data.clone()
    swap = PinnedSwap(module, "cpu", pin=False)
    host = module.weight.data_ptr()
    swap.onload()
    assert swap.on_device and torch.equal(module.weight.data, before)
    swap.offload()
    assert module.weight.data_ptr() == host and not swap.on_device  # nothing copied back


def test_per_sample_attention_equals_masked_attention() -> None:
    """The batched-CFG attention (each sample over its own tokens, no mask) is the masked
    attention over the padded batch (float32, so rounding does not hide a difference)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("diffusers")
    from model.qwen.cfg import _TEXT, _per_sample

    def sdpa(q, k, v, attn_mask=None, **_kw):  # diffusers' layout: (batch, seq, heads, dim)
        out = torch.nn.functional.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=attn_mask)
        return out.transpose(1, 2)

    gen = torch.Generator().manual_seed(0)
    padded, image = 7, 11
    q, k, v = (torch.randn(2, padded + image, 2, 8, generator=gen) for _ in range(3))
    text = torch.tensor([[1] * 7, [1] * 4 + [0] * 3], dtype=torch.bool)
    mask = torch.cat([text, torch.ones(2, image, dtype=torch.bool)], dim=1)[:, None, None, :]
    expected = sdpa(q, k, v, attn_mask=mask)
    token = _TEXT.set(((7, 4), padded))
    try:
        got = _per_sample(sdpa)(q, k, v, attn_mask=mask)
    finally:
        _TEXT.reset(token)
    keep = torch.cat([text, torch.ones(2, image, dtype=torch.bool)], dim=1)
    assert torch.allclose(got[keep], expected[keep], atol=1e-6)
    assert torch.equal(_per_sample(sdpa)(q, k, v, attn_mask=mask), expected)  # disarmed
