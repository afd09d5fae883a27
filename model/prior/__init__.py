"""The learned layer prior at run time: ONNX weights run with onnxruntime (no torch)."""
