"""Session files: exact round trip, atomic saves that survive kills and full disks, autosave."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_formats_support import make_doc

from app.core.document import Document
from app.core.errors import ExportFailed, ImportFailed
from app.core.formats import load_document, save_document
from app.core.formats.recovery import discard_recovery, find_recovery, write_recovery
from app.core.formats.session import np_equal_docs
from app.core.layer import Layer, LayerParams, Recolor

ROOT = Path(__file__).resolve().parents[1]

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
recolors = st.builds(
    Recolor,
    hue=finite,
    saturation=finite,
    brightness=finite,
    tint=st.tuples(*[st.integers(0, 255)] * 3),
    tint_strength=finite,
)
params = st.builds(
    LayerParams,
    name=st.text(max_size=30),
    visible=st.booleans(),
    opacity=finite,
    offset=st.tuples(finite, finite),
    scale=st.tuples(finite, finite),
    recolor=recolors,
)


@st.composite
def documents(draw):
    width, height = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    layers = []
    for _ in range(draw(st.integers(0, 4))):
        w, h = draw(st.integers(1, 12)), draw(st.integers(1, 12))
        pixels = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)  # colour under alpha 0 too
        origin = (draw(st.integers(-50, 50)), draw(st.integers(-50, 50)))
        layers.append(Layer(pixels, origin, draw(params)))
    source = None
    if draw(st.booleans()):
        source = rng.integers(0, 256, (height, width, 4), dtype=np.uint8)
    metadata = draw(st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8),
                                    max_size=3))
    return Document(width, height, layers, source=source, metadata=metadata)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=documents())
def test_session_round_trip_is_exact(tmp_path_factory, doc):
    path = tmp_path_factory.mktemp("s") / "doc.strata"
    save_document(doc, path)
    back = load_document(path)
    assert np_equal_docs(doc, back)
    assert [layer.params for layer in back.layers] == [layer.params for layer in doc.layers]
    assert back.metadata == doc.metadata


def test_session_layout(tmp_path):
    doc = make_doc(seed=1, edits=True)
    save_document(doc, tmp_path / "d.strata")
    with zipfile.ZipFile(tmp_path / "d.strata") as zf:
        first = zf.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        manifest = json.loads(zf.read("manifest.json"))
    assert manifest["format"] == "strata-session" and manifest["version"] == 1
    assert manifest["canvas"] == {"width": doc.width, "height": doc.height}
    assert [entry["id"] for entry in manifest["layers"]] == [layer.id for layer in doc.layers]
    assert set(manifest["layers"][1]["recolor"]) == {
        "hue", "saturation", "brightness", "tint", "tint_strength"
    }


def _rewrite(src: Path, dst: Path, change) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "manifest.json":
                manifest = json.loads(data)
                change(manifest)
                data = json.dumps(manifest).encode()
            zout.writestr(info, data)


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda m: m["layers"][0].update(file="../../etc/passwd"), "outside"),
        (lambda m: m["layers"][0].update(file="/etc/passwd"), "outside"),
        (lambda m: m.update(canvas={"width": 100_000, "height": 100_000}), "limit"),
        (lambda m: m["layers"][0].update(size=[3, 3]), "size"),
        (lambda m: m["layers"][0].update(opacity="x"), "number"),
        (lambda m: m["layers"][1].update(id=m["layers"][0]["id"]), "id"),
        (lambda m: m.update(version=99), "newer"),
        (lambda m: m.update(format="other"), "not a Strata session"),
    ],
)
def test_hostile_or_damaged_manifest(tmp_path, change, words):
    save_document(make_doc(seed=2), tmp_path / "ok.strata")
    _rewrite(tmp_path / "ok.strata", tmp_path / "bad.strata", change)
    with pytest.raises(ImportFailed, match=words):
        load_document(tmp_path / "bad.strata")


def test_zip_bomb_member_is_refused(tmp_path):
    save_document(make_doc(seed=2), tmp_path / "ok.strata")
    with zipfile.ZipFile(tmp_path / "ok.strata") as zf:
        names = [n for n in zf.namelist() if n.startswith("layers/")]
    with zipfile.ZipFile(tmp_path / "ok.strata") as zin, \
            zipfile.ZipFile(tmp_path / "bomb.strata", "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = b"\0" * (50 << 20) if info.filename == names[0] else zin.read(info)
            zout.writestr(info.filename, data)
    assert (tmp_path / "bomb.strata").stat().st_size < 1 << 20
    with pytest.raises(ImportFailed, match="too large"):
        load_document(tmp_path / "bomb.strata", max_pixels=1_000_000)


# --- atomic writes

_SAVER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from test_formats_support import make_doc
    from app.core.formats import save_document
    docs = [make_doc(seed=s, layers=6, size=(300, 200), edits=True) for s in (11, 12)]
    print("ready", flush=True)
    i = 0
    while True:
        save_document(docs[i % 2], sys.argv[1])
        i += 1
    """
)


@pytest.mark.slow
def test_killing_a_save_never_breaks_the_previous_session(tmp_path):
    """SIGKILL a process that saves over the same session file again and again, at random
    moments, 20 times: the file is always a complete, openable session."""
    target = tmp_path / "doc.strata"
    expected = [make_doc(seed=s, layers=6, size=(300, 200), edits=True) for s in (11, 12)]
    save_document(expected[0], target)
    script = tmp_path / "saver.py"
    script.write_text(_SAVER.format(root=str(ROOT)))
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}"}
    rng = random.Random(1234)
    for _ in range(20):
        proc = subprocess.Popen([sys.executable, str(script), str(target)], env=env,
                                stdout=subprocess.PIPE, cwd=tmp_path)
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.25))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        back = load_document(target)
        assert any(
            [layer.params for layer in back.layers] == [layer.params for layer in e.layers]
            and all(np.array_equal(a.pixels, b.pixels) for a, b in zip(back.layers, e.layers))
            for e in expected
        )
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".doc.strata.")]
    # Killed writers leave their temporary file behind (never the target): proof that the
    # kills landed in the middle of writes.
    assert 1 <= len(leftovers) <= 20


_FULL_DISK = textwrap.dedent(
    """
    import resource, signal, sys
    sys.path.insert(0, {root!r})
    from test_formats_support import make_doc
    from app.core.errors import ExportFailed
    from app.core.formats import save_document
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))  # files may not grow past 20 kB
    try:
        save_document(make_doc(seed=5, layers=5, size=(200, 200)), sys.argv[1])
    except ExportFailed as exc:
        print("ExportFailed:", exc.reason)
    """
)


@pytest.mark.parametrize("ext", [".strata", ".psd", ".ora", ".png"])
def test_a_full_disk_leaves_the_previous_file_intact(tmp_path, ext):
    target = tmp_path / f"doc{ext}"
    small = make_doc(seed=6, layers=2, size=(20, 20))
    save_document(small, target)
    before = target.read_bytes()
    script = tmp_path / "full.py"
    script.write_text(_FULL_DISK.format(root=str(ROOT)))
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}"}
    run = subprocess.run([sys.executable, str(script), str(target)], env=env,
                         capture_output=True, timeout=120)
    assert b"ExportFailed: the file is larger than the system allows" in run.stdout, run.stderr
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, "full.py"])


def test_write_into_a_missing_folder_or_onto_a_folder(tmp_path):
    doc = make_doc()
    with pytest.raises(ExportFailed, match="does not exist"):
        save_document(doc, tmp_path / "missing" / "x.strata")
    (tmp_path / "taken.psd").mkdir()
    save_document(doc, tmp_path / "taken.psd")  # an existing folder: exported as a folder
    assert (tmp_path / "taken.psd" / "layers.json").exists()
    (tmp_path / "file").write_text("x")
    with pytest.raises(ExportFailed, match="not a folder"):
        save_document(doc, tmp_path / "file" / "x.ora")


# --- autosave


def test_recovery_write_find_and_discard(tmp_path):
    rec = tmp_path / "recovery"
    saved_doc = make_doc(seed=8)
    untitled = make_doc(seed=9)
    p1 = write_recovery(saved_doc, rec, "/home/me/poster.strata")
    p2 = write_recovery(untitled, rec, None)
    assert p1 != p2
    assert write_recovery(saved_doc, rec, "/home/me/poster.strata") == p1  # replaced, not added
    found = find_recovery(rec)
    assert [f.path for f in found] == [p1, p2]  # newest first
    assert found[0].document_path == "/home/me/poster.strata"
    assert found[1].document_path is None
    assert np_equal_docs(load_document(found[0].path), saved_doc)
    (rec / "junk.strata").write_bytes(b"not a zip")  # damaged copies are skipped
    assert len(find_recovery(rec)) == 2
    same = write_recovery(make_doc(seed=10), rec, None, key="window-1")  # snapshots of one doc
    assert write_recovery(make_doc(seed=11), rec, None, key="window-1") == same
    discard_recovery(same)
    discard_recovery(found[0])
    assert [f.path for f in find_recovery(rec)] == [p2]
    assert find_recovery(tmp_path / "nowhere") == []


def test_recovery_skips_copies_of_another_running_editor(tmp_path):
    """A second editor must not offer the first one's live documents as crash leftovers;
    once the writer has ended, its copies are offered."""
    rec = tmp_path / "recovery"
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        theirs = write_recovery(make_doc(seed=12), rec, "/home/me/poster.strata", pid=other.pid)
        mine = write_recovery(make_doc(seed=13), rec, "/home/me/poster.strata")
        assert theirs != mine  # the same file open twice keeps two copies
        assert [f.path for f in find_recovery(rec)] == [mine]
    finally:
        other.kill()
        other.wait()
    assert sorted(f.path for f in find_recovery(rec)) == sorted([theirs, mine])


def test_saving_again_reuses_encoded_layers_but_sees_changed_pixels(tmp_path):
    from app.core.formats.pngio import LAYER_PNGS

    doc = make_doc(seed=30, layers=3)
    save_document(doc, tmp_path / "a.strata")
    cached = LAYER_PNGS.encode(doc.layers[1].pixels)
    assert LAYER_PNGS.encode(doc.layers[1].pixels) is cached  # same immutable array: reused
    doc.source[0, 0] = (1, 2, 3, 4)  # a writable source image changed in place
    doc.layers[2] = Layer(doc.layers[2].pixels[::-1].copy(), doc.layers[2].origin,
                          doc.layers[2].params, doc.layers[2].id)
    save_document(doc, tmp_path / "a.strata")
    assert np_equal_docs(load_document(tmp_path / "a.strata"), doc)


def test_the_position_lock_is_saved_and_old_sessions_still_open(tmp_path):
    doc = make_doc(seed=4)
    doc.layers[0].params = doc.layers[0].params.with_(locked=True)
    save_document(doc, tmp_path / "locked.strata")
    back = load_document(tmp_path / "locked.strata")
    assert [layer.locked for layer in back.layers] == [layer.locked for layer in doc.layers]
    assert back.layers[0].locked and np_equal_docs(doc, back)
    # a session written before the lock existed has no "locked" key: everything is free
    _rewrite(tmp_path / "locked.strata", tmp_path / "old.strata",
             lambda m: [entry.pop("locked") for entry in m["layers"]])
    old = load_document(tmp_path / "old.strata")
    assert not any(layer.locked for layer in old.layers)
    _rewrite(tmp_path / "locked.strata", tmp_path / "bad.strata",
             lambda m: m["layers"][0].update(locked="yes"))
    with pytest.raises(ImportFailed, match="locked is not true or false"):
        load_document(tmp_path / "bad.strata")
