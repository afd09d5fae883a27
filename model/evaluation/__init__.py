"""Measuring decompositions the way the paper does (LayerD protocol), and the data to do it on.

compose: exact "over" flattening; metrics: the protocol; dataset: the folder format;
synthetic: the seeded design benchmark; psd_dataset: PSD files -> samples; baselines: reference
predictors; runner: a predictor over a dataset -> the table.
"""
