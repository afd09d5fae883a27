"""The `qwen` backend: Qwen-Image-Layered via diffusers, plus weight management.

Importing this package is cheap; torch and diffusers load only when a run or a check needs them.
"""

from model.qwen.backend import QwenDecomposer

__all__ = ["QwenDecomposer"]
