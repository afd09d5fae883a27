"""The Decompose dialog: backend (with whether and why it can run here) and its options,
remembered between runs in QSettings."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.ui.tasks import run_in_background
from model.base import Availability, DecomposeOptions
from model.qwen.plan import human_seconds
from model.registry import backend_names, get_backend

MEMORY_MODES = (
    ("auto", "Automatic (fit the GPU)"),
    ("none", "Everything on the GPU (fastest, most memory)"),
    ("model", "Offload whole models to RAM"),
    ("group", "Stream the transformer from RAM (16-48 GB GPUs)"),
    ("sequential", "Offload layer by layer (slowest, least memory)"),
)


QUALITIES = (
    ("exact", "Exact (the paper's call)"),
    ("fast", "Fast (step caching)"),
    ("draft", "Draft (20 steps, for previews)"),
)


DEVICES = (
    ("auto", "Automatic"),
    ("cuda", "NVIDIA GPU (CUDA)"),
    ("mps", "Apple GPU (MPS)"),
    ("cpu", "CPU (very slow for qwen)"),
)


def check_backends(options: DecomposeOptions | None = None) -> dict[str, Availability]:
    """Availability of every backend; may import heavy libraries, so run it off the GUI."""
    out: dict[str, Availability] = {}
    for name in backend_names():
        try:
            out[name] = get_backend(name).availability(options or DecomposeOptions())
        except Exception as exc:  # noqa: BLE001 - a broken backend is simply unavailable
            out[name] = Availability(False, str(exc) or type(exc).__name__)
    return out


def qwen_plans(options: DecomposeOptions) -> dict:
    """The qwen backend's plan per quality preset here (placement and expected seconds)."""
    try:
        plans = getattr(get_backend("qwen"), "plans", None)
        return plans(options) if plans is not None else {}
    except Exception:  # noqa: BLE001 - a plan is a hint; no plan is fine
        return {}


class DecomposeDialog(QDialog):
    def __init__(self, target: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Decompose")
        self.setMinimumWidth(460)
        self.availability: dict[str, Availability] = {}
        self.settings = QSettings()

        intro = QLabel(f"Split {target} into layers.")
        intro.setWordWrap(True)
        self.backend = QComboBox()
        self.backend.addItem("Automatic (best available)", "auto")
        for name in backend_names():
            self.backend.addItem(name, name)
        self.backend.setToolTip("Which decomposer to run")
        self.reason = QLabel("Checking which backends can run here...")
        self.reason.setObjectName("hint")
        self.reason.setWordWrap(True)
        self.layers = QSpinBox()
        self.layers.setRange(0, 20)
        self.layers.setSpecialValueText("Auto")
        self.layers.setToolTip("How many layers to produce; Auto lets the decomposer decide")
        self.seed = QSpinBox()
        self.seed.setRange(-1, 2**31 - 1)
        self.seed.setSpecialValueText("Random")
        self.seed.setToolTip("The same seed gives the same result")

        general = QFormLayout()
        general.addRow("Backend", self.backend)
        general.addRow("", self.reason)
        general.addRow("Layers", self.layers)
        general.addRow("Seed", self.seed)

        self.resolution = QComboBox()
        for r in (640, 1024):
            self.resolution.addItem(f"{r} px", r)
        self.resolution.setToolTip("The model's working size; 1024 is sharper and slower")
        self.steps = QSpinBox()
        self.steps.setRange(1, 200)
        self.steps.setToolTip("Denoising steps; the paper uses 50")
        self.prompt = QLineEdit()
        self.prompt.setPlaceholderText("Empty: the model captions the image itself")
        self.prompt.setToolTip("A description of the picture, to guide the model")
        self.memory = QComboBox()
        for key, label in MEMORY_MODES:
            self.memory.addItem(label, key)
        self.memory.setToolTip("How to fit the model into GPU memory")
        self.model = QLineEdit()
        self.model.setPlaceholderText("Qwen/Qwen-Image-Layered (downloaded weights)")
        self.model.setToolTip("A Hugging Face model id (from the local cache) or a folder")
        self.device = QComboBox()
        for key, label in DEVICES:
            self.device.addItem(label, key)
        self.device.setToolTip("Where the model runs")
        self.quality = QComboBox()
        for key, label in QUALITIES:
            self.quality.addItem(label, key)
        self.quality.setToolTip("Exact gives the paper's result; Fast and Draft trade a little "
                                "of it for time (the expected time on this machine is shown)")
        self.plan = QLabel("")
        self.plan.setObjectName("hint")
        self.plan.setWordWrap(True)
        self.names = QCheckBox("Name the layers with the model")
        self.names.setToolTip("Ask the model for a short name per layer (\"Cat\", \"Title\")")
        self.plans: dict = {}
        self.refine = QCheckBox("Refine to full resolution")
        self.refine.setToolTip(
            "Bring the model's layers (made at 640 or 1024 px) to the picture's size, with "
            "edges from the picture and colours solved so that together they reproduce it "
            "exactly"
        )
        model_form = QFormLayout()
        model_form.addRow("Resolution", self.resolution)
        model_form.addRow("Steps", self.steps)
        model_form.addRow("Prompt", self.prompt)
        model_form.addRow("Weights", self.model)
        model_form.addRow("Device", self.device)
        model_form.addRow("Memory", self.memory)
        model_form.addRow("Quality", self.quality)
        model_form.addRow("", self.plan)
        model_form.addRow("", self.names)
        model_form.addRow("", self.refine)
        self.model_box = QGroupBox("Model options (qwen)")
        self.model_box.setLayout(model_form)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Decompose")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(general)
        layout.addWidget(self.model_box)
        layout.addWidget(self.buttons)

        self._load_settings()
        self.backend.currentIndexChanged.connect(self._update_state)
        self.device.currentIndexChanged.connect(self._recheck)
        self.model.editingFinished.connect(self._recheck)
        self.quality.currentIndexChanged.connect(self._show_plan)
        for combo in (self.resolution, self.memory):
            combo.currentIndexChanged.connect(self._replan)
        for spin in (self.layers, self.steps):
            spin.valueChanged.connect(self._replan)
        self._update_state()
        self._recheck()

    def _recheck(self) -> None:
        """Ask the backends again (whether qwen can run depends on the device)."""
        self.availability = {}
        self.reason.setText("Checking which backends can run here...")
        self._update_state()
        options = self.options()
        self._check = run_in_background(
            lambda: check_backends(options), "check the decomposers", self._checked,
            self._check_failed,
        )
        self._replan()

    def _replan(self) -> None:
        """Plan again (in the background: it may import torch) for the current options."""
        options = self.options()
        self._plan_task = run_in_background(
            lambda: qwen_plans(options), "plan the qwen run", self._planned, lambda _m: None
        )

    def _planned(self, plans: dict) -> None:
        if self.sender() is not self._plan_task:
            return  # an older plan, for other options
        self.plans = plans
        for i, (key, label) in enumerate(QUALITIES):
            plan = plans.get(key)
            seconds = getattr(plan, "expected_s", None)
            text = label if seconds is None else f"{label}, ~{human_seconds(seconds)}"
            self.quality.setItemText(i, text)
        self._show_plan()

    def _show_plan(self) -> None:
        plan = self.plans.get(str(self.quality.currentData()))
        self.plan.setText("" if plan is None else f"Plan: {plan.summary()}")
        self.plan.setToolTip("" if plan is None else plan.reason)

    # -- availability

    def _checked(self, availability: dict[str, Availability]) -> None:
        if self.sender() is not self._check:
            return  # an older check, for another device
        self.availability = availability
        for i in range(self.backend.count()):
            name = self.backend.itemData(i)
            if name in availability:
                mark = "" if availability[name].ok else " (unavailable)"
                self.backend.setItemText(i, f"{name}{mark}")
        self._update_state()

    def _check_failed(self, message: str) -> None:
        self.reason.setText(message)

    def is_ready(self) -> bool:
        """Whether the backend check has finished."""
        return bool(self.availability)

    def _update_state(self) -> None:
        name = self.backend.currentData()
        ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.model_box.setEnabled(name in ("auto", "qwen"))
        if not self.availability:
            ok_button.setEnabled(name != "qwen")
            return
        if name == "auto":
            qwen = self.availability.get("qwen")
            if qwen is not None and qwen.ok:
                text = f"qwen will run: {qwen.reason}"
            else:
                why = qwen.reason if qwen is not None else "it is not installed"
                text = f"classic will run, because qwen cannot: {why}"
            ok_button.setEnabled(True)
        else:
            state = self.availability.get(name, Availability(False, "unknown backend"))
            text = state.reason
            ok_button.setEnabled(state.ok)
        self.reason.setText(text)

    # -- options

    def backend_name(self) -> str:
        return str(self.backend.currentData())

    def options(self) -> DecomposeOptions:
        return DecomposeOptions(
            layers=self.layers.value() or None,
            prompt=self.prompt.text().strip() or None,
            seed=None if self.seed.value() < 0 else self.seed.value(),
            resolution=int(self.resolution.currentData()),
            steps=self.steps.value(),
            offload=str(self.memory.currentData()),
            device=str(self.device.currentData()),
            model=self.model.text().strip() or None,
            quality=str(self.quality.currentData()),
            names=self.names.isChecked(),
            refine="auto" if self.refine.isChecked() else "off",
        )

    def _load_settings(self) -> None:
        s = self.settings
        self._select(self.backend, s.value("decompose/backend", "auto"))
        self.layers.setValue(int(s.value("decompose/layers", 0)))
        self.seed.setValue(int(s.value("decompose/seed", -1)))
        self._select(self.resolution, int(s.value("decompose/resolution", 640)))
        self.steps.setValue(int(s.value("decompose/steps", 50)))
        self.prompt.setText(str(s.value("decompose/prompt", "")))
        self._select(self.memory, s.value("decompose/memory", "auto"))
        self._select(self.device, s.value("decompose/device", "auto"))
        self.model.setText(str(s.value("decompose/model", "")))
        self._select(self.quality, s.value("decompose/quality", "exact"))
        self.names.setChecked(str(s.value("decompose/names", "true")).lower() == "true")
        self.refine.setChecked(str(s.value("decompose/refine", "auto")) != "off")

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("decompose/backend", self.backend_name())
        s.setValue("decompose/layers", self.layers.value())
        s.setValue("decompose/seed", self.seed.value())
        s.setValue("decompose/resolution", int(self.resolution.currentData()))
        s.setValue("decompose/steps", self.steps.value())
        s.setValue("decompose/prompt", self.prompt.text())
        s.setValue("decompose/memory", str(self.memory.currentData()))
        s.setValue("decompose/device", str(self.device.currentData()))
        s.setValue("decompose/model", self.model.text().strip())
        s.setValue("decompose/quality", str(self.quality.currentData()))
        s.setValue("decompose/names", "true" if self.names.isChecked() else "false")
        s.setValue("decompose/refine", "auto" if self.refine.isChecked() else "off")

    @staticmethod
    def _select(combo: QComboBox, data: object) -> None:
        index = combo.findData(data)
        if index >= 0:
            combo.setCurrentIndex(index)

    def accept(self) -> None:
        self.save_settings()
        super().accept()


