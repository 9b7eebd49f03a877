"""Issue 12 §4: inputs and outputs that used to crash or overwrite (io/files.py, batch, the CLI)."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from alphacut.io.files import collect_jobs, write_atomic

from ..conftest import square_image


def test_symlink_loops_under_a_folder_are_reported_and_the_rest_runs(run, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    square_image().save(src / "a.png")
    (src / "l1.png").symlink_to("l2.png")
    (src / "l2.png").symlink_to("l1.png")
    (src / "x").symlink_to(".")  # `ln -s . x`
    jobs = collect_jobs([str(src)], tmp_path / "out", ".png")
    assert [j.problem.code for j in jobs if j.problem] == ["input.symlink-loop"] * 2
    res = run("remove", str(src), "-o", str(tmp_path / "out"))
    assert res.exit_code == 1 and "1 done, 0 skipped, 2 failed" in res.output
    assert "input.symlink-loop" in res.output and (tmp_path / "out" / "a.png").exists()


def test_a_link_to_its_own_folder_as_the_input(run, tmp_path, monkeypatch):
    square_image().save(tmp_path / "a.png")
    (tmp_path / "x").symlink_to(".")
    monkeypatch.chdir(tmp_path)
    res = run("remove", "x", "-o", str(tmp_path / "out"))
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out" / "a.png").exists()


def test_a_self_loop_as_an_input_is_reported_and_the_rest_runs(run, tmp_path, monkeypatch):
    square_image().save(tmp_path / "a.png")
    (tmp_path / "loop.png").symlink_to("loop.png")
    monkeypatch.chdir(tmp_path)
    res = run("remove", "loop.png", "a.png", "-o", str(tmp_path / "out"))
    assert res.exit_code == 1 and "1 done, 0 skipped, 1 failed" in res.output
    assert "input.symlink-loop" in res.output


def test_colliding_outputs_are_reported_per_file_and_the_rest_runs(run, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    square_image().save(src / "anim.gif")
    square_image().save(src / "anim.webp")
    square_image().save(src / "other.png")
    res = run("remove", str(src), "-o", str(tmp_path / "out"))
    assert res.exit_code == 1, res.output
    assert "1 done, 0 skipped, 2 failed" in res.output and res.output.count("output.collision") == 2
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["other.png"]


def test_a_long_name_fits_its_temp_file_and_writes(tmp_path):
    name = "n" * 240 + ".png"  # the old temp name '.NAME.xxxxxxxx.part' was over 255 bytes
    write_atomic(tmp_path / name, b"data")
    assert (tmp_path / name).read_bytes() == b"data" and not list(tmp_path.glob(".*"))


def test_a_name_over_the_limit_is_named_as_such(tmp_path):
    from alphacut.errors import OutputError

    with pytest.raises(OutputError) as err:
        write_atomic(tmp_path / ("n" * 300 + ".png"), b"data")
    assert err.value.code == "output.name-too-long" and "shorter" in (err.value.hint or "")


def test_written_files_follow_the_umask_not_0600(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "o.png", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "o.png").stat().st_mode) == 0o644


def test_long_input_name_through_the_cli(run, tmp_path):
    p = tmp_path / ("p" * 240 + ".png")
    square_image().save(p)
    res = run("remove", str(p), "-o", str(tmp_path / "out"))
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out" / p.name).exists()


def _png() -> bytes:
    buf = io.BytesIO()
    square_image().save(buf, "PNG")
    return buf.getvalue()


def test_stdin_needs_overwrite_for_an_existing_output(run, tmp_path):
    out = tmp_path / "o.png"
    out.write_bytes(b"keep me")
    res = run("remove", "-", "-o", str(out), input=_png())
    assert res.exit_code == 6 and "output.exists" in res.output and out.read_bytes() == b"keep me"
    res = run("remove", "-", "-o", str(out), "--skip-existing", input=_png())
    assert res.exit_code == 0 and out.read_bytes() == b"keep me"
    assert run("remove", "-", "-o", str(out), "--overwrite", input=_png()).exit_code == 0
    assert Image.open(out).mode == "RGBA"


def test_stdin_never_overwrites_its_own_input(tmp_path):
    p = tmp_path / "in.png"
    square_image().save(p)
    before = p.read_bytes()
    code = ("from alphacut import cli\n"
            "cli._remover = lambda s: (_ for _ in ()).throw(SystemExit('the model must not even load'))\n"
            "cli.entry()")
    with p.open("rb") as stdin:
        res = subprocess.run([sys.executable, "-c", code, "remove", "-", "-o", str(p), "--overwrite"],
                             check=False, stdin=stdin, capture_output=True, text=True,
                             env={**os.environ, "ALPHACUT_HOME": str(tmp_path / "home")})
    assert res.returncode == 6 and "output.is-input" in res.stderr, res.stderr
    assert p.read_bytes() == before


def _two_subjects(path: Path) -> None:
    img = Image.new("RGB", (160, 80), (240, 240, 240))
    for x0 in (10, 100):
        img.paste((20, 30, 200), (x0, 20, x0 + 40, 60))
    img.save(path)


def test_layers_never_overwrite_an_input_named_like_a_layer(run, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    _two_subjects(src / "photo.jpg")
    square_image().save(src / "photo.subject-1.png")
    before = (src / "photo.subject-1.png").read_bytes()
    res = run("remove", str(src / "photo.jpg"), str(src / "photo.subject-1.png"), "-o", str(src), "--layers",
              "--overwrite")
    assert (src / "photo.subject-1.png").read_bytes() == before
    assert "output.is-input" in res.output and res.exit_code == 1


def test_layers_need_overwrite_for_existing_layer_files(run, tmp_path):
    p = tmp_path / "photo.png"
    _two_subjects(p)
    out = tmp_path / "out"
    out.mkdir()
    (out / "photo.subject-1.png").write_bytes(b"mine")
    res = run("remove", str(p), "-o", str(out), "--layers")
    assert res.exit_code == 1 and "output.exists" in res.output
    assert (out / "photo.subject-1.png").read_bytes() == b"mine" and not (out / "photo.png").exists()
    res = run("remove", str(p), "-o", str(out), "--layers", "--overwrite")
    assert res.exit_code == 0, res.output
    assert Image.open(out / "photo.subject-1.png").mode == "RGBA"


def test_a_batch_with_a_dds_header_file_goes_on(run, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    square_image().save(src / "a.png")
    (src / "x.jpg").write_bytes(b"DDS |" + bytes(200))
    res = run("remove", str(src), "-o", str(tmp_path / "out"))
    assert res.exit_code == 1 and "1 done, 0 skipped, 1 failed" in res.output
    assert "input.undecodable" in res.output and "Traceback" not in res.output
