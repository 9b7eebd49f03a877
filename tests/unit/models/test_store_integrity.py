"""Issue 12 §4: the store's stamp skips work, never a check (bit rot, damaged optimized graphs, a
folder where the model file should be)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from alphacut import ModelError, Remover, cli
from alphacut.models.catalog import Catalog, ModelSpec
from alphacut.models.store import ModelStore

from ..conftest import make_tiny_onnx, square_image
from ..runtime.test_optimized_cache import _rot_in_place


def _store(tmp_path: Path) -> ModelStore:
    model = tmp_path / "src" / "tiny.onnx"
    digest = "sha256:" + hashlib.sha256(model.read_bytes()).hexdigest()
    spec = ModelSpec.from_dict({
        "id": "tiny-net", "description": "test", "licence": "none", "checksum": digest,
        "input_size": 64, "mean": [0.5, 0.5, 0.5], "std": [1.0, 1.0, 1.0],
        "sources": [{"kind": "file", "path": str(model)}],
    })
    return ModelStore(tmp_path / "home", catalog=Catalog(default="tiny-net", models={"tiny-net": spec}))


@pytest.fixture
def src_dir(tmp_path):
    (tmp_path / "src").mkdir()
    make_tiny_onnx(tmp_path / "src" / "tiny.onnx")
    return tmp_path


def test_check_hashes_even_when_the_stamp_matches(src_dir):
    store = _store(src_dir)
    path = store.ensure("tiny-net")
    _rot_in_place(path)
    assert store.ensure("tiny-net") == path  # the stamp still matches: ensure skips the hash
    with pytest.raises(ModelError) as err:
        store.check("tiny-net")
    assert err.value.code == "model.hash-mismatch" and "--force" in (err.value.hint or "")


@pytest.mark.parametrize("optimized_first", [False, True])
def test_a_remover_never_runs_a_model_changed_in_place(src_dir, optimized_first):
    store = _store(src_dir)
    if optimized_first:  # a good optimized graph exists: the rotten model must still be refused
        Remover("tiny-net", store=store, threads=1).remove(square_image())
    _rot_in_place(store.ensure("tiny-net"))
    remover = Remover("tiny-net", store=store, threads=1)
    with pytest.raises(ModelError) as err:
        remover.remove(square_image())
    assert err.value.code == "model.hash-mismatch"


@pytest.mark.parametrize("runtime", ["onnxruntime", "openvino"])
def test_models_verify_finds_a_damaged_optimized_graph(src_dir, monkeypatch, runtime):
    """onnxruntime's optimized graph, or OpenVINO's compiled model."""
    store = _store(src_dir)
    Remover("tiny-net", store=store, threads=1, runtime=runtime).remove(square_image())
    folder, suffix = (store.optimized_dir, ".onnx") if runtime == "onnxruntime" else (store.compiled_dir, ".ovblob")
    (graph,) = [p for p in folder.iterdir() if p.suffix == suffix]
    if runtime == "onnxruntime":
        _rot_in_place(graph)
    else:  # a compiled model holds the weight in OpenVINO's own layout: one byte changes, size kept
        data = bytearray(graph.read_bytes())
        data[len(data) // 2] ^= 0x01
        graph.write_bytes(bytes(data))
    monkeypatch.setattr(cli, "_store", lambda ctx: store)
    res = CliRunner().invoke(cli.main, ["models", "verify", "tiny-net"])
    assert res.exit_code == ModelError.exit_code, res.output
    assert "MISMATCH" in res.output and graph.name in res.output
    assert not graph.exists()  # deleted, rebuilt on the next load
    res = CliRunner().invoke(cli.main, ["models", "verify", "tiny-net"])
    assert res.exit_code == 0 and "tiny-net: ok" in res.output


def test_models_verify_shows_why_the_model_mismatches(src_dir, monkeypatch):
    store = _store(src_dir)
    _rot_in_place(store.ensure("tiny-net"))
    monkeypatch.setattr(cli, "_store", lambda ctx: store)
    res = CliRunner().invoke(cli.main, ["models", "verify", "tiny-net"])
    assert res.exit_code == 4 and "MISMATCH" in res.output and "expected sha256:" in res.output


@pytest.mark.parametrize("call", ["ensure", "fetch", "verify", "check"])
def test_a_folder_where_the_model_file_should_be(src_dir, call):
    store = _store(src_dir)
    store.path("tiny-net").mkdir(parents=True)
    with pytest.raises(ModelError) as err:
        getattr(store, call)("tiny-net")
    assert err.value.code == "model.not-a-file" and "folder" in err.value.message
    assert store.path("tiny-net").is_dir()  # nothing of the user's was touched


def test_models_verify_drops_a_graph_from_before_records_without_calling_it_damaged(src_dir):
    store = _store(src_dir)
    Remover("tiny-net", store=store, threads=1, runtime="onnxruntime").remove(square_image())
    (graph,) = [p for p in store.optimized_dir.iterdir() if p.suffix == ".onnx"]
    graph.with_name(graph.name + ".sha256").unlink()  # as written by an older alphacut
    result = store.verify("tiny-net")
    assert result.ok and result.detail == "" and not graph.exists()


def test_a_batch_on_a_damaged_model_stops_with_the_model_error(src_dir, monkeypatch, tmp_path):
    store = _store(src_dir)
    _rot_in_place(store.ensure("tiny-net"))
    monkeypatch.setattr(cli, "_remover", lambda settings, **_: Remover("tiny-net", store=store, threads=1))
    for i in range(3):
        square_image().save(tmp_path / f"{i}.png")
    res = CliRunner().invoke(cli.main, ["remove", *(str(tmp_path / f"{i}.png") for i in range(3)),
                                        "-o", str(tmp_path / "out")])
    assert res.exit_code == ModelError.exit_code, res.output
    assert res.output.count("model.hash-mismatch") == 1 and "Traceback" not in res.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
