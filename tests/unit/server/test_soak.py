"""Issue 23's soak: a real `alphacut serve` (uvicorn, the tiny test model) on 127.0.0.1 under a mix of good,
bad, slow and huge clients, each a bounded loop that stops by itself (the whole test takes < 60 s).

Asserts: no 500; every good request is 200 or 503 with Retry-After; slow uploads lock nobody out (bodies
before slots, issue item 2); the server's RSS stays under its bound; nothing is left in its temp folder;
its log parses line by line.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("uvicorn")

from ..conftest import encoded, make_tiny_onnx, square_image

RSS_BOUND_MB = 700  # the interpreter, onnxruntime and the tiny model are ~150 MB; every body is capped
READ_TIMEOUT_S = 3
LOG_LINE = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: [^\x00-\x1f\x7f]*$|^alphacut serving on \S+ .*$")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _request(url: str, data: bytes | None = None, headers: dict[str, str] | None = None,
             method: str | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def _multipart(name: str, payload: bytes, fields: dict[str, str] | None = None) -> tuple[bytes, str]:
    boundary = "soakboundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in (fields or {}).items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="a.png"\r\n'
                 f"Content-Type: image/png\r\n\r\n".encode() + payload + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _multipart_two(png: bytes) -> tuple[bytes, dict[str, str]]:
    body, ctype = _multipart("file", png)
    extra, _ = _multipart("bg_image", png)
    return body.replace(b"--soakboundary--\r\n", b"") + extra, {"Content-Type": ctype}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("soak")
    home, tmp = root / "home", root / "tmp"
    tmp.mkdir()
    model = make_tiny_onnx(root / "tiny.onnx")
    env = {**os.environ, "ALPHACUT_HOME": str(home), "ALPHACUT_CONFIG": str(root / "none.toml"), "TMPDIR": str(tmp),
           "ALPHACUT_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    env.pop("ALPHACUT_API_KEY", None)
    cli = [sys.executable, "-m", "alphacut"]
    subprocess.run([*cli, "models", "add", "tiny-soak", str(model), "--input-size", "64", "--mean", "0.5,0.5,0.5",
                    "--std", "1,1,1"], env=env, check=True, capture_output=True, timeout=60)
    port = _free_port()
    log = root / "server.log"
    # the tiny model is not in alphacut.cost's measured table: its estimate is the careful guess for
    # unmeasured models (~0.8 GiB a request), so 4G admits workers + queue at once
    with open(log, "wb") as fh:
        proc = subprocess.Popen([*cli, "serve", "-m", "tiny-soak", "--port", str(port), "--workers", "2", "--queue", "2",
                                 "--threads", "1", "--max-bytes", "2M", "--max-memory", "4G",
                                 "--read-timeout", str(READ_TIMEOUT_S), "--timeout", "20"],
                                env=env, stdout=fh, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if _request(base + "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail("the server did not get ready: " + log.read_text(errors="replace")[-2000:])
        yield {"base": base, "port": port, "proc": proc, "log": log, "tmp": tmp}
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _slow_upload(port: int, seconds: float, results: list[int]) -> None:
    """Declare 100 kB, send a byte every 0.5 s: the server must drop it at --read-timeout (408)."""
    with socket.create_connection(("127.0.0.1", port), timeout=seconds + 10) as s:
        s.sendall(f"POST /v1/remove HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: image/png\r\n"
                  "Content-Length: 100000\r\n\r\n".encode())
        end = time.monotonic() + seconds
        s.settimeout(0.5)
        answer = b""
        while time.monotonic() < end:
            try:
                s.sendall(b"x")
            except OSError:
                break
            try:
                answer += s.recv(4096)
                if answer:
                    break
            except TimeoutError:
                continue
        s.settimeout(10)
        try:
            while b"\r\n" not in answer:
                chunk = s.recv(4096)
                if not chunk:
                    break
                answer += chunk
        except OSError:
            pass
    match = re.match(rb"HTTP/1.1 (\d+)", answer)
    results.append(int(match.group(1)) if match else 0)


def test_soak_good_bad_slow_and_huge_clients(server: dict[str, Any]) -> None:
    base, port, proc = server["base"], server["port"], server["proc"]
    png = encoded(square_image(), "PNG")
    good: list[tuple[int, dict[str, str]]] = []
    bad: list[tuple[str, int, bytes]] = []
    slow: list[int] = []
    rss: list[float] = []
    stop = threading.Event()

    def sample_rss() -> None:
        while not stop.is_set():
            rss.append(_rss_mb(proc.pid))
            time.sleep(0.1)

    def good_client(n: int) -> None:
        for i in range(n):
            body, ctype = _multipart("file", png, {"format": "webp" if i % 2 else "png"})
            status, headers, _ = _request(base + "/v1/remove", body, {"Content-Type": ctype})
            good.append((status, headers))

    bombs = [encoded(square_image(), "PNG")[:16] + (30000).to_bytes(4, "big") * 2 + png[24:]]  # a 900 MP header
    hostile: list[tuple[str, str, bytes, dict[str, str]]] = [
        ("garbage", "/v1/remove", os.urandom(5000), {"Content-Type": "image/png"}),
        ("nested json", "/v1/remove", b'{"a":' + b"[" * 50_000 + b"]" * 50_000 + b"}", {"Content-Type": "application/json"}),
        ("many fields", "/v1/remove", b"&".join(b"f%d=1" % i for i in range(100_000)),
         {"Content-Type": "application/x-www-form-urlencoded"}),
        ("unknown field", "/v1/remove?frobnicate=1", png, {"Content-Type": "image/png"}),
        ("log injection", "/v1/x%0AINFO%20alphacut.server.access:%20forged%1B[31m%00", b"", {}),
        ("resolution", "/v1/remove?resolution=100000", png, {"Content-Type": "image/png"}),
        ("too large", "/v1/remove", b"\0" * (3 << 20), {"Content-Type": "image/png"}),
        ("bomb header", "/v1/remove", bombs[0], {"Content-Type": "image/png"}),
        ("removebg b64 junk", "/v1.0/removebg", b"image_file_b64=%%%%", {"Content-Type": "application/x-www-form-urlencoded"}),
        ("second file part", "/v1/remove", *_multipart_two(png)),
    ]

    def bad_client(rounds: int) -> None:
        for _ in range(rounds):
            for name, path, body, headers in hostile:
                status, _, content = _request(base + path, body or None, headers,
                                              method="POST" if body else "GET")
                bad.append((name, status, content[:300]))

    t0 = time.monotonic()
    sampler = threading.Thread(target=sample_rss, daemon=True)
    sampler.start()
    slow_threads = [threading.Thread(target=_slow_upload, args=(port, READ_TIMEOUT_S + 4, slow)) for _ in range(6)]
    for t in slow_threads:
        t.start()
    time.sleep(1.0)  # the slow uploads are connected and trickling: 6 > workers + queue = 4
    # bodies before slots: while they trickle, a good request is served (it used to be 503 for everyone)
    body, ctype = _multipart("file", png)
    during = _request(base + "/v1/remove", body, {"Content-Type": ctype})
    assert during[0] == 200, during[2][:300]
    workers = [threading.Thread(target=good_client, args=(15,)) for _ in range(3)]
    workers += [threading.Thread(target=bad_client, args=(3,)) for _ in range(2)]
    for t in workers:
        t.start()
    for t in workers + slow_threads:
        t.join(45)
    stop.set()
    sampler.join(5)
    elapsed = time.monotonic() - t0
    assert elapsed < 50, f"the soak took {elapsed:.0f} s"

    assert len(good) == 45
    for status, headers in good:
        assert status == 200 or (status == 503 and "retry-after" in headers), (status, headers)
    assert sum(1 for s, _ in good if s == 200) >= 30
    for name, status, content in bad:  # refused for what they are, or (busy) told to retry: never a 500
        assert 400 <= status < 500 or status == 503, (name, status, content)
    assert sum(1 for _, s, _ in bad if 400 <= s < 500) >= len(hostile)
    assert sorted(set(slow)) == [408], slow
    assert max(rss) < RSS_BOUND_MB, f"peak RSS {max(rss):.0f} MB"

    # the server is still healthy and holds nothing
    ready = json.loads(_request(base + "/readyz")[2])
    assert ready["status"] == "ready" and ready["busy"] == 0 and ready["memory_reserved_bytes"] == 0
    assert ready["memory_budget_bytes"] == 4 * 1024**3
    assert list(server["tmp"].iterdir()) == []
    proc.terminate()
    proc.wait(15)
    lines = server["log"].read_text(encoding="utf-8").splitlines()
    assert lines, "no log at all"
    for line in lines:
        assert LOG_LINE.match(line), repr(line)
    assert not any("Traceback" in line or "unexpected" in line for line in lines)
    assert sum(1 for line in lines if " alphacut.server.access: " in line) >= 45 + len(bad)
