"""No telemetry, nothing written: the CLI and the server run with an empty HOME under strace.

onnxruntime opens a telemetry store (~/.cache/Microsoft/DeveloperTools/.onnxruntime/onnxruntime.db)
in every process that creates a session unless ORT_DISABLE_TELEMETRY is set before its import;
runtime/onnx.py sets it. `import openvino` starts openvino-telemetry (a client id under ~/intel and
an "import" event sent) through its model converter; runtime/openvino.py imports openvino with the
converter blocked. These tests run real processes (the real runtimes, a tiny model) on each runtime
and assert that HOME stays empty and that no socket reaches anything but loopback; a control test
shows that a plain `import openvino` does write under HOME, so the check can fail.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ..conftest import encoded, square_image

STRACE = shutil.which("strace")
INET = re.compile(r"\b(socket|connect|bind)\(.*?(AF_INET6?)\b(.*)")


def _strace_works() -> str | None:
    if STRACE is None:
        return "strace is not installed (`make test` installs it: apt-get install strace)"
    probe = subprocess.run([STRACE, "-f", "-o", os.devnull, "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        return f"strace can't trace here (no ptrace permission?): {probe.stderr.decode()[-200:]}"
    return None


pytestmark = pytest.mark.skipif(_strace_works() is not None, reason=str(_strace_works()))


def _openvino_missing() -> str:
    try:
        import importlib.util

        return "" if importlib.util.find_spec("openvino") is not None else "openvino is not installed"
    except (ImportError, ValueError) as exc:
        return str(exc)


#: Both runtimes; OpenVINO's cases skip (saying why) where it has no wheel.
RUNTIMES = ["onnxruntime", pytest.param("openvino", marks=pytest.mark.skipif(
    bool(_openvino_missing()), reason=_openvino_missing() or "-"))]


@pytest.fixture
def sandbox(tmp_path: Path, tiny_onnx: Path) -> dict[str, object]:
    """An empty HOME, a private ALPHACUT_HOME holding only the tiny model, no ORT_DISABLE_TELEMETRY."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALPHACUT_", "XDG_", "ORT_"))}
    env.update(HOME=str(home), ALPHACUT_HOME=str(tmp_path / "cache"), ALPHACUT_CONFIG=str(tmp_path / "no.toml"),
               ALPHACUT_OFFLINE="1", PYTHONDONTWRITEBYTECODE="1")
    cli = [sys.executable, "-m", "alphacut.cli"]
    added = subprocess.run([*cli, "models", "add", "tiny", str(tiny_onnx), "--input-size", "64", "--mean",
                            "0.5,0.5,0.5", "--std", "1,1,1"], env=env, capture_output=True, text=True, check=False)
    assert added.returncode == 0, added.stderr
    image = tmp_path / "in.png"
    image.write_bytes(encoded(square_image(), "PNG"))
    return {"env": env, "home": home, "cli": cli, "image": image, "tmp": tmp_path}


def _written_under(home: Path) -> list[str]:
    return sorted(str(p.relative_to(home)) for p in home.rglob("*"))


def _inet_calls(trace: Path) -> list[str]:
    """The IP-socket syscalls of every traced process, without their pid prefix."""
    return [m.group(0).strip() for m in map(INET.search, trace.read_text().splitlines()) if m]


def _is_loopback(call: str) -> bool:
    return 'inet_addr("127.' in call or 'inet_pton(AF_INET6, "::1"' in call


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_cli_writes_nothing_to_home_and_opens_no_network_socket(sandbox: dict[str, object], runtime: str) -> None:
    tmp, home = Path(str(sandbox["tmp"])), Path(str(sandbox["home"]))
    trace, out = tmp / "cli.trace", tmp / "out.png"
    run = subprocess.run([STRACE or "strace", "-f", "-qq", "-e", "trace=socket,connect,bind", "-o", str(trace),
                          *sandbox["cli"], "-v", "remove", str(sandbox["image"]), "-o", str(out), "-m", "tiny",  # type: ignore[misc]
                          "--runtime", runtime],
                         env=sandbox["env"], capture_output=True, text=True, check=False, timeout=300)
    assert run.returncode == 0, run.stderr
    assert out.is_file()  # the session really ran
    assert f"{runtime} " in run.stderr and "loaded" in run.stderr  # on the runtime asked for (its INFO line)
    assert _written_under(home) == []  # no ~/.cache/Microsoft/DeveloperTools/.onnxruntime/onnxruntime.db
    assert _inet_calls(trace) == []  # an offline cutout opens no IP socket at all


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT to strace and the server it traces (strace alone would detach and leave the server
    running), then wait until every process of the group is gone (SIGKILL after 30 s)."""
    pgid = proc.pid
    try:
        os.killpg(pgid, signal.SIGINT)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        proc.poll()
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.killpg(pgid, signal.SIGKILL)
    proc.wait(timeout=30)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_server_writes_nothing_to_home_and_talks_only_to_loopback(sandbox: dict[str, object], runtime: str) -> None:
    tmp, home = Path(str(sandbox["tmp"])), Path(str(sandbox["home"]))
    trace, port = tmp / "serve.trace", _free_port()
    proc = subprocess.Popen([STRACE or "strace", "-f", "-qq", "-e", "trace=socket,connect,bind", "-o", str(trace),
                             *sandbox["cli"], "serve", "--port", str(port), "--workers", "1", "-m", "tiny",  # type: ignore[misc]
                             "--runtime", runtime],
                            env=sandbox["env"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)  # strace and the server in one group: both get the SIGINT
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            if proc.poll() is not None:
                pytest.fail(f"the server exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the server never became ready")
        request = urllib.request.Request(f"{base}/v1/remove", data=Path(str(sandbox["image"])).read_bytes(),
                                         headers={"Content-Type": "image/png"})
        with urllib.request.urlopen(request, timeout=60) as r:
            assert r.status == 200 and r.read(8) == b"\x89PNG\r\n\x1a\n"
    finally:
        _stop_group(proc)
    assert _written_under(home) == []
    calls = _inet_calls(trace)
    assert any(c.startswith("bind(") for c in calls), calls  # the trace did see the server's own socket
    assert all(_is_loopback(c) for c in calls if c.startswith(("connect(", "bind("))), calls


@pytest.mark.parametrize(("preset", "expected"), [(None, "1"), ("0", "0"), ("1", "1")])
def test_telemetry_variable_is_set_before_onnxruntime_unless_the_user_set_it(preset: str | None,
                                                                            expected: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    if preset is not None:
        env["ORT_DISABLE_TELEMETRY"] = preset
    code = ("import os, sys; from alphacut.runtime.onnx import available_providers; "
            "assert 'onnxruntime' not in sys.modules; available_providers(); "
            "print(os.environ['ORT_DISABLE_TELEMETRY'])")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == expected


@pytest.mark.skipif(bool(_openvino_missing()), reason=_openvino_missing() or "-")
def test_control_a_plain_openvino_import_does_write_under_home(sandbox: dict[str, object]) -> None:
    """Without alphacut's guard, `import openvino` writes openvino-telemetry's files under HOME (and
    would send an event): what the tests above would catch. Telemetry's CI switch is cleared here."""
    home = Path(str(sandbox["home"]))
    env = {k: v for k, v in dict(sandbox["env"]).items() if k not in ("CI", "TF_BUILD", "JENKINS_URL")}  # type: ignore[call-overload]
    run = subprocess.run([sys.executable, "-c", "import openvino"], env=env, capture_output=True, text=True,
                         check=False, timeout=120)
    assert run.returncode == 0, run.stderr
    assert _written_under(home) != [], "openvino no longer writes under HOME on import: simplify runtime/openvino.py"


@pytest.mark.skipif(bool(_openvino_missing()), reason=_openvino_missing() or "-")
def test_openvino_telemetry_is_never_imported() -> None:
    code = ("import sys; from alphacut.runtime.openvino import openvino_version; openvino_version(); "
            "import openvino; assert 'openvino_telemetry' not in sys.modules, 'telemetry imported'; "
            "assert 'openvino.tools.ovc' not in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
