"""Issue 23, the CLI side: bounded reads (--max-bytes), the memory estimate (--max-memory), odd inputs."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from alphacut.io.decode import read_bounded

from ..conftest import encoded, square_image

PNG = encoded(square_image(), "PNG")


class Endless:
    """A stream like /dev/zero that counts what was taken from it."""

    def __init__(self) -> None:
        self.given = 0

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            raise MemoryError("read() of everything: exactly what must not happen")
        self.given += n
        return b"\0" * n

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    @property
    def closed(self) -> bool:
        return False

    def flush(self) -> None:
        pass


# ---------------------------------------------------------------- 7: bounded input everywhere
def test_read_bounded_stops_at_the_limit() -> None:
    stream = Endless()
    with pytest.raises(Exception) as exc:
        read_bounded(stream, 3 << 20, "stdin")  # type: ignore[arg-type]
    assert getattr(exc.value, "code", None) == "input.file-too-large"
    assert stream.given <= (3 << 20) + 1


def test_stdin_is_read_through_max_bytes(run: Any) -> None:
    stream = Endless()
    result = run("remove", "-", "-o", "-", "--max-bytes", "2M", input=stream)  # type: ignore[arg-type]
    assert result.exit_code == 3, result.output
    assert "input.file-too-large" in result.output and "2,097,152 bytes" in result.output
    assert stream.given <= (2 << 20) + 1


def test_a_file_over_max_bytes_is_refused_before_reading(run: Any, tmp_path: Path) -> None:
    big = tmp_path / "sparse.jpg"
    with open(big, "wb") as fh:  # 3 GB that take no disk
        fh.truncate(3 * 1024**3)
    result = run("remove", str(big), "-o", str(tmp_path / "out.png"))
    assert result.exit_code == 1 and "input.file-too-large" in result.output, result.output
    assert "419,430,400 bytes" in result.output  # the default limit, named
    small = tmp_path / "a.png"
    small.write_bytes(PNG)
    assert run("remove", str(small), "-o", str(tmp_path / "b.png"), "--max-bytes", "100").exit_code == 1
    assert run("remove", str(small), "-o", str(tmp_path / "c.png")).exit_code == 0


# ---------------------------------------------------------------- 12: a FIFO or /dev/zero is not "empty"
def test_a_fifo_is_read_and_dev_zero_is_too_large(run: Any, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(PNG))
    writer.start()
    result = run("remove", str(fifo), "-o", str(tmp_path / "out"))
    writer.join(10)
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "out" / "pipe.png") as im:
        assert im.size == (120, 80)
    zero = run("remove", "/dev/zero", "-o", str(tmp_path / "z"), "--max-bytes", "1M")
    assert zero.exit_code == 1 and "input.file-too-large" in zero.output and "empty" not in zero.output


# ---------------------------------------------------------------- 9: float TIFFs outside 0..1
def test_float_tiff_outside_0_1_is_refused(run: Any, tmp_path: Path) -> None:
    a = np.full((80, 120), 1000.0, np.float32)
    a[20:60, 30:90] = 255_000.0
    Image.fromarray(a, "F").save(tmp_path / "f.tif")
    result = run("remove", str(tmp_path / "f.tif"), "-o", str(tmp_path / "out.png"))
    assert result.exit_code == 1 and "input.undecodable" in result.output and "255000" in result.output
    ok = np.full((80, 120), 0.9, np.float32)
    ok[20:60, 30:90] = 0.1
    Image.fromarray(ok, "F").save(tmp_path / "ok.tif")
    assert run("remove", str(tmp_path / "ok.tif"), "-o", str(tmp_path / "ok.png")).exit_code == 0


# ---------------------------------------------------------------- 1: the CLI checks the estimate
def test_cli_checks_the_memory_estimate(run: Any, tmp_path: Path) -> None:
    src = tmp_path / "a.png"
    src.write_bytes(PNG)
    result = run("remove", str(src), "-o", str(tmp_path / "out.png"), "--max-memory", "100M")
    assert result.exit_code == 1 and "input.too-costly" in result.output, result.output
    assert "--max-memory" in result.output and "100 MiB" in result.output
    stdin = run("remove", "-", "-o", "-", "--max-memory", "100M", input=PNG)
    assert stdin.exit_code == 3 and "input.too-costly" in stdin.output
    assert run("remove", str(src), "-o", str(tmp_path / "ok.png"), "--max-memory", "4G").exit_code == 0


# ---------------------------------------------------------------- 8: an output folder inside the input folder
def test_output_inside_the_input_folder_is_not_cut_again(run: Any, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.png").write_bytes(PNG)
    (tree / "sub" / "b.png").write_bytes(PNG)
    first = run("remove", str(tree), "-o", str(tree / "out"))
    assert first.exit_code == 0, first.output
    again = run("remove", str(tree), "-o", str(tree / "out"), "--skip-existing")
    assert again.exit_code == 0 and "0 done, 2 skipped" in again.output, again.output
    assert not (tree / "out" / "out").exists()
    made = sorted(p.relative_to(tree).as_posix() for p in (tree / "out").rglob("*.png"))
    assert made == ["out/a.png", "out/sub/b.png"]


# ---------------------------------------------------------------- 12: one rule for symbolic links
def test_links_are_followed_within_the_folder_only_and_skips_are_reported(run: Any, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(PNG)
    tree = tmp_path / "tree"
    (tree / "real").mkdir(parents=True)
    (tree / "real" / "a.png").write_bytes(PNG)
    (tree / "inner.png").symlink_to(tree / "real" / "a.png")  # a file link inside: followed (same file: once)
    (tree / "b.png").write_bytes(PNG)
    (tree / "alias.png").symlink_to(tree / "b.png")
    (tree / "out_file.png").symlink_to(outside / "secret.png")  # leaves the tree: skipped, reported
    (tree / "out_dir").symlink_to(outside, target_is_directory=True)  # leaves the tree: skipped, reported
    (tree / "in_dir").symlink_to(tree / "real", target_is_directory=True)  # inside: its target is walked anyway
    result = run("remove", str(tree), "-o", str(tmp_path / "cut"))
    assert result.exit_code == 0, result.output
    assert "out_file.png is a link to a file outside" in result.output
    assert "out_dir is a link to a folder outside" in result.output
    assert "2 done, 2 skipped" in result.output, result.output
    made = sorted(p.relative_to(tmp_path / "cut").as_posix() for p in (tmp_path / "cut").rglob("*.png"))
    assert len(made) == 2 and not any("secret" in m or m.startswith(("out_dir", "in_dir")) for m in made)


# ---------------------------------------------------------------- 12: outputs are fsynced before the rename
def test_write_atomic_syncs_before_renaming(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from alphacut.io import files

    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(files.os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(files.os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    files.write_atomic(tmp_path / "x.png", b"data")
    assert events[:2] == ["fsync", "replace"] and events.count("fsync") == 2  # the file, then its folder
    assert (tmp_path / "x.png").read_bytes() == b"data"
