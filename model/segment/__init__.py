"""Segment Anything (transformers' SamModel, Sam2Model, SamHQModel, EdgeTamModel) for selecting
objects: weights found offline, a one-time image embedding, then one cheap decode per prompt;
mattes for the masks (ViTMatte when downloaded, closed-form matting otherwise)."""
