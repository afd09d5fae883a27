"""The `qwen` backend: Qwen-Image-Layered via diffusers, plus weight management.

Importing this package is cheap; torch and diffusers load only when a run or a check needs them.
"""

import logging

# Import-time notices from optional packages (torchao registering pytree enums; diffusers not
# finding torchao classes that moved in torchao 0.18) say nothing a user can act on, and the CLI
# promises one line on stderr for a failure.
for _name in ("torch.utils._pytree", "diffusers.quantizers.torchao.torchao_quantizer"):
    logging.getLogger(_name).setLevel(logging.ERROR)

from model.qwen.backend import QwenDecomposer  # noqa: E402

__all__ = ["QwenDecomposer"]
