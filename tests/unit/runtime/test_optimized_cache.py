"""The optimized-graph cache of runtime/onnx.py: written once, reused, and never stale."""

from __future__ import annotations

import os
import struct

import numpy as np
import pytest

from alphacut.runtime import onnx as onnx_runtime
from alphacut.runtime.onnx import OnnxBackend

from ..conftest import make_tiny_onnx

HASH = "sha256:" + "ab" * 32


def _input() -> np.ndarray:
    x = np.full((1, 3, 64, 64), 0.5, np.float32)
    x[:, :, 10:20, 10:20] = -0.5
    return x


def _cached(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix == ".onnx") if folder.exists() else []


def test_first_load_writes_the_graph_and_the_next_reads_it(tmp_path, tiny_onnx):
    folder = tmp_path / "optimized"
    first = OnnxBackend(tiny_onnx, threads=1, name="tiny", optimized_dir=folder, model_hash=HASH)
    files = _cached(folder)
    assert len(files) == 1 and files[0].startswith("tiny.") and files[0].endswith(".onnx")  # no temp file left
    assert first.loaded_from == tiny_onnx
    second = OnnxBackend(tiny_onnx, threads=1, name="tiny", optimized_dir=folder, model_hash=HASH)
    assert second.loaded_from == folder / files[0]
    assert np.allclose(first.run(_input()), second.run(_input()), atol=1e-6)
    assert second.info == first.info


@pytest.mark.parametrize("change", ["model_hash", "threads", "ort_version", "model_file"])
def test_a_changed_key_rebuilds_and_removes_the_stale_graph(tmp_path, tiny_onnx, monkeypatch, change):
    folder = tmp_path / "optimized"
    model = make_tiny_onnx(tmp_path / "tiny.onnx")
    OnnxBackend(model, threads=1, name="tiny", optimized_dir=folder, model_hash=HASH)
    (old,) = _cached(folder)
    kwargs = {"threads": 1, "model_hash": HASH}
    if change == "model_hash":
        kwargs["model_hash"] = "sha256:" + "cd" * 32
    elif change == "threads":
        kwargs["threads"] = 2
    elif change == "ort_version":
        real = onnx_runtime._ort()

        class Newer:
            __version__ = real.__version__ + ".1"

            def __getattr__(self, name: str) -> object:
                return getattr(real, name)

        monkeypatch.setattr(onnx_runtime, "_ort", lambda: Newer())
    else:  # the model file was replaced (same name, new content and mtime)
        st = model.stat()
        model.write_bytes(model.read_bytes())
        os.utime(model, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    b = OnnxBackend(model, name="tiny", optimized_dir=folder, **kwargs)
    (new,) = _cached(folder)
    assert new != old and b.loaded_from == model  # built from the model, not from the stale graph


def test_a_corrupt_cached_graph_is_replaced_not_fatal(tmp_path, tiny_onnx):
    folder = tmp_path / "optimized"
    OnnxBackend(tiny_onnx, threads=1, name="tiny", optimized_dir=folder, model_hash=HASH)
    (name,) = _cached(folder)
    (folder / name).write_bytes(b"\x08\x07garbage")
    b = OnnxBackend(tiny_onnx, threads=1, name="tiny", optimized_dir=folder, model_hash=HASH)
    assert b.loaded_from == tiny_onnx and b.run(_input())[0, 0, 15, 15] > 0.9
    assert _cached(folder) == [name] and (folder / name).read_bytes()[:2] != b"\x08\x07"


def test_no_cache_without_a_model_hash_or_folder(tmp_path, tiny_onnx):
    OnnxBackend(tiny_onnx, threads=1, name="tiny", optimized_dir=tmp_path / "optimized")
    OnnxBackend(tiny_onnx, threads=1, name="tiny", model_hash=HASH)
    assert not (tmp_path / "optimized").exists()


def test_store_remove_deletes_the_models_optimized_graphs(tmp_path, tiny_onnx):
    from alphacut.models.store import ModelStore

    store = ModelStore(tmp_path / "home", offline=True)
    spec = store.add("tiny-net", tiny_onnx, input_size=64, mean=(0.5,) * 3, std=(1.0,) * 3)
    OnnxBackend(store.ensure("tiny-net"), threads=1, name=spec.id, optimized_dir=store.optimized_dir,
                model_hash=spec.checksum)
    other = store.optimized_dir / "tiny-net-2.0123456789abcdef.onnx"
    other.write_bytes(b"x")
    assert len(_cached(store.optimized_dir)) == 2
    store.remove("tiny-net")
    assert _cached(store.optimized_dir) == [other.name]


def test_a_remover_caches_its_optimized_graph_in_the_store(tmp_path, tiny_onnx):
    from alphacut.api import Remover
    from alphacut.models.store import ModelStore

    store = ModelStore(tmp_path / "home", offline=True)
    store.add("tiny-net", tiny_onnx, input_size=64, mean=(0.5,) * 3, std=(1.0,) * 3)
    Remover("tiny-net", store=store, threads=1, runtime="onnxruntime").wait_ready()
    (name,) = _cached(store.optimized_dir)
    again = Remover("tiny-net", store=store, threads=1, runtime="onnxruntime").wait_ready()
    assert again.backend.wait().loaded_from == store.optimized_dir / name  # type: ignore[attr-defined]


K = struct.pack("<f", -20.0)  # the tiny model's gain; -10.0 in its place still loads, with other output


def _rot_in_place(path, old: bytes = K, new: bytes = struct.pack("<f", -10.0)) -> None:
    """Change bytes in place keeping the size, mtime and inode (bit rot, or a tool that edits in place)."""
    st = path.stat()
    data = path.read_bytes()
    at = data.find(old)
    assert at >= 0, "the weight's bytes are in the file"
    with open(path, "r+b") as fh:
        fh.seek(at)
        fh.write(new)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (st.st_size, st.st_mtime_ns, st.st_ino)


def test_a_cached_graph_changed_in_place_is_never_run(tmp_path, tiny_onnx):
    folder = tmp_path / "optimized"
    first = OnnxBackend(tiny_onnx, threads=1, name="tiny", optimized_dir=folder, model_hash=HASH)
    (name,) = _cached(folder)
    assert (folder / (name + ".sha256")).read_text().startswith("sha256:")  # recorded when written
    _rot_in_place(folder / name)
    second = OnnxBackend(tiny_onnx, threads=1, name="tiny", optimized_dir=folder, model_hash=HASH)
    assert second.loaded_from == tiny_onnx  # rebuilt from the model
    assert np.allclose(first.run(_input()), second.run(_input()), atol=1e-6)
    third = OnnxBackend(tiny_onnx, threads=1, name="tiny", optimized_dir=folder, model_hash=HASH)
    assert third.loaded_from == folder / name  # the rebuilt graph, with a fresh record


def test_a_cached_graph_without_a_record_is_rebuilt(tmp_path, tiny_onnx):
    folder = tmp_path / "optimized"
    OnnxBackend(tiny_onnx, threads=1, name="tiny", optimized_dir=folder, model_hash=HASH)
    (name,) = _cached(folder)
    (folder / (name + ".sha256")).unlink()
    again = OnnxBackend(tiny_onnx, threads=1, name="tiny", optimized_dir=folder, model_hash=HASH)
    assert again.loaded_from == tiny_onnx and (folder / (name + ".sha256")).is_file()
