"""The qwen backend through the editor, on a tiny randomly initialised pipeline (no weights,
CPU): the dialog's model options reach the backend, progress shows the pipeline's phases,
the caption it wrote is shown, and a cancel during denoising leaves the document."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox
from test_gui_support import (  # noqa: F401 - the *_fixture names are fixtures
    doc_composite,
    isolated_settings_fixture,
    window_fixture,
)

from app.core.document import Document
from app.core.layer import Layer
from model.base import DecomposeOptions
from model.evaluation.metrics import psnr

pytestmark = [pytest.mark.gui, pytest.mark.slow]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    pytest.importorskip("diffusers")
    from model.qwen.tiny import save_tiny_pipeline

    folder = tmp_path_factory.mktemp("tiny-qwen-gui") / "model"
    yield str(save_tiny_pipeline(folder, seed=0, max_shard_size="200KB"))
    from model.registry import get_backend

    get_backend("qwen").unload()  # the backend keeps its pipeline loaded between runs


@pytest.fixture(autouse=True)
def offline_and_one_thread(monkeypatch):
    import huggingface_hub.constants as hub
    import torch

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub, "HF_HUB_OFFLINE", True)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the tiny model only loses from threads on 2 shared cores
    yield
    torch.set_num_threads(threads)


def small_picture() -> np.ndarray:
    rng = np.random.default_rng(1)
    rgba = np.full((64, 96, 4), 255, np.uint8)
    rgba[:, :, :3] = rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)
    rgba[10:40, 20:70, :3] = (200, 30, 30)
    return rgba


def test_qwen_through_the_dialog_shows_progress_and_caption(qtbot, window, tiny_model):
    window.session.set_document(Document.from_image(small_picture()))
    phases: list[str] = []
    window.decomposer.ask()
    dialog = window.decomposer.dialog
    dialog.backend.setCurrentIndex(dialog.backend.findData("qwen"))
    dialog.layers.setValue(2)
    dialog.steps.setValue(2)
    dialog.seed.setValue(3)
    dialog.prompt.setText("")  # the pipeline captions the picture itself
    dialog.model.setText(tiny_model)
    dialog.device.setCurrentIndex(dialog.device.findData("cpu"))
    assert dialog.refine.isChecked() and dialog.options().refine == "auto"  # the default
    qtbot.waitUntil(lambda: dialog.is_ready() and dialog.availability["qwen"].ok, timeout=60_000)
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok),
                     Qt.MouseButton.LeftButton)
    window.decomposer.job.progress.connect(lambda p: phases.append(p.phase))
    qtbot.waitUntil(lambda: not window.decomposer.running, timeout=300_000)
    assert window.last_error is None
    doc = window.session.doc
    assert len(doc.layers) == 2
    result = window.decomposer.last_result
    assert result.backend == "qwen" and result.caption
    assert "Caption" in window.result_label.toolTip()
    assert {"captioning", "denoising", "refining"} <= set(phases)
    # refined against the picture: the layers reproduce it, and the status bar says so
    assert result.reconstruction_db >= 50
    assert psnr([layer.rgba for layer in result.layers], small_picture()) >= 50
    assert "exact" in window.result_label.text() or "dB" in window.result_label.text()
    assert "Reconstruction" in window.result_label.toolTip()
    window.act_undo.trigger()
    assert np.array_equal(doc_composite(window), small_picture())


def test_cancel_during_denoising(qtbot, window, tiny_model):
    window.session.set_document(Document.from_image(small_picture()))
    options = DecomposeOptions(layers=2, steps=40, model=tiny_model, device="cpu", seed=1,
                               prompt="a red box")
    window.decomposer.start("qwen", options)
    job = window.decomposer.job
    seen = []
    job.progress.connect(lambda p: seen.append(p))
    qtbot.waitUntil(lambda: any(p.phase == "denoising" and p.step >= 1 for p in seen),
                    timeout=300_000)
    window.decomposer.cancel()
    assert not window.decomposer.running
    job.thread.join(timeout=60)
    assert not job.thread.is_alive()
    assert max(p.step for p in seen if p.phase == "denoising") < 40
    assert len(window.session.doc.layers) == 1 and window.session.undo_stack.count() == 0


def test_decompose_further_refines_against_the_layer(qtbot, window, tiny_model):
    """A translucent layer decomposed again: the sub-layers are refined against that layer's
    own pixels (transparency included), so the document still looks the same."""
    picture = small_picture()
    overlay = np.zeros((40, 60, 4), np.uint8)
    overlay[:, :, :3] = (20, 90, 200)
    overlay[:, :, 3] = 140
    overlay[:10, :, 3] = 0
    doc = Document.from_image(picture)
    doc.layers.append(Layer(overlay, (18, 12)))
    window.session.set_document(doc)
    before = doc_composite(window)
    options = DecomposeOptions(layers=2, steps=2, model=tiny_model, device="cpu", seed=2,
                               prompt="a blue box")
    window.decomposer.start("qwen", options, doc.layers[1].id)
    qtbot.waitUntil(lambda: not window.decomposer.running, timeout=300_000)
    assert window.last_error is None
    assert len(window.session.doc.layers) == 3
    after = doc_composite(window)
    assert psnr([after], before) >= 50
    assert window.decomposer.last_result.reconstruction_db >= 50
