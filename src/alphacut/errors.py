"""The alphacut error tree: stable codes, exit codes and HTTP statuses in one place.

Every error the library raises on purpose is an :class:`AlphacutError`. Its ``code`` is stable
(tests and API clients match on it); its message says what was wrong, and ``hint`` what to do.
Foreign exceptions are translated at one seam each (``io/decode.py``, ``runtime/onnx.py``,
``models/store.py``) with ``raise ... from exc``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import ClassVar

__all__ = [
    "AlphacutError",
    "BackendError",
    "InputError",
    "ModelError",
    "OptionsError",
    "OutputError",
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
        if http_status is not None:
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


def suggest(name: str, choices: Iterable[str]) -> str | None:
    """Return a 'did you mean' hint for an unknown name, or None."""
    def score(choice: str) -> float:
        # also against the choice's start, so 'isnet-genral' finds 'isnet-general-use-fp16'
        head = choice[: len(name) + 1]
        return max(difflib.SequenceMatcher(None, name, choice).ratio(),
                   difflib.SequenceMatcher(None, name, head).ratio() - 0.05)

    ranked = sorted(((score(c), c) for c in choices), reverse=True)
    return f"Did you mean '{ranked[0][1]}'?" if ranked and ranked[0][0] >= 0.6 else None
