"""Train the layer prior (torch), resumably, and export it to ONNX for the app.

    python -m model.train.prior --steps 2000 --out ~/.cache/strata/prior
    python -m model.train.prior --export model/prior/weights --out ~/.cache/strata/prior

Training streams samples of the widened generator (`model.train.data`, config `train`, data
seed --seed) and saves `checkpoint.pt` (weights, optimiser, step) every --save-every steps and
on Ctrl-C or SIGTERM: run the same command again and it continues from there, drawing the
samples it has not seen yet (sample index = step x batch + k, so a resumed run sees exactly
what an uninterrupted one would). `log.jsonl` gets the mean training loss every --log-every
steps and the loss on a fixed batch of the held-out configuration every --eval-every steps.
`--export DIR` writes DIR/prior.onnx and DIR/manifest.json from the checkpoint.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import torch

from model.train import data
from model.train.net import RES, PriorNet, loss_fn, parameter_count

DEFAULT_OUT = Path("~/.cache/strata/prior")
CHECK_SEED = 7  # the held-out check batch: config `heldout`, this seed
OPSET = 17


def batch(source, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    pairs = [next(source) for _ in range(size)]
    return (
        torch.from_numpy(np.stack([p[0] for p in pairs])),
        torch.from_numpy(np.stack([p[1] for p in pairs])),
    )


def check_batch(count: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    return batch(data.stream(CHECK_SEED, 0, RES, "heldout"), count)


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def load(out: Path, width: int, lr: float) -> tuple[PriorNet, torch.optim.Optimizer, dict]:
    net = PriorNet(width)
    optimiser = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    state = {
        "step": 0,
        "seed": 0,
        "batch": 16,
        "width": width,
        "started": time.time(),
        "seconds": 0.0,
        "commands": [],
    }
    path = out / "checkpoint.pt"
    if path.exists():
        saved = torch.load(path, map_location="cpu", weights_only=False)
        net.load_state_dict(saved["net"])
        optimiser.load_state_dict(saved["optimiser"])
        state.update(saved["state"])
    return net, optimiser, state


def save(out: Path, net: PriorNet, optimiser, state: dict) -> None:
    tmp = out / "checkpoint.pt.tmp"
    torch.save({"net": net.state_dict(), "optimiser": optimiser.state_dict(), "state": state}, tmp)
    tmp.replace(out / "checkpoint.pt")


def train(args: argparse.Namespace) -> int:
    out = args.out.expanduser()
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    net, optimiser, state = load(out, args.width, args.lr)
    if state["step"] == 0:
        state.update(seed=args.seed, batch=args.batch)
    state["commands"].append(" ".join(args.argv))
    seed, size = state["seed"], state["batch"]
    source = data.stream(seed, state["step"] * size, RES, "train", psd_root=args.psd_root)
    check_x, check_y = check_batch()
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    log = (out / "log.jsonl").open("a")
    losses: list[float] = []
    clock = time.time()
    try:
        while state["step"] < args.steps and not stop["now"]:
            x, y = batch(source, size)
            net.train()
            loss = loss_fn(net(x), y)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            state["step"] += 1
            losses.append(float(loss.detach()))
            step = state["step"]
            if step % args.log_every == 0:
                entry = {"step": step, "loss": round(float(np.mean(losses)), 5)}
                losses = []
                if step % args.eval_every == 0:
                    net.eval()
                    with torch.no_grad():
                        entry["heldout_loss"] = round(float(loss_fn(net(check_x), check_y)), 5)
                now = time.time()
                state["seconds"] += now - clock
                clock = now
                entry["seconds"] = round(state["seconds"], 1)
                log.write(json.dumps(entry) + "\n")
                log.flush()
            if step % args.save_every == 0:
                save(out, net, optimiser, state)
    except KeyboardInterrupt:
        pass
    state["seconds"] += time.time() - clock
    save(out, net, optimiser, state)
    log.close()
    print(json.dumps({"step": state["step"], "checkpoint": str(out / "checkpoint.pt")}))
    return 0


def export_onnx(net: PriorNet, path: Path) -> None:
    """The network as ONNX (input "rgb" 1x3xRxR, output "maps" 1x5xRxR), written atomically."""
    import warnings

    tmp = path.with_suffix(".onnx.tmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            net.eval(),
            torch.zeros(1, 3, net.res, net.res),
            str(tmp),
            input_names=["rgb"],
            output_names=["maps"],
            opset_version=OPSET,
            dynamo=False,
        )
    tmp.replace(path)


def export(args: argparse.Namespace) -> int:
    out = args.out.expanduser()
    net, _, state = load(out, args.width, args.lr)
    net.eval()
    target = Path(args.export)
    target.mkdir(parents=True, exist_ok=True)
    onnx_path = target / "prior.onnx"
    export_onnx(net, onnx_path)
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines() if line]
    manifest = {
        "model": "strata layer prior (small U-Net)",
        "file": onnx_path.name,
        "input": {"name": "rgb", "shape": [1, 3, RES, RES], "range": [0, 1]},
        "outputs": ["overlay_alpha", "overlay_r", "overlay_g", "overlay_b", "panel_alpha"],
        "parameters": parameter_count(net),
        "width": state["width"],
        "training_commands": state["commands"],
        "data": {
            "generator": "model.train.data",
            "config": "train",
            "seed": state["seed"],
            "batch": state["batch"],
            "samples_seen": state["step"] * state["batch"],
            "heldout_check": {"config": "heldout", "seed": CHECK_SEED, "count": 32},
        },
        "code_commit": _commit(),
        "steps": state["step"],
        "train_seconds": round(state["seconds"], 1),
        "last_log": log[-1] if log else None,
        "default_on": bool(args.default_on),
        "figures": json.loads(args.figures) if args.figures else {},
    }
    (target / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(json.dumps({"onnx": str(onnx_path), "bytes": onnx_path.stat().st_size}))
    return 0


def main(argv: list[str] | None = None) -> int:
    import sys

    parser = argparse.ArgumentParser(
        prog="python -m model.train.prior",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="checkpoint folder")
    parser.add_argument("--steps", type=int, default=2000, help="train up to this step")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0, help="data and initialisation seed")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--psd-root", default=str(Path(__file__).resolve().parents[3] / "shared" / "data")
    )
    parser.add_argument("--log-every", type=int, default=25)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--save-every", type=int, default=50)
    parser.add_argument("--export", metavar="DIR", help="write DIR/prior.onnx + manifest.json")
    parser.add_argument("--default-on", action="store_true", help="manifest: --prior auto uses it")
    parser.add_argument("--figures", help="manifest: evaluation figures as a JSON object")
    args = parser.parse_args(argv)
    args.argv = ["python -m model.train.prior"] + list(sys.argv[1:] if argv is None else argv)
    return export(args) if args.export else train(args)


if __name__ == "__main__":
    raise SystemExit(main())
