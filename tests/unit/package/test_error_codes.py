"""One list of error codes (errors.CODES): one naming scheme, one class (exit code), one HTTP status each.

Walks the list through the server (status and JSON code per code) and the CLI (exit code per
class), and checks that every code raised anywhere in src/ is in the list with its class.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from alphacut import cli
from alphacut.errors import CODES, AlphacutError, ServerError, error_for

SRC = Path(__file__).resolve().parents[3] / "src" / "alphacut"
RAISE = re.compile(r"\b(\w*Error)\(\s*\"([a-z][a-z0-9_.-]*)\"", re.DOTALL)
NAME = re.compile(r"^[a-z]+(\.[a-z0-9]+(-[a-z0-9]+)*)+$")


def raise_sites() -> list[tuple[str, str, str]]:
    sites = []
    for path in sorted(SRC.rglob("*.py")):
        for m in RAISE.finditer(path.read_text()):
            sites.append((str(path.relative_to(SRC)), m.group(1), m.group(2)))
    return sites


def test_codes_are_kebab_case_dotted() -> None:
    bad = [code for code in CODES if not NAME.match(code)]
    assert bad == []


def test_every_raised_code_is_listed_with_its_class() -> None:
    sites = raise_sites()
    assert len(sites) > 50  # the scan does find the raise sites
    problems = []
    for where, cls, code in sites:
        if code not in CODES:
            problems.append(f"{where}: {cls}({code!r}) is not in errors.CODES")
        elif cls != CODES[code][0].__name__ and not (cls == "ServerError" and where.startswith("server/")):
            problems.append(f"{where}: {cls}({code!r}) but CODES says {CODES[code][0].__name__}")
    assert problems == []


def test_status_comes_from_the_list_whatever_the_raise_site_says() -> None:
    assert AlphacutError("input.undecodable", "x", http_status=400).http_status == 415
    assert error_for("model.not-cached", "x").http_status == 503


@pytest.fixture
def raising_client(tiny_spec: Any) -> Any:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from alphacut.api import Remover
    from alphacut.runtime.fake import FakeBackend
    from alphacut.server.app import create_app
    from alphacut.server.schemas import ServerSettings

    class Raising(Remover):
        code = "options.invalid"

        def cutout(self, *args: Any, **kwargs: Any) -> Any:  # /v1/remove
            raise error_for(self.code, f"{self.code} on purpose", hint="a hint")

        def prepare(self, *args: Any, **kwargs: Any) -> Any:  # /v1.0/removebg's first stage
            raise error_for(self.code, f"{self.code} on purpose", hint="a hint")

    remover = Raising(tiny_spec, backend=FakeBackend(size_hw=(64, 64)))
    with TestClient(create_app(remover, ServerSettings(), model_file=lambda _id: None),
                    base_url="http://127.0.0.1:7000") as client:
        yield client, remover


def test_server_answers_each_code_with_its_one_status(raising_client: Any) -> None:
    client, remover = raising_client
    from ..conftest import encoded, square_image

    png = encoded(square_image(), "PNG")
    for code, (_cls, status) in CODES.items():
        remover.code = code
        r = client.post("/v1/remove", content=png)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code)
        rb = client.post("/v1.0/removebg", files={"image_file": ("a.png", png)})
        assert rb.status_code == status and re.match(r"^[a-z0-9_]+$", rb.json()["errors"][0]["code"])


def test_cli_exits_with_the_class_code_for_each_code() -> None:
    group = cli._Group()

    @group.command()
    @click.argument("code")
    def boom(code: str) -> None:
        raise error_for(code, "on purpose")

    for code, (cls, _status) in CODES.items():
        if cls is ServerError:
            continue  # refusals of the HTTP server, never raised by a CLI command
        result = CliRunner().invoke(group, ["boom", code])
        assert result.exit_code == cls.exit_code and f"error: {code}:" in result.output
    assert {cls.exit_code for cls, _ in CODES.values() if cls is not ServerError} >= {2, 3, 4, 5, 6}


def test_models_verify_mismatch_exits_from_the_error_class(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from alphacut.errors import ModelError
    from alphacut.models.store import ModelStore

    class Result:
        ok = False
        detail = "sha256 differs"

    monkeypatch.setattr(ModelStore, "verify", lambda self, model_id: Result())
    result = CliRunner().invoke(cli.main, ["--home", str(tmp_path), "models", "verify", "some-model"])
    assert result.exit_code == ModelError.exit_code and "model.hash-mismatch" in result.output
