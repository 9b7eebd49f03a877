"""alphacut.distributed without a cluster: the missing extra, refused inputs, the read/write stages.

The cluster itself is exercised in tests/integration/test_ray_cluster.py.
"""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

from alphacut import cli

from ..conftest import square_image


def test_ray_flag_without_the_extra_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as when it is not installed
    square_image().save(tmp_path / "a.png")
    res = CliRunner().invoke(cli.main, ["remove", str(tmp_path / "a.png"), "-o", str(tmp_path / "out"),
                                        "--ray"])
    assert res.exit_code == 5
    assert "backend.missing-extra" in res.output and "pip install 'alphacut[ray]'" in res.output
    assert not (tmp_path / "out").exists()


def test_library_without_the_extra_raises_backend_error(monkeypatch):
    from alphacut.distributed import remove_dataset
    from alphacut.errors import BackendError

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(BackendError) as info:
        remove_dataset(object())
    assert info.value.code == "backend.missing-extra"


def test_ray_flag_refuses_stdin(tmp_path):
    res = CliRunner().invoke(cli.main, ["remove", "-", "--ray"], input=b"")
    assert res.exit_code == 2 and "options.conflict" in res.output


def test_ray_flag_takes_an_address_after_the_inputs():
    """--ray alone means a local Ray; --ray ADDR and --ray=ADDR name a cluster."""
    cmd = cli.main.commands["remove"]
    for args, want in ((["x.png", "--ray"], ""), (["x.png", "--ray", "auto"], "auto"),
                       (["x.png", "--ray=ray://h:10001"], "ray://h:10001"), (["x.png"], None)):
        ctx = cmd.make_context("remove", list(args))
        assert ctx.params["ray_address"] == want, args


def test_read_stage_turns_unreadable_files_into_error_rows(tmp_path):
    pa = pytest.importorskip("pyarrow")
    from alphacut.distributed.jobs import _read

    (tmp_path / "ok.png").write_bytes(b"123")
    (tmp_path / "dir.png").mkdir()
    table = pa.table({"src": [str(tmp_path / n) for n in ("ok.png", "gone.png", "dir.png")],
                      "dst": ["a", "b", "c"]})
    rows = _read(table).to_pylist()
    assert [r["bytes"] for r in rows] == [b"123", None, None]
    assert [r["error_code"] for r in rows] == [None, "input.not-found", "input.unreadable"]
    assert all(r["dst"] for r in rows)


def test_write_stage_writes_whole_files_and_reports_failures(tmp_path):
    pa = pytest.importorskip("pyarrow")
    from alphacut.distributed.jobs import _write
    from alphacut.options import Options

    (tmp_path / "file").write_bytes(b"")
    table = pa.table({
        "src": ["s1", "s2", "s3"],
        "dst": [str(tmp_path / "out" / "sub" / "a.png"), str(tmp_path / "file" / "b.png"), str(tmp_path / "c.png")],
        "cutout": pa.array([b"A", b"B", None], pa.binary()),
        "layers": pa.array([[b"L1", b"L2"], [], None], pa.list_(pa.binary())),
        "error_code": pa.array([None, None, "input.undecodable"], pa.string()),
        "error_message": pa.array([None, None, "bad"], pa.string()),
        "node_id": ["n", "n", "n"], "node_ip": ["ip", "ip", "ip"], "seconds": [0.1, 0.1, 0.1]})
    rows = _write(table, Options(), layers=True).to_pylist()
    assert (tmp_path / "out" / "sub" / "a.png").read_bytes() == b"A"
    assert (tmp_path / "out" / "sub" / "a.subject-2.png").read_bytes() == b"L2"
    assert [r["error_code"] for r in rows] == [None, "output.not-writable", "input.undecodable"]
    assert "cutout" not in rows[0] and rows[0]["node_id"] == "n"
    assert not list((tmp_path / "out" / "sub").glob("*.part"))


def test_uri_jobs_mirror_folders_like_the_local_batch(tmp_path):
    pytest.importorskip("pyarrow")
    from alphacut.distributed.uris import uri_jobs
    from alphacut.errors import InputError
    from alphacut.io.files import collect_jobs

    for rel in ("a.jpg", "sub/b.png", "sub/deep/c.webp", ".hidden/d.png", "sub/.e.png", "notes.txt"):
        (tmp_path / "in" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "in" / rel).write_bytes(b"x")
    jobs = uri_jobs([f"file://{tmp_path}/in"], "s3://bucket/out/", ".png")
    local = collect_jobs([str(tmp_path / "in")], tmp_path / "out", ".png")
    assert [j.dst for j in jobs] == [f"s3://bucket/out/{j.dst.relative_to(tmp_path / 'out')}" for j in local]
    assert [j.src for j in jobs] == [f"file://{j.src}" for j in local]
    one = uri_jobs([str(tmp_path / "in" / "a.jpg")], "file:///o", ".webp")  # a local path works too
    assert [(j.src, j.dst) for j in one] == [(str(tmp_path / "in" / "a.jpg"), "file:///o/a.webp")]
    with pytest.raises(InputError) as info:
        uri_jobs([f"file://{tmp_path}/nope"], "file:///o", ".png")
    assert info.value.code == "input.not-found"


def test_uri_writes_go_through_the_filesystem_stream(monkeypatch, tmp_path):
    pafs = pytest.importorskip("pyarrow.fs")
    from alphacut.distributed import uris

    mock = pafs._MockFileSystem()
    monkeypatch.setattr(uris, "_fs", lambda uri: (mock, uri.split("://", 1)[1]))
    uris.write_bytes("mock://bucket/a/b.png", b"PNG")
    assert uris.exists("mock://bucket/a/b.png") and not uris.exists("mock://bucket/a/c.png")
    assert uris.read_bytes("mock://bucket/a/b.png") == b"PNG"
    monkeypatch.undo()
    uris.write_bytes(f"file://{tmp_path}/x/y.png", b"local")  # file://: write_atomic
    assert (tmp_path / "x" / "y.png").read_bytes() == b"local"


def test_existing_objects_from_one_listing(tmp_path):
    pytest.importorskip("pyarrow")
    from alphacut.distributed.uris import existing_objects

    (tmp_path / "o" / "s").mkdir(parents=True)
    (tmp_path / "o" / "a.png").write_bytes(b"")
    (tmp_path / "o" / "s" / "b.png").write_bytes(b"")
    want = [f"file://{tmp_path}/o/{n}" for n in ("a.png", "s/b.png", "s/c.png", "d.png")]
    assert existing_objects(want) == set(want[:2])
    assert existing_objects([want[1]]) == {want[1]}
    assert existing_objects([f"file://{tmp_path}/none/x.png"]) == set()
