"""Qt-free decomposers (qwen, classic), evaluation and dataset pipeline."""
