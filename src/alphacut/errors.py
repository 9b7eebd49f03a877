"""The alphacut error tree: stable codes, exit codes and HTTP statuses in one place.

Every error the library raises on purpose is an :class:`AlphacutError`. Its ``code`` is stable
(tests and API clients match on it); its message says what was wrong, and ``hint`` what to do.
Foreign exceptions are translated at one seam each (``io/read.py`` and ``io/decode.py`` for Pillow,
``runtime/onnx.py``, ``models/store.py``) with ``raise ... from exc``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import ClassVar

__all__ = [
    "CODES",
    "AlphacutError",
    "BackendError",
    "InputError",
    "ModelError",
    "OptionsError",
    "OutputError",
    "ServerError",
    "error_for",
    "suggest",
]


class AlphacutError(Exception):
    """Base of every error alphacut raises on purpose."""

    exit_code: ClassVar[int] = 1
    http_status: ClassVar[int] = 500

    def __init__(self, code: str, message: str, *, hint: str | None = None,
                 http_status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint
        listed = CODES.get(code)
        if listed is not None:  # the table is the one place a code's HTTP status is decided
            self.http_status = listed[1]  # type: ignore[misc]
        elif http_status is not None:
            self.http_status = http_status  # type: ignore[misc]

    def __str__(self) -> str:
        text = f"{self.code}: {self.message}"
        if self.hint:
            text += f" {self.hint}"
        return text

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "hint": self.hint}


class OptionsError(AlphacutError):
    """An option value is invalid (options.invalid, options.conflict)."""

    exit_code = 2
    http_status = 400


class InputError(AlphacutError):
    """The input image can't be used (input.undecodable, input.too-large, input.empty, ...)."""

    exit_code = 3
    http_status = 400


class ModelError(AlphacutError):
    """The model can't be had (model.unknown, model.not-cached, model.hash-mismatch, ...)."""

    exit_code = 4
    http_status = 503


class BackendError(AlphacutError):
    """The inference backend failed (backend.provider-unavailable, backend.run-failed, ...)."""

    exit_code = 5
    http_status = 500


class OutputError(AlphacutError):
    """A result can't be written (output.exists, output.not-writable, output.is-input)."""

    exit_code = 6
    http_status = 500


class ServerError(AlphacutError):
    """An HTTP-level refusal of the local server (auth, overload, timeout, a bad request body).

    It never reaches the CLI; `headers` go out with the answer (Retry-After) and `field_name`
    names the request field at fault (remove.bg's error codes are derived from it).
    """

    def __init__(self, code: str, message: str, *, hint: str | None = None, http_status: int | None = None,
                 headers: Mapping[str, str] | None = None, field_name: str | None = None) -> None:
        super().__init__(code, message, hint=hint, http_status=http_status)
        self.headers = dict(headers or {})
        self.field_name = field_name


#: Every error code alphacut raises on purpose: code → (error class, HTTP status). The class gives
#: the CLI's exit code; the status is the same wherever the code is raised. Codes are kebab-case,
#: dotted by area: `area.what-went-wrong`. tests/unit/package/test_error_codes.py checks every raise site.
CODES: dict[str, tuple[type[AlphacutError], int]] = {
    # options: a value the user gave (exit 2)
    "options.invalid": (OptionsError, 400),
    "options.conflict": (OptionsError, 400),
    "options.bad-config": (OptionsError, 400),
    "options.too-large": (OptionsError, 400),
    "options.unsupported": (OptionsError, 400),
    "options.fixed-resolution": (OptionsError, 400),  # resolution= on a model that runs at one size only
    "options.roi-empty": (OptionsError, 400),  # Options.roi (--roi, remove.bg's roi): x2 <= x1 or y2 <= y1
    "options.roi-outside": (OptionsError, 400),  # Options.roi: beyond the image (or past 100%)
    "options.video-geometry": (OptionsError, 400),
    # input: the image or a path to read (exit 3)
    "input.undecodable": (InputError, 415),
    "input.empty": (InputError, 415),
    "input.too-large": (InputError, 413),
    "input.file-too-large": (InputError, 413),  # more bytes than --max-bytes (file, stdin, upload, base64)
    "input.too-costly": (InputError, 413),  # its estimated peak memory is above --max-memory (or what is available)
    "input.too-small": (InputError, 422),
    "input.bad-array": (InputError, 400),
    "input.not-found": (InputError, 400),
    "input.unreadable": (InputError, 400),
    "input.is-directory": (InputError, 400),
    "input.invalid": (InputError, 400),
    "input.exists": (InputError, 400),
    "input.missing": (InputError, 400),
    "input.bad-type": (InputError, 400),
    "input.no-face": (InputError, 400),  # id-photo presets: a readable image without a usable face
    "input.many-faces": (InputError, 400),
    "input.symlink-loop": (InputError, 400),
    "input.bad-uri": (InputError, 400),
    "input.no-video": (InputError, 415),
    "input.unsupported-codec": (InputError, 415),
    "input.corrupt": (InputError, 415),
    "eval.not-found": (InputError, 400),
    "eval.size-mismatch": (InputError, 400),
    "eval.empty-set": (InputError, 400),
    "eval.missing-prediction": (InputError, 400),
    "bench.peers-missing": (InputError, 400),
    # model: the weights can't be had (exit 4)
    "model.unknown": (ModelError, 503),
    "model.not-cached": (ModelError, 503),
    "model.hash-mismatch": (ModelError, 503),
    "model.bad-catalog": (ModelError, 503),
    "model.bad-file": (ModelError, 503),
    "model.bad-id": (ModelError, 503),
    "model.fetch-failed": (ModelError, 503),
    "model.transform-failed": (ModelError, 503),
    "model.unknown-transform": (ModelError, 503),
    "model.not-served": (ModelError, 404),  # GET /model/ID.onnx for a model not cached and verified here
    "model.unavailable-on-node": (ModelError, 503),
    "model.not-a-file": (ModelError, 503),
    "model.wrong-task": (ModelError, 400),  # the id-photo face landmark model asked for as a background remover
    # backend: inference itself (exit 5)
    "backend.missing": (BackendError, 500),
    "backend.missing-extra": (BackendError, 500),
    "backend.load-failed": (BackendError, 500),
    "backend.run-failed": (BackendError, 500),
    "backend.bad-model": (BackendError, 500),
    "backend.bad-input-size": (BackendError, 500),
    "backend.provider-unavailable": (BackendError, 500),
    "backend.ray-unreachable": (BackendError, 500),
    "backend.ray-failed": (BackendError, 500),
    # output: writing a result (exit 6)
    "output.exists": (OutputError, 500),
    "output.not-writable": (OutputError, 500),
    "output.is-input": (OutputError, 500),
    "output.collision": (OutputError, 500),
    "output.is-directory": (OutputError, 500),
    "output.name-too-long": (OutputError, 500),
    "output.incomplete": (OutputError, 500),
    "output.encode-failed": (OutputError, 500),
    # video: no frame came out (exit 1)
    "video.empty": (AlphacutError, 500),
    # the server only (never a CLI exit)
    "auth.invalid-key": (ServerError, 403),
    "request.bad-host": (ServerError, 403),
    "request.bad-origin": (ServerError, 403),
    "request.unknown-field": (ServerError, 400),
    "request.bad-multipart": (ServerError, 400),
    "request.bad-json": (ServerError, 400),
    "request.bad-base64": (ServerError, 400),
    "request.multiple-sources": (ServerError, 400),
    "request.url-not-fetched": (ServerError, 400),
    "request.upload-timeout": (ServerError, 408),
    "request.repeated-header": (ServerError, 400),  # two X-Api-Key headers: which one counts would be a guess
    "request.method-not-allowed": (ServerError, 405),
    "server.overloaded": (ServerError, 503),
    "server.memory-busy": (ServerError, 503),  # the memory budget is taken by requests in flight: retry
    "request.too-many-fields": (ServerError, 400),
    "request.client-gone": (ServerError, 400),  # the client hung up mid-upload (nobody reads the answer)
    "server.loading": (ServerError, 503),
    "server.load-failed": (ServerError, 503),
    "server.timeout": (ServerError, 504),
    "server.internal": (ServerError, 500),
}


def error_for(code: str, message: str, *, hint: str | None = None) -> AlphacutError:
    """An error of the class the table gives `code` (e.g. re-raising a load failure by its code)."""
    cls = CODES[code][0] if code in CODES else AlphacutError
    return cls(code, message, hint=hint)


def suggest(name: str, choices: Iterable[str]) -> str | None:
    """Return a 'did you mean' hint for an unknown name, or None."""
    def score(choice: str) -> float:
        # also against the choice's start, so 'isnet-genral' finds 'isnet-general-use-fp16'
        head = choice[: len(name) + 1]
        return max(difflib.SequenceMatcher(None, name, choice).ratio(),
                   difflib.SequenceMatcher(None, name, head).ratio() - 0.05)

    ranked = sorted(((score(c), c) for c in choices), reverse=True)
    return f"Did you mean '{ranked[0][1]}'?" if ranked and ranked[0][0] >= 0.6 else None
