"""`alphacut remove --ray` and alphacut.distributed against a real two-node Ray cluster.

The module starts the cluster itself: a head node (1 CPU, ALPHACUT_HOME with the tiny test model)
and a worker node (1 CPU, its own empty ALPHACUT_HOME, offline), both on this machine, with a token
of their own (Ray's token authentication), and tears it down after, killing only the processes
that carry this run's marker in their environment. The tiny ONNX model of tests/unit/conftest.py
stands in for ISNet: what is tested here is the distribution, not the matte.
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ..unit.conftest import make_tiny_onnx, square_image

pytest.importorskip("ray", reason="the ray extra is not installed: pip install 'alphacut[ray]' (make test does)")
pytestmark = [pytest.mark.ray, pytest.mark.timeout(900)]

BIN = Path(sys.executable).parent
MODEL = "tiny-test"
N_IMAGES = 40


@dataclass
class Cluster:
    address: str
    env: dict[str, str]  # for drivers: the token, the marker, the head's ALPHACUT_HOME
    head_home: Path
    worker_home: Path
    worker_node: str
    base: Path
    tiny: Path


def _ray_processes(marker: str) -> list[int]:
    """Pids of the processes this module's cluster started (they inherit the marker variable)."""
    pids = []
    needle = f"ALPHACUT_TEST_CLUSTER={marker}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def _stop(marker: str) -> None:
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 2.0)):
        for pid in _ray_processes(marker):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        while _ray_processes(marker) and time.monotonic() < deadline:
            time.sleep(0.2)


def _ray_start(args: list[str], env: dict[str, str]) -> str:
    res = subprocess.run([str(BIN / "ray"), "start", *args, "--disable-usage-stats"], check=False, env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout + res.stderr


@pytest.fixture(scope="module")
def cluster():
    from alphacut.models.store import ModelStore

    base = Path(tempfile.mkdtemp(prefix="acray", dir="/tmp"))  # short: Ray's socket paths are limited
    marker = secrets.token_hex(8)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "ALPHACUT_"))}
    # worker_niceness 0: Ray's default (15) starves the test's workers on a machine busy with other work
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(16), ALPHACUT_TEST_CLUSTER=marker,
               RAY_USAGE_STATS_ENABLED="0", RAY_worker_niceness="0", PATH=f"{BIN}:{env.get('PATH', '')}")
    head_home, worker_home = base / "head-home", base / "worker-home"
    tiny = make_tiny_onnx(base / "tiny.onnx")
    ModelStore(head_home).add(MODEL, tiny, input_size=64, mean=(0.5, 0.5, 0.5), std=(1.0, 1.0, 1.0))
    try:
        out = _ray_start(["--head", "--port=0", "--num-cpus=1", "--include-dashboard=false",
                          f"--temp-dir={base / 'rh'}"], {**env, "ALPHACUT_HOME": str(head_home)})
        address = re.search(r"ray start --address='([^']+)'", out)
        assert address, out
        _ray_start([f"--address={address[1]}", "--num-cpus=1", '--resources={"alphacut_test_worker": 1}',
                    f"--temp-dir={base / 'rw'}"],
                   {**env, "ALPHACUT_HOME": str(worker_home), "ALPHACUT_OFFLINE": "1"})
        script = (f"import json, ray; ray.init(address={address[1]!r}, logging_level='ERROR'); "
                  "print(json.dumps([n['NodeID'] for n in ray.nodes() if n['Alive'] and "
                  "n['Resources'].get('alphacut_test_worker')]))")
        probe = subprocess.run(
            [sys.executable, "-c", script],
            check=False, env=env, capture_output=True, text=True, timeout=300)
        worker = json.loads(probe.stdout.strip().splitlines()[-1])
        assert len(worker) == 1, probe.stdout + probe.stderr
        yield Cluster(address[1], {**env, "ALPHACUT_HOME": str(head_home)}, head_home, worker_home, worker[0],
                      base, tiny)
    finally:
        _stop(marker)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def tree(cluster):
    """N_IMAGES images in nested folders, and one file that is not an image."""
    root = cluster.base / "in"
    for i in range(N_IMAGES):
        folder = root / ("" if i % 3 == 0 else "a" if i % 3 == 1 else "a/b")
        folder.mkdir(parents=True, exist_ok=True)
        square_image(360 + 7 * i, 280 + 5 * i, fg=(10 + i, 40, 180)).save(folder / f"img{i:02d}.png")
    (root / "a" / "broken.png").write_bytes(b"not an image")
    return root


def alphacut(cluster: Cluster, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "alphacut"), *args], check=False, env=env or cluster.env, capture_output=True,
                          text=True, timeout=600)


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def node_lines(stderr: str) -> dict[str, int]:
    """{node id prefix: images} from the summary's `node IP (ID): N images` lines."""
    return {m[1]: int(m[2]) for m in re.finditer(r"^node \S+ \((\w+)\): (\d+) images", stderr, re.MULTILINE)}


@pytest.fixture(scope="module")
def local_out(cluster, tree):
    out = cluster.base / "out-local"
    res = alphacut(cluster, "remove", str(tree), "-o", str(out), "-m", MODEL, "--layers")
    assert res.returncode == 1, res.stderr  # the broken file
    return out


def test_same_files_as_local_batch_work_on_the_worker_and_model_fetched_there(cluster, tree, local_out):
    out = cluster.base / "out-ray"
    res = alphacut(cluster, "remove", str(tree), "-o", str(out), "-m", MODEL, "--layers", "--ray", cluster.address)
    assert res.returncode == 1, res.stderr
    assert files(out) == files(local_out)  # same names, folders and bytes; layers too
    assert len([k for k in files(out) if ".subject-" not in k]) == N_IMAGES
    assert re.search(r"failed: \S*broken\.png: input\.undecodable", res.stderr)
    assert f"{N_IMAGES} done, 0 skipped, 1 failed" in res.stderr
    per_node = node_lines(res.stderr)
    assert per_node.get(cluster.worker_node[:8], 0) > 0, res.stderr  # the worker node cut some out
    assert sum(per_node.values()) == N_IMAGES + 1
    # the worker node fetched the model from its source into its own cache, verified, once
    fetched = cluster.worker_home / "models" / f"{MODEL}.onnx"
    assert fetched.read_bytes() == cluster.tiny.read_bytes()
    assert (cluster.worker_home / "models" / f"{MODEL}.onnx.verified").is_file()


def test_uris_through_pyarrow_filesystems(cluster, tree, local_out):
    """SRC and DST as URIs (here file://, the same code path as s3:// up to pyarrow's filesystem)."""
    out = cluster.base / "out-uri"
    res = alphacut(cluster, "remove", f"file://{tree}", "-o", f"file://{out}", "-m", MODEL, "--layers",
                   "--ray", cluster.address)
    assert res.returncode == 1, res.stderr
    assert f"{N_IMAGES} done, 0 skipped, 1 failed" in res.stderr
    assert files(out) == files(local_out)


def test_existing_outputs_skip_existing_and_overwrite_as_the_local_batch(cluster, tree, local_out):
    out = cluster.base / "out-rerun"
    shutil.copytree(local_out, out)
    gone = [p for p in sorted(out.rglob("img*.png")) if ".subject-" not in p.name][:3]
    for p in gone:
        p.unlink()
    res = alphacut(cluster, "remove", str(tree), "-o", str(out), "-m", MODEL, "--ray", cluster.address)
    assert res.returncode == 1
    assert res.stderr.count("output.exists") == N_IMAGES - 3  # each existing one is a listed failure
    assert f"3 done, 0 skipped, {N_IMAGES - 3 + 1} failed" in res.stderr
    for p in gone:
        p.unlink()
    res = alphacut(cluster, "remove", str(tree), "-o", str(out), "-m", MODEL, "--skip-existing",
                   "--ray", cluster.address)
    assert res.returncode == 1, res.stderr
    assert f"3 done, {N_IMAGES - 3} skipped, 1 failed" in res.stderr
    assert files(out) == files(local_out)
    res = alphacut(cluster, "remove", str(tree / "a"), "-o", str(out / "a"), "-m", MODEL, "--overwrite",
                   "--ray", cluster.address)
    assert res.returncode == 1 and re.search(r"\d+ done, 0 skipped, 1 failed", res.stderr), res.stderr


def test_a_killed_worker_is_retried_and_nothing_is_lost(cluster, tree, local_out):
    out = cluster.base / "out-kill"
    proc = subprocess.Popen([str(BIN / "alphacut"), "remove", str(tree), "-o", str(out), "-m", MODEL,
                             "--ray", cluster.address], env=cluster.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    killed: list[int] = []
    deadline = time.monotonic() + 600
    while not killed and proc.poll() is None and time.monotonic() < deadline:
        # Ray titles an actor process running a batch `ray::MapWorker(MapBatches(Cutter)).submit`
        busy = [pid for pid in _ray_processes(cluster.env["ALPHACUT_TEST_CLUSTER"])
                if b"Cutter)).submit" in _cmdline(pid)]
        if busy:
            done_at_kill = len(list(out.rglob("*.png"))) if out.is_dir() else 0
            os.kill(busy[0], signal.SIGKILL)  # an actor mid-batch: what it had in flight must be redone
            killed.append(busy[0])
        time.sleep(0.05)
    _, stderr = proc.communicate(timeout=600)
    assert killed, f"no actor was found running to kill: {stderr}"
    assert done_at_kill < N_IMAGES, "the job ended before the kill; nothing was tested"
    assert proc.returncode == 1, stderr  # the broken file only
    assert f"{N_IMAGES} done, 0 skipped, 1 failed" in stderr
    want = {k: v for k, v in files(local_out).items() if ".subject-" not in k}
    assert files(out) == want  # every image, whole, and no temp file left


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


LIBRARY_DRIVER = """
import pickle, sys
from pathlib import Path
import ray
from alphacut.config import load_settings
from alphacut.distributed import remove_dataset

address, tree, home, dump = sys.argv[1:]
ray.init(address=address, logging_level="ERROR")
ds = ray.data.read_binary_files(tree, include_paths=True)
out = remove_dataset(ds, model="tiny-test", with_matte=True, settings=load_settings({"home": Path(home)}))
Path(dump).write_bytes(pickle.dumps(out.take_all()))
"""


def test_remove_dataset_in_a_ray_data_pipeline(cluster, tree, local_out):
    import pickle

    dump = cluster.base / "rows.pickle"
    res = subprocess.run([sys.executable, "-c", LIBRARY_DRIVER, cluster.address, str(tree), str(cluster.head_home),
                          str(dump)], check=False, env=cluster.env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    rows = pickle.loads(dump.read_bytes())
    assert len(rows) == N_IMAGES + 1
    want = files(local_out)
    for row in rows:
        rel = str(Path(row["path"]).relative_to(tree))
        if rel.endswith("broken.png"):
            assert row["error_code"] == "input.undecodable" and row["cutout"] is None
            continue
        assert row["error_code"] is None, row["error_message"]
        assert row["cutout"] == want[rel]
        matte = Image.open(io.BytesIO(row["matte"]))
        cut = Image.open(io.BytesIO(row["cutout"]))
        assert matte.mode == "L" and matte.size == cut.size
        assert np.array_equal(np.asarray(matte), np.asarray(cut)[..., 3])
        assert row["node_id"] and row["seconds"] > 0


def test_a_node_that_cannot_get_the_model_fails_the_job_early_named(cluster, tree):
    driver_home = cluster.base / "driver-home"
    driver_home.mkdir()
    (driver_home / "models.toml").write_text(
        '[[model]]\nid = "net-unreachable"\ndescription = "t"\nlicence = "none"\n'
        f'checksum = "sha256:{"0" * 64}"\ninput_size = 64\nmean = [0.5, 0.5, 0.5]\nstd = [1.0, 1.0, 1.0]\n'
        'sources = [{kind = "url", url = "http://127.0.0.1:9/net.onnx"}]\n', encoding="utf-8")
    out = cluster.base / "out-none"
    res = alphacut(cluster, "remove", str(tree), "-o", str(out), "-m", "net-unreachable", "--ray",
                   cluster.address, env={**cluster.env, "ALPHACUT_HOME": str(driver_home)})
    assert res.returncode == 4, res.stderr
    assert "model.unavailable-on-node" in res.stderr
    line = next(x for x in res.stderr.split(";") if cluster.worker_node[:12] in x)
    assert "offline" in line and str(cluster.worker_home) in line
    assert not out.exists()  # failed before any image was sent
