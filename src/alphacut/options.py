"""Typed options: parsed once at the edge (CLI, server, kwargs), plain frozen values inside."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from enum import Enum
from typing import Any

from .errors import OptionsError, suggest

__all__ = ["Color", "Options", "OutputFormat", "DEFAULT_MAX_PIXELS"]

#: Largest image (width x height) decoded by default: a 100 MP photo, well above any camera JPEG
#: users feed a background remover, well below a decompression bomb.
DEFAULT_MAX_PIXELS = 100_000_000

_NAMED_COLORS: dict[str, tuple[int, int, int]] = {
    "white": (255, 255, 255),
    "black": (0, 0, 0),
    "red": (255, 0, 0),
    "green": (0, 128, 0),
    "lime": (0, 255, 0),
    "blue": (0, 0, 255),
    "gray": (128, 128, 128),
    "grey": (128, 128, 128),
    "lightgray": (211, 211, 211),
    "lightgrey": (211, 211, 211),
    "lightblue": (173, 216, 230),
    "yellow": (255, 255, 0),
    "magenta": (255, 0, 255),
    "cyan": (0, 255, 255),
}
_HEX = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")


@dataclass(frozen=True, slots=True)
class Color:
    """An sRGB colour with alpha, 0..255 per channel."""

    r: int
    g: int
    b: int
    a: int = 255

    @classmethod
    def parse(cls, text: str) -> Color:
        """Parse 'white', '#fff', '#ffffff', 'ffffff80' or 'r,g,b[,a]'.

        Example:
            >>> Color.parse("#0a0")
            Color(r=0, g=170, b=0, a=255)
        """
        s = text.strip().lower()
        if s in _NAMED_COLORS:
            return cls(*_NAMED_COLORS[s])
        m = _HEX.match(s)
        if m:
            h = m.group(1)
            if len(h) in (3, 4):
                h = "".join(c * 2 for c in h)
            vals = [int(h[i:i + 2], 16) for i in range(0, len(h), 2)]
            return cls(*vals)
        parts = [p.strip() for p in s.split(",")]
        if len(parts) in (3, 4) and all(p.isdigit() for p in parts):
            vals = [int(p) for p in parts]
            if all(0 <= v <= 255 for v in vals):
                return cls(*vals)
        hint = suggest(s, _NAMED_COLORS) or "Use a name (white, black, ...), #RRGGBB, #RGB or r,g,b."
        raise OptionsError("options.invalid", f"'{text}' is not a colour.", hint=hint)

    @property
    def rgb(self) -> tuple[int, int, int]:
        return (self.r, self.g, self.b)

    def hex(self) -> str:
        tail = "" if self.a == 255 else f"{self.a:02x}"
        return f"#{self.r:02x}{self.g:02x}{self.b:02x}{tail}"


class OutputFormat(str, Enum):
    """What a result is written as."""

    PNG = "png"
    WEBP = "webp"
    JPEG = "jpg"
    MASK = "mask"  # 8-bit greyscale PNG of the alpha matte

    @classmethod
    def parse(cls, text: str) -> OutputFormat:
        s = text.strip().lower().lstrip(".")
        if s == "jpeg":
            s = "jpg"
        for fmt in cls:
            if fmt.value == s:
                return fmt
        raise OptionsError("options.invalid", f"Unknown format '{text}'.",
                           hint=suggest(s, [f.value for f in cls]) or "Use png, webp, jpg or mask.")

    @property
    def extension(self) -> str:
        return ".png" if self is OutputFormat.MASK else f".{self.value}"

    @property
    def has_alpha(self) -> bool:
        return self in (OutputFormat.PNG, OutputFormat.WEBP)


@dataclass(frozen=True, slots=True)
class Options:
    """How one image is cut out and written. Every field has a safe default.

    Args:
        resolution: side of the square the model sees; None uses the model's own size.
        background: fill colour behind the subject; None keeps it transparent.
        format: what the result is written as.
        max_pixels: refuse inputs with more pixels than this (decompression-bomb guard).
        jpeg_quality: quality for JPEG and lossy WebP output.
    """

    resolution: int | None = None
    background: Color | None = None
    format: OutputFormat = OutputFormat.PNG
    max_pixels: int = DEFAULT_MAX_PIXELS
    jpeg_quality: int = 95

    def __post_init__(self) -> None:
        if self.format is OutputFormat.JPEG and self.background is None:
            # JPEG has no transparency: its documented background is white unless one is given.
            object.__setattr__(self, "background", Color(255, 255, 255))
        if self.format is OutputFormat.JPEG and self.background is not None and self.background.a != 255:
            raise OptionsError("options.conflict", "JPEG can't hold a translucent background.",
                               hint="Use an opaque colour, or png/webp.")
        if self.resolution is not None and not (64 <= self.resolution <= 4096):
            raise OptionsError("options.invalid", f"resolution={self.resolution} is out of range.",
                               hint="Use a model resolution between 64 and 4096 px.")
        if self.max_pixels < 1:
            raise OptionsError("options.invalid", "max_pixels must be positive.")
        if not (1 <= self.jpeg_quality <= 100):
            raise OptionsError("options.invalid", "jpeg_quality must be between 1 and 100.")

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> Options:
        """Build Options from loose keyword values (strings are parsed), naming any unknown key."""
        names = {f.name for f in fields(cls)}
        out: dict[str, Any] = {}
        for key, value in kwargs.items():
            if key not in names:
                raise OptionsError("options.invalid", f"Unknown option '{key}'.",
                                   hint=suggest(key, names) or f"Known options: {', '.join(sorted(names))}.")
            if key == "background" and isinstance(value, str):
                value = None if value.lower() in ("", "none", "transparent") else Color.parse(value)
            elif key == "format" and isinstance(value, str):
                value = OutputFormat.parse(value)
            out[key] = value
        return cls(**out)

    def with_(self, **changes: Any) -> Options:
        return replace(self, **changes)
