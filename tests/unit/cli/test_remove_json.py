"""`alphacut remove --json`: the batch summary as data (what `alphacut bench` reads)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from alphacut import Remover, cli
from alphacut.runtime.fake import FakeBackend

from ..conftest import square_image


@pytest.fixture
def invoke(monkeypatch, tiny_spec, tmp_path):
    monkeypatch.setattr(cli, "_remover", lambda settings, **_: Remover(tiny_spec, backend=FakeBackend()))
    monkeypatch.setenv("ALPHACUT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ALPHACUT_CONFIG", str(tmp_path / "none.toml"))
    return lambda *args: CliRunner().invoke(cli.main, list(args), catch_exceptions=False)


def test_json_summary_counts_items_and_stage_times(invoke, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    square_image().save(src / "a.jpg")
    square_image(90, 60).save(src / "b.png")
    (src / "c.jpg").write_bytes(b"not a jpeg at all")
    res = invoke("remove", str(src), "-o", str(tmp_path / "out"), "--json", "-f", "mask")
    assert res.exit_code == 1  # one failed
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert (summary["done"], summary["skipped"], summary["failed"]) == (2, 0, 1)
    assert summary["seconds"] > 0 and summary["model_wait_s"] >= 0
    items = {item["src"].rsplit("/", 1)[-1]: item for item in summary["items"]}
    assert items["c.jpg"]["outcome"] == "failed" and items["c.jpg"]["code"].startswith("input.")
    assert items["c.jpg"]["timings_ms"] == {}
    for name in ("a.jpg", "b.png"):
        assert items[name]["outcome"] == "done"
        assert {"decode", "preprocess", "inference", "matte", "write"} <= set(items[name]["timings_ms"])
    assert summary["stage_ms"]["inference"] == pytest.approx(
        sum(items[n]["timings_ms"]["inference"] for n in ("a.jpg", "b.png")), abs=0.2)


def test_json_summary_of_skipped_files(invoke, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    square_image().save(src / "a.jpg")
    assert invoke("remove", str(src), "-o", str(tmp_path / "out")).exit_code == 0
    res = invoke("remove", str(src), "-o", str(tmp_path / "out"), "--skip-existing", "--json")
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert (summary["done"], summary["skipped"]) == (0, 1) and summary["items"][0]["outcome"] == "skipped"


def test_json_is_refused_in_stdin_mode(invoke):
    res = CliRunner().invoke(cli.main, ["remove", "-", "--json"], input=b"x")
    assert res.exit_code != 0
    assert "--json" in res.output
