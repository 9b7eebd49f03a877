"""The types option values take: Color, Background, the closed choices (enums) and their text parsers.

Below options.py (which builds Options from them) and the option table (which names them for
users); nothing here knows about Options.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

from .errors import OptionsError, suggest
from .geometry import Margin

__all__ = [
    "DEFAULT_BLUR_PX",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PIXELS",
    "MAX_BLUR_PX",
    "MAX_RADIUS_PX",
    "NO_MARGIN",
    "TRANSPARENT",
    "WHITE",
    "WHITE_BACKGROUND",
    "Background",
    "BackgroundKind",
    "Color",
    "Fit",
    "OutputFormat",
    "Quality",
    "Refine",
    "Shape",
    "parse_background",
    "parse_bool",
    "parse_number",
]

#: Largest image (width x height) decoded by default: a 100 MP photo, well above any camera JPEG
#: users feed a background remover, well below a decompression bomb.
DEFAULT_MAX_PIXELS = 100_000_000
#: The largest encoded image read (file, stdin, upload, base64 decoded): a 100 MP RGBA PNG stored without
#: compression is 400 MB, so every 100 MP JPEG or 8-bit PNG fits (--max-bytes, ALPHACUT_MAX_BYTES).
DEFAULT_MAX_BYTES = 400 * 1024 * 1024

#: Caps on size-like options, so no value can exhaust the machine (each is also bounded by the
#: image: check_fits_image). erode, dilate, outline and the blur radius are radii in px.
MAX_RADIUS_PX = 500

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


class BackgroundKind(str, Enum):
    """What goes behind the subject."""

    TRANSPARENT = "transparent"
    COLOR = "color"  # a flat colour, possibly translucent
    IMAGE = "image"  # a picture (path or encoded bytes), scaled to cover the canvas
    BLUR = "blur"  # the photo's own background, blurred


#: Blur radius for `blur` without a number.
DEFAULT_BLUR_PX = 20.0
#: Largest background blur radius, px.
MAX_BLUR_PX = 500.0


@dataclass(frozen=True, slots=True)
class Background:
    """One background, tagged by kind: the only place a background is described.

    Build one with Background.transparent(), .solid(Color), .picture(path or bytes), .blurred(px),
    or parse a user's text with Background.parse ("white", "#ff000080", "transparent", "blur:15").
    Text never names a file: a picture comes from its own flag or field (--bg-image), so an HTTP
    field can't make the server read a path.

    Example:
        >>> Background.parse("blur:15")
        Background(kind=<BackgroundKind.BLUR: 'blur'>, color=None, image=None, blur_px=15.0)
        >>> Background.parse("#fff").color
        Color(r=255, g=255, b=255, a=255)
    """

    kind: BackgroundKind = BackgroundKind.TRANSPARENT
    color: Color | None = None  # COLOR only
    image: str | bytes | None = None  # IMAGE only: a path or the encoded bytes of a picture
    blur_px: float | None = None  # BLUR only: the blur radius in the photo's pixels

    def __post_init__(self) -> None:
        kind = self.kind
        if not isinstance(kind, BackgroundKind):
            raise OptionsError("options.invalid", f"Background kind {kind!r} is not one of "
                               f"{', '.join(k.value for k in BackgroundKind)}.")
        given = {"color": self.color is not None, "image": self.image is not None, "blur_px": self.blur_px is not None}
        wanted = {BackgroundKind.COLOR: "color", BackgroundKind.IMAGE: "image", BackgroundKind.BLUR: "blur_px"}.get(kind)
        extra = [name for name, present in given.items() if present and name != wanted]
        if extra or (wanted is not None and not given[wanted]):
            raise OptionsError("options.invalid", f"A {kind.value} background takes "
                               f"{wanted or 'no value'}{'' if not extra else ', not ' + ', '.join(extra)}.",
                               hint="Build it with Background.transparent(), solid(), picture() or blurred().")
        if kind is BackgroundKind.COLOR and not isinstance(self.color, Color):
            raise OptionsError("options.invalid", f"background colour {self.color!r} is not a Color.",
                               hint="Use Color.parse('white') or Background.parse('white').")
        if kind is BackgroundKind.IMAGE and not isinstance(self.image, (str, bytes)):
            raise OptionsError("options.invalid", "A background picture is a path (str) or encoded bytes.")
        if kind is BackgroundKind.BLUR:
            px = self.blur_px
            if isinstance(px, bool) or not isinstance(px, (int, float)) or not (0 < px <= MAX_BLUR_PX):
                raise OptionsError("options.invalid", f"background blur radius {px!r} must be in "
                                   f"(0, {MAX_BLUR_PX:g}] px.", hint="Use e.g. blur:15.")
            object.__setattr__(self, "blur_px", float(px))

    @classmethod
    def transparent(cls) -> Background:
        return cls()

    @classmethod
    def solid(cls, color: Color | str) -> Background:
        return cls(BackgroundKind.COLOR, color=Color.parse(color) if isinstance(color, str) else color)

    @classmethod
    def picture(cls, source: str | bytes) -> Background:
        """A picture behind the subject, scaled to cover: a file path or the encoded bytes."""
        return cls(BackgroundKind.IMAGE, image=source)

    @classmethod
    def blurred(cls, radius_px: float = DEFAULT_BLUR_PX) -> Background:
        return cls(BackgroundKind.BLUR, blur_px=radius_px)

    @classmethod
    def parse(cls, text: str) -> Background:
        """'transparent' (or 'none', ''), 'blur' / 'blur:RADIUS', or a colour (see Color.parse)."""
        s = str(text).strip().lower()
        if s in ("", "none", "transparent"):
            return cls.transparent()
        if s == "blur" or s.startswith("blur:"):
            _, _, radius = s.partition(":")
            return cls.blurred(parse_number(float)(radius) if radius else DEFAULT_BLUR_PX)
        return cls.solid(Color.parse(s))

    @property
    def is_opaque(self) -> bool:
        """True when nothing behind the result shows through."""
        if self.kind is BackgroundKind.COLOR:
            return self.color is not None and self.color.a == 255
        return self.kind in (BackgroundKind.IMAGE, BackgroundKind.BLUR)

    def describe(self) -> str:
        """Short text for reports: 'transparent', '#ffffff', 'blur:15', 'image'."""
        if self.kind is BackgroundKind.COLOR and self.color is not None:
            return self.color.hex()
        if self.kind is BackgroundKind.BLUR:
            return f"blur:{self.blur_px:g}"
        return str(self.kind.value)


#: Options.margin's default: none (geometry.Margin)
NO_MARGIN = Margin()

WHITE = Color(255, 255, 255)
WHITE_BACKGROUND = Background(BackgroundKind.COLOR, color=WHITE)
#: Options.background's default
TRANSPARENT = Background()


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


class Refine(str, Enum):
    """How the model's matte is brought to full resolution."""

    NONE = "none"  # bilinear upsampling only
    GUIDED = "guided"  # fast guided filter when upscaling >= 2x, bilinear below that (measured)
    MATTING = "matting"  # GUIDED, then closed-form matting in the soft band: for hair and fur, slower

    @classmethod
    def parse(cls, text: str) -> Refine:
        return _parse_enum(cls, text, "refine")


class Quality(str, Enum):
    """How many network runs one matte gets."""

    STANDARD = "standard"  # one run
    BEST = "best"  # two: the input and its mirror image, averaged (2x the network's time; docs/QUALITY.md)

    @classmethod
    def parse(cls, text: str) -> Quality:
        return _parse_enum(cls, text, "quality")


class Fit(str, Enum):
    """How --size treats an aspect ratio that differs from the cutout's."""

    FIT = "fit"  # scale to fit inside, pad with transparency (or the background)
    FILL = "fill"  # scale to cover, crop the overflow

    @classmethod
    def parse(cls, text: str) -> Fit:
        return _parse_enum(cls, text, "fit")


class Shape(str, Enum):
    RECT = "rect"
    CIRCLE = "circle"  # everything outside the inscribed circle becomes transparent

    @classmethod
    def parse(cls, text: str) -> Shape:
        return _parse_enum(cls, text, "shape")


_E = TypeVar("_E", bound=Enum)


def _parse_enum(cls: type[_E], text: str, name: str) -> _E:
    s = str(text).strip().lower()
    for member in cls:
        if member.value == s:
            return member
    values = [m.value for m in cls]
    raise OptionsError("options.invalid", f"{name}={text!r} is not one of {', '.join(values)}.",
                       hint=suggest(s, values))




def parse_background(value: str | Color | Background) -> Background:
    """A Background from text (Background.parse), a Color (a solid background) or a Background."""
    if isinstance(value, Background):
        return value
    if isinstance(value, Color):
        return Background.solid(value)
    if isinstance(value, str):
        return Background.parse(value)
    raise OptionsError("options.invalid", f"background={value!r} is not a background.",
                       hint="Use text (white, #RRGGBB, transparent, blur:15), a Color or a Background.")


def parse_bool(value: str | bool | None, name: str = "value", default: bool | None = None) -> bool:
    """A yes/no value from text: 1/true/yes/on or 0/false/no/off. None or empty text gives `default`
    (an error when there is none); the one parser for flags in options, settings and HTTP fields."""
    if isinstance(value, bool):
        return value
    s = "" if value is None else value.strip().lower()
    if s in ("1", "true", "yes", "on"):
        return True
    if s in ("0", "false", "no", "off"):
        return False
    if s == "" and default is not None:
        return default
    raise OptionsError("options.invalid", f"{name}={value!r} is not true or false.", hint="Use true or false.")


def parse_number(kind: Any) -> Any:
    def parse(value: str) -> Any:
        try:
            return kind(value)
        except ValueError:
            raise OptionsError("options.invalid", f"{value!r} is not a number.") from None
    return parse


