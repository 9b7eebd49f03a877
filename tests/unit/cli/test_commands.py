from __future__ import annotations

import io
import os

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from alphacut import cli

from ..conftest import square_image


@pytest.fixture
def tree(tmp_path):
    src = tmp_path / "in"
    (src / "sub" / "deeper").mkdir(parents=True)
    square_image().save(src / "a.jpg")
    square_image(90, 60).save(src / "sub" / "b.png")
    square_image(50, 70).save(src / "sub" / "deeper" / "c.webp")
    (src / "notes.txt").write_text("not an image, ignored by folder walks")
    return src


def test_folder_is_mirrored_under_output(run, tree, tmp_path):
    out = tmp_path / "out"
    res = run("remove", str(tree), "-o", str(out))
    assert res.exit_code == 0, res.output
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == ["a.png", "sub/b.png", "sub/deeper/c.png"]
    img = Image.open(out / "sub" / "b.png")
    assert img.mode == "RGBA" and img.size == (90, 60)
    assert "3 done, 0 skipped, 0 failed" in res.output


def test_existing_outputs_need_a_decision(run, tree, tmp_path):
    out = tmp_path / "out"
    assert run("remove", str(tree), "-o", str(out)).exit_code == 0
    before = (out / "a.png").stat().st_mtime_ns
    res = run("remove", str(tree), "-o", str(out))
    assert res.exit_code == 1 and "output.exists" in res.output
    assert (out / "a.png").stat().st_mtime_ns == before
    res = run("remove", str(tree), "-o", str(out), "--skip-existing")
    assert res.exit_code == 0 and "0 done, 3 skipped" in res.output
    res = run("remove", str(tree), "-o", str(out), "--overwrite")
    assert res.exit_code == 0 and "3 done" in res.output
    assert run("remove", str(tree), "-o", str(out), "--overwrite", "--skip-existing").exit_code == 2


def test_bad_files_do_not_stop_the_batch(run, tree, tmp_path):
    (tree / "empty.png").write_bytes(b"")
    (tree / "text.png").write_text("hello")
    good = io.BytesIO()
    square_image().save(good, "JPEG")
    (tree / "truncated.jpg").write_bytes(good.getvalue()[:200])
    out = tmp_path / "out"
    res = run("remove", str(tree), "-o", str(out))
    assert res.exit_code == 1
    assert "3 done, 0 skipped, 3 failed" in res.output
    for code in ("input.empty", "input.undecodable"):
        assert code in res.output
    assert "Traceback" not in res.output
    assert not (out / "empty.png").exists() and not (out / "text.png").exists()
    assert not list(out.rglob("*.part"))


def test_never_writes_over_an_input(run, tmp_path):
    p = tmp_path / "x.png"
    square_image().save(p)
    before = p.read_bytes()
    res = run("remove", str(p), "-o", str(p), "--overwrite")
    assert res.exit_code == 1 and "output.is-input" in res.output
    assert p.read_bytes() == before


def test_single_file_to_named_output_and_default_location(run, tmp_path):
    p = tmp_path / "photo.jpg"
    square_image().save(p)
    assert run("remove", str(p), "-o", str(tmp_path / "cut.webp"), "-f", "webp").exit_code == 0
    assert Image.open(tmp_path / "cut.webp").format == "WEBP"
    assert run("remove", str(p)).exit_code == 0
    assert (tmp_path / "photo.cutout.png").exists()


def test_glob_input(run, tree, tmp_path):
    out = tmp_path / "g"
    res = run("remove", str(tree / "**" / "*.png"), "-o", str(out))
    assert res.exit_code == 0, res.output
    assert (out / "sub" / "b.png").exists()


def test_stdin_to_stdout(run):
    buf = io.BytesIO()
    square_image().save(buf, "PNG")
    res = CliRunner().invoke(cli.main, ["remove", "-", "-f", "mask"], input=buf.getvalue())
    assert res.exit_code == 0
    mask = Image.open(io.BytesIO(res.stdout_bytes))
    assert mask.mode == "L" and np.asarray(mask)[40, 60] > 240


def test_jpg_and_bg(run, tmp_path):
    p = tmp_path / "p.png"
    square_image().save(p)
    assert run("remove", str(p), "-o", str(tmp_path / "o"), "-f", "jpg", "--bg", "#00ff00").exit_code == 0
    px = np.asarray(Image.open(tmp_path / "o" / "p.jpg"))
    assert px[2, 2, 1] > 240 and px[2, 2, 0] < 20


@pytest.mark.parametrize("args,code", [
    (["-f", "gif"], "options.invalid"),
    (["--bg", "notacolour"], "options.invalid"),
])
def test_bad_options_exit_2(run, tmp_path, args, code):
    p = tmp_path / "p.png"
    square_image().save(p)
    res = run("remove", str(p), *args)
    assert res.exit_code == 2 and code in res.output and "Traceback" not in res.output


def test_missing_input_is_clear(run, tmp_path):
    res = run("remove", str(tmp_path / "nope.jpg"))
    assert res.exit_code == 3 and "input.not-found" in res.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_output_dir_not_writable(run, tmp_path):
    p = tmp_path / "p.png"
    square_image().save(p)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    res = run("remove", str(p), "-o", str(locked / "sub"))
    assert res.exit_code == 1 and "output.not-writable" in res.output


def test_output_path_is_a_file_not_a_folder(run, tree, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    res = run("remove", str(tree), "-o", str(blocker / "out"))
    assert res.exit_code == 1 and "output.not-writable" in res.output
    assert blocker.read_text().startswith("a file")


@pytest.mark.parametrize(("body", "code", "stderr"), [
    ("raise SystemExit(3)", 3, ""),
    ("raise SystemExit('no luck')", 1, "no luck"),
    ("print('out'); return None", 0, ""),
    ("1 / 0", 1, "ZeroDivisionError"),
])
def test_console_script_exit_code_and_report(body, code, stderr):
    """entry() leaves by os._exit: an unexpected error must still show and exit non-zero, never 0."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(f"""
        import alphacut.cli as cli
        def fake_main():
            {body}
        cli.main = fake_main
        cli.entry()
    """)
    proc = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == code, proc.stderr
    assert stderr in proc.stderr


def test_a_batch_asks_for_onnxruntime_threads_that_do_not_spin(run, tree, tmp_path):
    assert run("remove", str(tree), "-o", str(tmp_path / "out")).exit_code == 0
    assert [k.get("spin_wait") for k in run.remover_kwargs] == [False]


def test_fast_refines_masks_of_large_photos_on_a_reduced_decode(run, tree, tmp_path, monkeypatch):
    from alphacut import batch
    from alphacut.options import FAST_GUIDE_MIN_PIXELS

    seen = []
    monkeypatch.setattr(batch, "run_batch", lambda remover, jobs, options, **kw: seen.append(options)
                        or batch.BatchSummary())
    assert run("remove", str(tree), "-o", str(tmp_path / "out"), "--fast", "-f", "mask").exit_code == 0
    assert run("remove", str(tree), "-o", str(tmp_path / "out2"), "-f", "mask").exit_code == 0
    assert [o.guide_min_pixels for o in seen] == [FAST_GUIDE_MIN_PIXELS, None]
