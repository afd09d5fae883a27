"""Batch decomposition: many pictures, one backend, one manifest (`python main.py batch`).

    inputs    INPUT... (files, folders, globs) -> pictures with the relative path they keep
    hashing   the input's bytes and the options, as the manifest's resume keys
    manifest  OUTPUT_DIR/batch.jsonl: one line per picture, written by the driver only
    plan      which pictures to do, which are done (skip), where each output goes
    work      one picture: read, decompose, write atomically -> an Outcome (never raises)
    local     the pictures on this machine: in process (qwen) or a process pool (classic)
    cluster   the same on a Ray cluster (tasks for classic, GPU actors for qwen)
    driver    the run: plan, dispatch, record, summary

Qt-free; the CLI (`app/cli/batch.py`) is a thin layer over `driver.run_batch`.
"""
