"""The text encoder on the GPU only while it encodes (group-offload plans).

The text encoder (8.3B parameters, 16.6 GB in bf16) is needed at the start of a run (caption,
prompt, negative prompt) and, for layer names, after decoding. Between, its GPU memory is better
spent on the streamed transformer's work. Its weights stay in pinned host memory; `onload`
copies them to the GPU at the host link's full speed (pinned, non-blocking), and `offload` just
points the parameters back at the host copies: nothing is copied back, the weights never change.
"""

from __future__ import annotations

from typing import Any


class PinnedSwap:
    def __init__(self, module: Any, device: str, pin: bool) -> None:
        self.module = module
        self.device = device
        self.tensors: list[Any] = [*module.parameters(), *module.buffers()]
        for tensor in self.tensors:
            host = tensor.data.cpu()
            tensor.data = host.pin_memory() if pin else host
        self.host = [tensor.data for tensor in self.tensors]
        self.pinned = pin
        self.on_device = False

    def onload(self) -> None:
        if self.on_device:
            return
        for tensor, host in zip(self.tensors, self.host):
            tensor.data = host.to(self.device, non_blocking=self.pinned)
        self.on_device = True

    def offload(self) -> None:
        if not self.on_device:
            return
        for tensor, host in zip(self.tensors, self.host):
            tensor.data = host
        self.on_device = False
