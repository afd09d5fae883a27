"""The qwen backend end to end on a tiny, randomly initialised QwenImageLayeredPipeline.

The pipeline is built from the real diffusers/transformers classes, saved with save_pretrained,
loaded through the backend's own loading code offline, and run through the real `__call__`.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("diffusers")

from model.base import Cancelled, CancelToken, DecomposeError, DecomposeOptions  # noqa: E402
from model.qwen import QwenDecomposer  # noqa: E402
from model.qwen.backend import bucket_size  # noqa: E402
from model.qwen.device import gpu_kind  # noqa: E402
from model.qwen.tiny import save_tiny_pipeline  # noqa: E402

WIDTH, HEIGHT = 96, 64  # non-square on purpose


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("tiny-qwen") / "model"
    return str(save_tiny_pipeline(folder, seed=0, max_shard_size="200KB"))


@pytest.fixture(scope="module")
def backend() -> QwenDecomposer:
    import torch

    # The tiny model is too small to gain from threads; on a shared 2-core machine the
    # spinning intra-op threads made the caption loop ~40x slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    decomposer = QwenDecomposer()
    yield decomposer
    decomposer.unload()
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants as hub

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub, "HF_HUB_OFFLINE", True)


def picture(alpha: bool = False) -> np.ndarray:
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    rgb[10:40, 20:70] = (200, 30, 30)
    if not alpha:
        return rgb
    a = np.full((HEIGHT, WIDTH, 1), 255, np.uint8)
    a[:, : WIDTH // 3] = 0
    a[:, WIDTH // 3 : WIDTH // 2] = 128
    return np.concatenate([rgb, a], axis=-1)


def options(model: str, **kw: object) -> DecomposeOptions:
    base = dict(layers=3, steps=3, model=model, device="cpu", seed=7, prompt="a red box")
    base.update(kw)
    return DecomposeOptions(**base)


def test_availability_on_cpu_when_asked(tiny_model: str, backend: QwenDecomposer) -> None:
    available = backend.availability(options(tiny_model))
    assert available.ok, available.reason
    assert tiny_model in available.reason


@pytest.mark.skipif(gpu_kind() is not None, reason="this machine has a GPU")
def test_availability_without_gpu_says_why(tiny_model: str, backend: QwenDecomposer) -> None:
    available = backend.availability(options(tiny_model, device="auto"))
    assert not available.ok
    assert "GPU" in available.reason and "--device cpu" in available.reason


def test_cancel_at_step_one_stops_before_step_two(
    tiny_model: str, backend: QwenDecomposer
) -> None:
    token = CancelToken()
    seen = []

    def progress(p):
        seen.append((p.phase, p.step))
        if p.phase == "denoising" and p.step == 1:
            token.cancel()

    with pytest.raises(Cancelled):
        backend.decompose(picture(), options(tiny_model, steps=4), progress, token)
    steps = [step for phase, step in seen if phase == "denoising"]
    assert steps == [0, 1]
    assert ("decoding", 0) not in seen


def test_prompted_run_gives_layers_at_input_size(tiny_model: str, backend: QwenDecomposer) -> None:
    seen = []
    result = backend.decompose(picture(), options(tiny_model), seen.append)

    assert len(result.layers) == 3
    for layer in result.layers:
        assert layer.rgba.shape == (HEIGHT, WIDTH, 4)
        assert layer.rgba.dtype == np.uint8
    # the random model still produces different planes per layer, not one copied frame
    assert not np.array_equal(result.layers[0].rgba, result.layers[1].rgba)
    assert result.layers[0].name == "Background"
    assert result.backend == "qwen" and result.device == "cpu"
    assert result.caption == "a red box"
    assert any("CPU" in w for w in result.warnings)

    phases = [p.phase for p in seen]
    assert "captioning" not in phases
    assert phases.index("loading") < phases.index("denoising") < phases.index("decoding")
    steps = [(p.step, p.total) for p in seen if p.phase == "denoising"]
    assert steps == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert {"load", "denoise", "decode", "refine", "total"} <= set(result.timings)
    assert "refining" in phases


def test_refined_layers_reproduce_the_picture(tiny_model: str, backend: QwenDecomposer) -> None:
    """The 96x64 picture is decomposed at the 640 bucket (768x512): refined (the default),
    the layers come back at 96x64 and reproduce it; with --refine off, as before: resized
    only, as far from it as the (random) model is."""
    from model.evaluation.metrics import psnr
    from model.qwen.resample import resize_layer

    refined = backend.decompose(picture(), options(tiny_model, layers=2, steps=2))
    plain = backend.decompose(picture(), options(tiny_model, layers=2, steps=2, refine="off"))

    rgba = np.dstack([picture(), np.full((HEIGHT, WIDTH), 255, np.uint8)])
    assert psnr([x.rgba for x in refined.layers], rgba) >= 50
    assert refined.reconstruction_db >= 50
    assert "refine" in refined.timings and "resize" not in refined.timings
    assert all(x.rgba.shape == (HEIGHT, WIDTH, 4) for x in plain.layers)
    assert "resize" in plain.timings and "refine" not in plain.timings
    assert plain.reconstruction_db == pytest.approx(psnr([x.rgba for x in plain.layers], rgba))
    assert plain.reconstruction_db < 30
    # off is exactly the plain resize of the same frames (same seed, same model)
    frames = backend.cache._pipe(
        image=__import__("PIL.Image").Image.fromarray(rgba, "RGBA"), prompt="a red box",
        negative_prompt=" ", true_cfg_scale=4.0, layers=2, num_inference_steps=2,
        generator=__import__("torch").Generator("cpu").manual_seed(7), output_type="np",
        resolution=640, cfg_normalize=True, use_en_prompt=True,
    ).images[0]
    for frame, layer in zip(frames, plain.layers):
        np.testing.assert_array_equal(resize_layer(frame, WIDTH, HEIGHT), layer.rgba)


def test_refinement_matches_a_transparent_input(tiny_model: str, backend: QwenDecomposer) -> None:
    """Decompose further hands the backend a layer's pixels, transparency and all."""
    from model.evaluation.metrics import psnr

    result = backend.decompose(picture(alpha=True), options(tiny_model, layers=2, steps=2))
    assert psnr([x.rgba for x in result.layers], picture(alpha=True)) >= 50


def test_pipeline_stays_loaded_and_seed_is_reproducible(
    tiny_model: str, backend: QwenDecomposer
) -> None:
    first = backend.decompose(picture(), options(tiny_model, layers=2, steps=2))
    key = backend.cache.key
    # a cancelled run in between leaves nothing behind: no hooks, same result afterwards
    token = CancelToken()

    def cancel_at_first_step(p) -> None:
        if p.phase == "denoising" and p.step == 1:
            token.cancel()

    with pytest.raises(Cancelled):
        backend.decompose(picture(), options(tiny_model, layers=2, steps=2),
                          cancel_at_first_step, token)
    pipe = backend.cache._pipe
    assert not pipe.transformer._forward_pre_hooks and not pipe.text_encoder._forward_pre_hooks
    second = backend.decompose(picture(), options(tiny_model, layers=2, steps=2))
    assert backend.cache.key == key
    assert second.timings["load"] == 0.0
    for a, b in zip(first.layers, second.layers):
        np.testing.assert_array_equal(a.rgba, b.rgba)


def test_no_prompt_captions_and_returns_caption(tiny_model: str, backend: QwenDecomposer) -> None:
    seen = []
    result = backend.decompose(
        picture(alpha=True), options(tiny_model, layers=2, steps=2, prompt=None), seen.append
    )
    assert isinstance(result.caption, str) and result.caption.strip()
    assert "caption" in result.timings
    phases = [p.phase for p in seen]
    assert phases.index("captioning") < phases.index("denoising")
    assert sum(1 for p in seen if p.phase == "captioning" and p.step > 0) >= 1
    assert len(result.layers) == 2
    assert all(layer.rgba.shape == (HEIGHT, WIDTH, 4) for layer in result.layers)


def test_unload_frees_the_pipeline(tiny_model: str, backend: QwenDecomposer) -> None:
    backend.decompose(picture(), options(tiny_model, layers=2, steps=2))
    assert backend.cache.key is not None
    assert backend.unload() is True
    assert backend.cache.key is None
    assert backend.unload() is False


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"layers": 1}, "2 to 20 layers"),
        ({"layers": 21}, "2 to 20 layers"),
        ({"resolution": 800}, "640 or 1024"),
        ({"steps": 1}, "at least 2"),
        ({"offload": "half"}, "offload"),
        ({"refine": "maybe"}, "--refine"),
    ],
)
def test_bad_options_fail_with_one_sentence(
    tiny_model: str, backend: QwenDecomposer, kw: dict, words: str
) -> None:
    with pytest.raises(DecomposeError, match=words) as info:
        backend.decompose(picture(), options(tiny_model, **kw))
    assert "\n" not in str(info.value)


def test_bad_images_fail_with_one_sentence(tiny_model: str, backend: QwenDecomposer) -> None:
    with pytest.raises(DecomposeError, match="at least 2x2"):
        backend.decompose(np.zeros((1, 1, 3), np.uint8), options(tiny_model))
    with pytest.raises(DecomposeError, match="8-bit"):
        backend.decompose(np.zeros((8, 8, 3), np.uint16), options(tiny_model))


def test_extreme_aspect_fails_with_one_sentence(tiny_model: str, backend) -> None:
    with pytest.raises(DecomposeError, match="too elongated"):
        backend.decompose(np.zeros((2, 12000, 3), np.uint8), options(tiny_model))


def test_missing_weights_say_how_to_get_them(tmp_path, backend: QwenDecomposer) -> None:
    with pytest.raises(DecomposeError, match="models download"):
        backend.decompose(picture(), options(str(tmp_path / "nowhere")))
    with pytest.raises(DecomposeError, match="models download"):
        backend.decompose(picture(), options("nobody/no-such-model"))


@pytest.mark.skipif(gpu_kind() == "cuda", reason="this machine has CUDA")
def test_asking_for_absent_cuda_is_a_clear_error(tiny_model: str, backend: QwenDecomposer) -> None:
    with pytest.raises(DecomposeError, match="no CUDA GPU"):
        backend.decompose(picture(), options(tiny_model, device="cuda"))


def test_bucket_matches_the_pipeline_rule() -> None:
    # 96x64 (3:2) at the 640 bucket: about 640*640 pixels, sides multiples of 32
    w, h = bucket_size(WIDTH, HEIGHT, 640)
    assert (w % 32, h % 32) == (0, 0)
    assert abs(w / h - 1.5) < 0.05
    assert 0.9 < w * h / 640**2 < 1.1


# -- speed and memory modes on the CPU (issue 13): the pipeline's layers, unrefined ------------
def unrefined(model: str, **kw: object) -> DecomposeOptions:
    return options(model, names=False, refine="off", **kw)


def layers_of(result) -> np.ndarray:
    return np.stack([layer.rgba for layer in result.layers]).astype(int)


def official_layers(backend: QwenDecomposer, opts: DecomposeOptions) -> np.ndarray:
    """The paper's call straight through diffusers on the loaded pipeline, resized as ours."""
    import torch
    from PIL import Image

    from model.qwen.resample import resize_layer

    pipe = backend.cache._pipe
    output = pipe(
        image=Image.fromarray(np.concatenate(
            [picture(), np.full((HEIGHT, WIDTH, 1), 255, np.uint8)], axis=-1), "RGBA"),
        prompt=opts.prompt, negative_prompt=" ", true_cfg_scale=opts.cfg, layers=opts.layers,
        num_inference_steps=opts.steps, generator=torch.Generator("cpu").manual_seed(opts.seed),
        output_type="np", resolution=opts.resolution, cfg_normalize=True, use_en_prompt=True,
    )
    return np.stack([resize_layer(f, WIDTH, HEIGHT) for f in output.images[0]]).astype(int)


def test_exact_changes_give_the_official_layers(tiny_model: str, backend: QwenDecomposer) -> None:
    """Prompts encoded by us, batched CFG and group offloading (the exact-mode changes) give
    the official call's layers within bf16 noise (2/255)."""
    opts = unrefined(tiny_model)
    exact = backend.decompose(picture(), opts)
    official = official_layers(backend, opts)
    assert np.abs(layers_of(exact) - official).max() <= 2
    streamed = backend.decompose(picture(), unrefined(tiny_model, offload="group"))
    hook = backend.cache._pipe.strata.cfg_hook
    assert hook.batched_calls >= 3 and hook.reused_calls == hook.batched_calls  # 3 steps
    assert np.abs(layers_of(streamed) - official).max() <= 2
    assert any("group" in w for w in streamed.warnings)


def test_fp8_weights_streamed_by_group_offload(tiny_model: str, backend: QwenDecomposer) -> None:
    from model.qwen.formats import stored_format

    opts = unrefined(tiny_model)
    exact = backend.decompose(picture(), opts)
    fp8 = backend.decompose(picture(), unrefined(tiny_model, offload="group",
                                                weights_dtype="transformer=fp8"))
    pipe = backend.cache._pipe
    assert stored_format(pipe.transformer) == "fp8"
    assert stored_format(pipe.text_encoder) == "bf16"
    diff = np.abs(layers_of(fp8) - layers_of(exact))
    assert diff.mean() < 2  # fp8 storage is lossy, but close (notes/qwen.md has the figures)


def test_int8_transformer_fp8_text_encoder_and_names(
    tiny_model: str, backend: QwenDecomposer
) -> None:
    pytest.importorskip("torchao")
    import torch

    from model.qwen import names as naming
    from model.qwen.formats import stored_format

    seen = []
    result = backend.decompose(
        picture(), options(tiny_model, weights_dtype="transformer=int8,text_encoder=fp8"),
        seen.append,
    )
    pipe = backend.cache._pipe
    assert stored_format(pipe.transformer) == "int8"
    assert stored_format(pipe.text_encoder) == "fp8"
    assert pipe.text_encoder.dtype == torch.bfloat16  # the pipeline casts inputs to it
    phases = [p.phase for p in seen]
    assert phases.index("decoding") < phases.index("naming")
    assert "names" in result.timings
    # The random model answers gibberish: each name is a sanitized answer or today's name.
    for i, layer in enumerate(result.layers):
        assert layer.name == naming.fallback_name(i) or naming.sanitize(layer.name) == layer.name
    if any("names kept" in w for w in result.warnings):
        assert any(layer.name == naming.fallback_name(i) for i, layer in enumerate(result.layers))


def test_fast_caches_steps_and_cancels_cleanly(tiny_model: str, backend: QwenDecomposer) -> None:
    """fast: TaylorSeer skips the transformer on predicted steps (counted inside a block), the
    progress still reports every step, a hard cancel leaves no cache behind."""
    from model.qwen.presets import full_steps

    steps = 6
    exact = backend.decompose(picture(), unrefined(tiny_model, steps=steps))
    pipe = backend.cache._pipe
    calls = []
    handle = pipe.transformer.transformer_blocks[0].attn.to_q.register_forward_pre_hook(
        lambda *_: calls.append(1))
    seen = []
    try:
        fast = backend.decompose(picture(), unrefined(tiny_model, steps=steps,
                                                     quality="fast"), seen.append)
    finally:
        handle.remove()
    assert len(calls) == 2 * full_steps(steps) < 2 * steps  # two CFG passes per full step
    assert [p.step for p in seen if p.phase == "denoising"] == list(range(steps + 1))
    diff = np.abs(layers_of(fast) - layers_of(exact))
    assert 0 < diff.mean() < 10
    token = CancelToken()

    def cancel_at_two(p) -> None:
        if p.phase == "denoising" and p.step == 2:
            token.cancel()

    with pytest.raises(Cancelled):
        backend.decompose(picture(), unrefined(tiny_model, steps=steps,
                                             quality="fast"), cancel_at_two, token)
    assert not pipe.transformer.is_cache_enabled
    again = backend.decompose(picture(), unrefined(tiny_model, steps=steps))
    np.testing.assert_array_equal(layers_of(again), layers_of(exact))


def test_draft_runs_twenty_steps(tiny_model: str, backend: QwenDecomposer) -> None:
    seen = []
    result = backend.decompose(picture(), unrefined(tiny_model, steps=50,
                                                  quality="draft", layers=2), seen.append)
    assert [p.total for p in seen if p.phase == "denoising"][-1] == 20
    assert len(result.layers) == 2


def test_group_offload_caption_path(tiny_model: str, backend: QwenDecomposer) -> None:
    result = backend.decompose(picture(), options(tiny_model, layers=2, steps=2, prompt=None,
                                                  offload="group", names=False))
    assert result.caption and "caption" in result.timings


def test_cuda_only_formats_fail_on_cpu_in_one_sentence(
    tiny_model: str, backend: QwenDecomposer
) -> None:
    with pytest.raises(DecomposeError, match="nf4 weights") as info:
        backend.decompose(picture(), options(tiny_model, weights_dtype="nf4"))
    assert "\n" not in str(info.value)
    with pytest.raises(DecomposeError, match="cannot hold int8"):
        backend.decompose(picture(), options(tiny_model, weights_dtype="int8", offload="group"))
    with pytest.raises(DecomposeError, match="unknown quality"):
        backend.decompose(picture(), options(tiny_model, quality="best"))


def test_plans_for_the_dialog(tiny_model: str, backend: QwenDecomposer) -> None:
    plans = backend.plans(options(tiny_model))
    assert list(plans) == ["exact", "fast", "draft"]
    assert all(p.expected_s is None for p in plans.values())  # no estimate on the CPU


def test_single_file_transformers(tiny_model: str, backend: QwenDecomposer, tmp_path) -> None:
    """A single-file transformer inside the weights folder: safetensors with ComfyUI's prefix
    gives the folder's layers exactly; a GGUF Q8_0 build runs and stays close."""
    import shutil

    import torch
    from safetensors.torch import save_file

    from model.qwen.formats import stored_format

    folder = tmp_path / "model"
    shutil.copytree(tiny_model, folder)
    reference = backend.decompose(picture(), options(str(folder), names=False))
    transformer = backend.cache._pipe.transformer
    weights = {k: v.contiguous() for k, v in transformer.state_dict().items()}
    # Converters quantize the Linear weights; diffusers dequantizes only those.
    linear = {f"{name}.weight" for name, module in transformer.named_modules()
              if isinstance(module, torch.nn.Linear)}
    file = folder / "layered.safetensors"
    save_file({f"model.diffusion_model.{k}": v for k, v in weights.items()}, str(file))
    for shard in (folder / "transformer").glob("*.safetensors*"):
        shard.unlink()  # only the config stays: the file replaces the shards
    single = backend.decompose(picture(), options(str(file), names=False))
    np.testing.assert_array_equal(layers_of(single), layers_of(reference))
    gguf = pytest.importorskip("gguf")
    writer = gguf.GGUFWriter(str(folder / "layered-Q8_0.gguf"), "qwen_image")
    for name, tensor in weights.items():
        array = tensor.to(torch.float32).numpy()
        if name in linear and array.shape[1] % 32 == 0:
            quantized = gguf.quants.quantize(array, gguf.GGMLQuantizationType.Q8_0)
            writer.add_tensor(name, quantized, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
        else:
            writer.add_tensor(name, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    quantized = backend.decompose(picture(), options(str(folder / "layered-Q8_0.gguf"),
                                                     names=False))
    assert stored_format(backend.cache._pipe.transformer) == "gguf"
    assert np.abs(layers_of(quantized) - layers_of(reference)).mean() < 2
