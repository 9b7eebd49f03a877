"""`alphacut serve` (uvicorn stubbed out), the page config, and the model-file resolver's hash check."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

pytest.importorskip("fastapi")

from alphacut.cli import main
from alphacut.models.catalog import Catalog, ModelSpec
from alphacut.server import app as app_module


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def fake_run(app: Any, **kwargs: Any) -> None:
        seen["app"] = app
        seen.update(kwargs)

    import uvicorn

    monkeypatch.setattr(uvicorn, "run", fake_run)
    return seen


def test_serve_defaults_bind_loopback_quietly(captured: dict[str, Any], tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--home", str(tmp_path), "serve", "--port", "7123"])
    assert result.exit_code == 0, result.output
    assert captured["host"] == "127.0.0.1" and captured["port"] == 7123
    assert captured["access_log"] is False  # alphacut's own access log replaces uvicorn's
    settings = captured["app"].state.settings
    assert settings.workers == 2 and settings.queue == 8 and settings.api_key is None
    assert settings.max_bytes == 400 * 1024 * 1024 and settings.timeout_s == 120
    assert settings.max_resolution == 2048 and settings.read_timeout_s == 60 and settings.max_memory is None
    assert "WARNING" not in result.output


def test_serve_warns_loudly_off_loopback_and_takes_key_from_env(captured: dict[str, Any], tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--home", str(tmp_path), "serve", "--host", "0.0.0.0", "--workers", "1",
                                       "--queue", "0", "--max-upload-mb", "1", "--timeout", "5"],
                                env={"ALPHACUT_API_KEY": "k3y"})
    assert result.exit_code == 0, result.output
    assert "WARNING: binding 0.0.0.0" in result.output
    settings = captured["app"].state.settings
    assert settings.api_key == "k3y" and settings.workers == 1 and settings.queue == 0
    assert settings.max_bytes == 1024 * 1024 and settings.timeout_s == 5  # --max-upload-mb: --max-bytes' older name


def test_serve_reads_the_key_from_a_file_and_sizes_from_flags(captured: dict[str, Any], tmp_path: Path) -> None:
    key = tmp_path / "key.txt"
    key.write_text("fr0m-f1le\n")
    result = CliRunner().invoke(main, ["--home", str(tmp_path), "serve", "--api-key-file", str(key),
                                       "--max-bytes", "10M", "--max-memory", "3G", "--max-resolution", "1536",
                                       "--read-timeout", "7"], env={"ALPHACUT_API_KEY": ""})
    assert result.exit_code == 0, result.output
    settings = captured["app"].state.settings
    assert settings.api_key == "fr0m-f1le" and settings.max_bytes == 10 * 1024 * 1024
    assert settings.max_memory == 3 * 1024**3 and settings.max_resolution == 1536 and settings.read_timeout_s == 7
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    bad = CliRunner().invoke(main, ["--home", str(tmp_path), "serve", "--api-key-file", str(empty)])
    assert bad.exit_code == 2 and "options.invalid" in bad.output


def test_serve_rejects_bad_pool_sizes(captured: dict[str, Any], tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--home", str(tmp_path), "serve", "--workers", "0"])
    assert result.exit_code == 2 and "options.invalid" in result.output


def _catalog_with(data: bytes) -> Catalog:
    spec = ModelSpec.from_dict({
        "id": "m-test", "description": "t", "licence": "none",
        "checksum": "sha256:" + hashlib.sha256(data).hexdigest(), "input_size": 64,
        "mean": [0.5, 0.5, 0.5], "std": [1, 1, 1], "sources": [{"kind": "file", "path": "/x"}],
    })
    return Catalog(default="m-test", models={"m-test": spec})


def test_model_file_only_when_cached_and_hash_matches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    good = b"pretend onnx bytes"
    monkeypatch.setenv("ALPHACUT_HOME", str(tmp_path))
    monkeypatch.setattr("alphacut.models.store.load_catalog", lambda *a, **k: _catalog_with(good))
    assert app_module.default_model_file("m-test") is None  # not cached
    assert app_module.default_model_file("not-in-catalog") is None
    (tmp_path / "models").mkdir()
    path = tmp_path / "models" / "m-test.onnx"
    path.write_bytes(b"tampered")
    assert app_module.default_model_file("m-test") is None  # hash mismatch: never served
    path.write_bytes(good)
    assert app_module.default_model_file("m-test") == path


def test_serve_home_flag_is_where_the_private_mode_model_comes_from(
        captured: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    good = b"pretend onnx bytes"
    monkeypatch.setattr("alphacut.models.store.load_catalog", lambda *a, **k: _catalog_with(good))
    flag_home, env_home = tmp_path / "flag", tmp_path / "env"
    (flag_home / "models").mkdir(parents=True)
    (flag_home / "models" / "m-test.onnx").write_bytes(good)
    monkeypatch.setenv("ALPHACUT_HOME", str(env_home))  # the wrong cache: --home must win
    result = CliRunner().invoke(main, ["--home", str(flag_home), "serve"])
    assert result.exit_code == 0, result.output
    assert captured["app"].state.model_file("m-test") == flag_home / "models" / "m-test.onnx"
    assert not env_home.exists() or not any(env_home.rglob("*.onnx"))
