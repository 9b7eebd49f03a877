"""Typed options: parsed once at the edge (CLI, server, kwargs), plain frozen values inside."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from enum import Enum
from typing import Any

from .errors import OptionsError, suggest
from .geometry import (
    MAX_CANVAS_PIXELS,
    MAX_MARGIN_PX,
    MAX_ROI_PX,
    MIN_SUBJECT_SCALE,
    Length,
    Margin,
    MarginBasis,
    Roi,
    parse_position,
    parse_scale,
    parse_size,
)

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "FAST_GUIDE_MIN_PIXELS",
    "FAST_MODEL",
    "FAST_RESOLUTION",
    "FAST_RESOLUTION_NO_DOT_PRODUCT",
    "MAX_CANVAS_PIXELS",
    "MAX_MARGIN_PX",
    "MAX_ROI_PX",
    "MIN_SUBJECT_SCALE",
    "Background",
    "BackgroundKind",
    "Color",
    "Fit",
    "Length",
    "Margin",
    "MarginBasis",
    "Options",
    "OutputFormat",
    "Refine",
    "Roi",
    "Shape",
    "check_fits_image",
    "parse_position",
    "parse_scale",
    "parse_size",
]

#: --fast: the default (int8, any input size) model run at this side. On all 260 evaldata images
#: (docs/QUALITY.md) 768 px costs 2.4% MAE against 1024 and 640 px 5.5% (max F-beta 0.805 vs 0.776);
#: docs/PERFORMANCE.md: 768 px already runs 3.8x rembg's batch throughput, so 768 it is.
FAST_MODEL = "isnet-general-use-int8-static"
FAST_RESOLUTION = 768
#: --fast's side on x86 CPUs whose int8 kernels have no dot-product instruction (no AVX-512 VNNI,
#: AVX-VNNI or AMX: AMD Zen 1/2/3, Intel before Cascade Lake / Alder Lake), where int8 gains only
#: ~1.7x over fp16 instead of ~2.7-3.4x. docs/PERFORMANCE.md "Speed by CPU kind": under the AVX2-only
#: emulation (bench/avx2only) 768 px is 2.6x rembg's whole-process work on the bench set, 640 px 3.4x
#: (target 3x); what 640 costs in MAE per evaldata set is in the same section.
FAST_RESOLUTION_NO_DOT_PRODUCT = 640
#: --fast's Options.guide_min_pixels: a mask of a large JPEG is refined against the photo decoded at
#: 1/2 (or less) as long as that keeps at least this many pixels (12-24 MP photos: 1/2), then enlarged;
#: docs/PERFORMANCE.md ("`--fast`'s whole process, round s18") has its cost and what it changes.
FAST_GUIDE_MIN_PIXELS = 2_000_000

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
            return cls.blurred(_parse_number(float)(radius) if radius else DEFAULT_BLUR_PX)
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
        return self.kind.value


#: Options.margin's default: none (geometry.Margin)
NO_MARGIN = Margin()

WHITE_BACKGROUND = Background(BackgroundKind.COLOR, color=Color(255, 255, 255))


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


def _parse_enum(cls: Any, text: str, name: str) -> Any:
    s = str(text).strip().lower()
    for member in cls:
        if member.value == s:
            return member
    values = [m.value for m in cls]
    raise OptionsError("options.invalid", f"{name}={text!r} is not one of {', '.join(values)}.",
                       hint=suggest(s, values))


@dataclass(frozen=True, slots=True)
class Options:
    """How one image is cut out and written. Every field has a safe default.

    Args:
        resolution: side of the square the model sees; None uses the model's own size.
        background: what goes behind the subject (see Background); transparent by default, white for JPEG.
        format: what the result is written as.
        max_pixels: refuse inputs with more pixels than this (decompression-bomb guard).
        jpeg_quality: quality for JPEG and lossy WebP output.
        refine: how the matte reaches full resolution (see Refine).
        quality: Quality.BEST runs the network on its input and on that input mirrored and averages
            the two outputs (the second flipped back) before the matte is finished, at 2x the
            network's time. Since the standard run is itself mirrored (ISNet, catalog `mirror`), this
            buys a higher max F-beta (0.8545 against 0.8480) but not a lower MAE (0.0753 against
            0.0739), in-sample over the 10 folds of docs/QUALITY.md.
        decontaminate: re-estimate edge colours so no old background shows through (Forte & Pitié 2021).
        threshold: make the matte hard at this level (0..1); None keeps it soft.
        erode_px, dilate_px: shrink / grow the matte by this many pixels.
        min_area_px: drop separate specks smaller than this.
        subject: keep one subject only: "largest", "center" or its index (0 = largest).
        crop: crop to the subject's box plus `margin` (see Margin: per side, px or %).
        roi: only this region can be foreground (see Roi); applied to the matte before cleaning.
        subject_scale, subject_position: without size_wh, scale the subject so its box spans this
            fraction (0.1..1) of the frame, and/or move it to (x, y) of the frame's free space (0..1
            each: 0 left/top, 0.5 centred, 1 right/bottom); the frame keeps its size (remove.bg's
            scale and position; scaling alone centres).
        max_output_pixels: scale the result down (aspect kept) to at most this many pixels, as the
            last layout step (remove.bg's size); None keeps the layout's size.
        size_wh, fit: final canvas size and how the cutout is fitted into it.
        fill_frac: when set with size_wh, the subject's box is scaled to fill this fraction of the
            canvas and centred (the e-commerce layout).
        anchor: "center", or "bottom" to stand the subject on the canvas's lower margin.
        head_frame: (top, height) fractions of the canvas for the head of a portrait (ID photos): the
            face is detected (exactly one is required) and crown to chin spans `height`.
        id_rule: an ID-photo rule (ops.framing.ID_RULES: "icao", "us") whose ranges for the head
            height, the space above it and the eye line the head_frame framing must respect.
        shape: RECT, or CIRCLE for round avatars.
        outline_px, outline_color: a sticker outline around the subject.
        preset: the preset these options came from, for reports.
        guide_min_pixels: for mask output only (format MASK, nothing moved or counted in the photo's
            pixels, refine GUIDED or NONE): a JPEG is decoded at the smallest 1/2, 1/4 or 1/8 reduction
            keeping at least this many pixels, the matte refined against that and enlarged bilinearly
            to the photo's size. None (default) refines against the full decode. --fast sets
            FAST_GUIDE_MIN_PIXELS.
    """

    resolution: int | None = None
    background: Background = Background()
    format: OutputFormat = OutputFormat.PNG
    max_pixels: int = DEFAULT_MAX_PIXELS
    jpeg_quality: int = 95
    refine: Refine = Refine.GUIDED
    quality: Quality = Quality.STANDARD
    decontaminate: bool = True
    threshold: float | None = None
    erode_px: int = 0
    dilate_px: int = 0
    min_area_px: int = 0
    subject: str | None = None
    crop: bool = False
    margin: Margin = NO_MARGIN
    roi: Roi | None = None
    subject_scale: float | None = None
    subject_position: tuple[float, float] | None = None
    max_output_pixels: int | None = None
    size_wh: tuple[int, int] | None = None
    fit: Fit = Fit.FIT
    fill_frac: float | None = None
    anchor: str = "center"
    head_frame: tuple[float, float] | None = None
    id_rule: str | None = None
    shape: Shape = Shape.RECT
    outline_px: int = 0
    outline_color: Color = Color(255, 255, 255)
    preset: str | None = None
    guide_min_pixels: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.background, Background):
            raise OptionsError("options.invalid", f"background={self.background!r} is not a Background.",
                               hint="Use Background.parse('white'), Background.solid(color), .picture(path) "
                                    "or .blurred(px); Options.from_kwargs also takes text or a Color.")
        if self.format is OutputFormat.JPEG and self.background.kind is BackgroundKind.TRANSPARENT:
            # JPEG has no transparency: its documented background is white unless one is given.
            object.__setattr__(self, "background", WHITE_BACKGROUND)
        if self.format is OutputFormat.JPEG and not self.background.is_opaque:
            raise OptionsError("options.conflict", "JPEG can't hold a translucent background.",
                               hint="Use an opaque colour, or png/webp.")
        if self.resolution is not None and not (64 <= self.resolution <= 4096):
            raise OptionsError("options.invalid", f"resolution={self.resolution} is out of range.",
                               hint="Use a model resolution between 64 and 4096 px.")
        if self.guide_min_pixels is not None and not (1 <= self.guide_min_pixels <= DEFAULT_MAX_PIXELS):
            raise OptionsError("options.invalid", f"guide_min_pixels={self.guide_min_pixels} is out of range.",
                               hint=f"Use 1..{DEFAULT_MAX_PIXELS} pixels, or None for the full decode.")
        if self.threshold is not None and not (0.0 < self.threshold < 1.0):
            raise OptionsError("options.invalid", f"threshold={self.threshold} must be between 0 and 1.")
        for name in ("erode_px", "dilate_px", "min_area_px", "outline_px"):
            if getattr(self, name) < 0:
                raise OptionsError("options.invalid", f"{name} must not be negative.")
        for name in ("erode_px", "dilate_px", "outline_px"):
            if getattr(self, name) > MAX_RADIUS_PX:
                raise OptionsError("options.invalid", f"{name}={getattr(self, name)} is over the cap of "
                                   f"{MAX_RADIUS_PX} px.", hint=f"Use 0..{MAX_RADIUS_PX} (and at most half "
                                   "the image's shorter side).")
        if self.min_area_px > DEFAULT_MAX_PIXELS:
            raise OptionsError("options.invalid", f"min_area_px={self.min_area_px} is over the cap of "
                               f"{DEFAULT_MAX_PIXELS} px.", hint="Use at most the image's pixel count.")
        if self.size_wh is not None and (min(self.size_wh) < 1 or max(self.size_wh) > 20000
                                         or self.size_wh[0] * self.size_wh[1] > MAX_CANVAS_PIXELS):
            raise OptionsError("options.invalid", f"size_wh={self.size_wh} is out of range.",
                               hint=f"Sides 1..20000 px, at most {MAX_CANVAS_PIXELS / 1e6:g} MP.")
        if self.subject is not None and self.subject not in ("largest", "center") and not self.subject.isdigit():
            raise OptionsError("options.invalid", f"subject={self.subject!r} is not largest, center or an index.")
        if self.fill_frac is not None and not (0.05 <= self.fill_frac <= 1.0):
            raise OptionsError("options.invalid", f"fill={self.fill_frac} must be between 0.05 and 1.")
        if (self.fill_frac is not None or self.head_frame is not None) and self.size_wh is None:
            raise OptionsError("options.conflict", "Placing the subject on a canvas needs a size (--size WxH).")
        if self.id_rule is not None:
            from .ops.framing import ID_RULES

            if self.id_rule not in ID_RULES:
                raise OptionsError("options.invalid", f"id_rule={self.id_rule!r} is not a known ID-photo rule.",
                                   hint=suggest(self.id_rule, ID_RULES) or f"Rules: {', '.join(ID_RULES)}.")
            if self.head_frame is None:
                raise OptionsError("options.conflict", "id_rule needs head_frame (the preset id-photo sets both).")
        if self.anchor not in ("center", "bottom"):
            raise OptionsError("options.invalid", f"anchor={self.anchor!r} must be center or bottom.")
        if not isinstance(self.margin, Margin):
            raise OptionsError("options.invalid", f"margin={self.margin!r} is not a Margin.",
                               hint="Use Margin.all(20), Margin.parse('10px 5%') or text via Options.from_kwargs.")
        if not isinstance(self.quality, Quality):
            raise OptionsError("options.invalid", f"quality={self.quality!r} is not a Quality.",
                               hint="Use Quality.STANDARD or Quality.BEST (or the text 'standard' / 'best').")
        if self.roi is not None and not isinstance(self.roi, Roi):
            raise OptionsError("options.invalid", f"roi={self.roi!r} is not a Roi.",
                               hint="Use Roi.parse('x1 y1 x2 y2') or text via Options.from_kwargs.")
        scale = self.subject_scale
        if scale is not None and (isinstance(scale, bool) or not isinstance(scale, (int, float))
                                  or not (MIN_SUBJECT_SCALE <= scale <= 1.0)):
            raise OptionsError("options.invalid", f"scale={scale!r} must be between "
                               f"{MIN_SUBJECT_SCALE:g} and 1 (10% and 100%).")
        position = self.subject_position
        if position is not None and (not isinstance(position, (tuple, list)) or len(position) != 2
                                     or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                and 0.0 <= v <= 1.0 for v in position)):
            raise OptionsError("options.invalid", f"position={self.subject_position} must be two fractions "
                               "in 0..1 (0% to 100%).", hint="Use center, 30% or '0% 100%' (x y).")
        if (self.subject_scale is not None or self.subject_position is not None) and self.size_wh is not None:
            raise OptionsError("options.conflict", "scale and position place the subject in its own frame; "
                               "with a size, use fill (and anchor) instead.")
        if self.max_output_pixels is not None and (isinstance(self.max_output_pixels, bool)
                                                   or not isinstance(self.max_output_pixels, int)
                                                   or self.max_output_pixels < 1):
            raise OptionsError("options.invalid", f"max_output_pixels={self.max_output_pixels!r} must be a "
                               "positive whole number.", hint="Use e.g. 250000 for a 0.25 MP result.")
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
            parse = _PARSERS.get(key)
            if key == "background":
                out[key] = _parse_background(value)
            else:
                out[key] = parse(value) if parse and isinstance(value, str) and not isinstance(value, Enum) else value
        preset = out.pop("preset", None)
        if preset is not None:
            from .presets import get_preset

            return get_preset(str(preset)).apply(out)
        return cls(**out)

    @classmethod
    def from_user(cls, **fields: Any) -> Options:
        """Options from the user-facing names shared by the CLI and the HTTP API.

        `bg` takes a colour, "transparent", or "blur[:RADIUS]" (Background.parse); `bg_image` a
        picture's path or bytes (only one of the two); `size` takes 800x600, 2000,
        35x45mm or 2x2in; `fill` is the canvas fraction for the subject; `erode`, `dilate`,
        `min_area`, `outline` are pixels; `largest` is a flag for subject="largest". None values
        are ignored, so unset flags fall back to the preset or the defaults.

        Example:
            >>> Options.from_user(bg="blur:15", size="1080x1920", fit="fill").background.describe()
            'blur:15'
        """
        out: dict[str, Any] = {}
        for key, value in fields.items():
            if value is None or value is False and key in ("largest",):
                continue
            if key in ("bg", "bg_image"):
                if "background" in out:
                    raise OptionsError("options.conflict", "Choose one background: bg (a colour or blur) "
                                       "or bg_image (a picture).")
                out["background"] = Background.picture(value) if key == "bg_image" else value
            elif key == "largest":
                out["subject"] = "largest"
            elif key in _USER_NAMES:
                out[_USER_NAMES[key]] = value
            else:
                out[key] = value
        return cls.from_kwargs(**out)

    def with_(self, **changes: Any) -> Options:
        return replace(self, **changes)


def check_fits_image(options: Options, size_wh: tuple[int, int]) -> None:
    """Refuse size-like options too large for this image (before any inference runs).

    erode, dilate, outline and the blur radius: at most half the shorter side; a margin in px: at
    most the longer side; min_area: at most the image's pixel count; a roi: inside the image and
    not empty. The absolute caps
    (MAX_RADIUS_PX, MAX_MARGIN_PX, MAX_CANVAS_PIXELS) are checked when Options are built.

    Example:
        >>> check_fits_image(Options(erode_px=30), (40, 40))
        Traceback (most recent call last):
        ...
        alphacut.errors.OptionsError: options.too-large: erode=30 px is more than half this 40x40 image's shorter side (20 px). Use erode <= 20 for this image.
    """
    w, h = size_wh
    half = min(w, h) // 2
    radii = {"erode": options.erode_px, "dilate": options.dilate_px, "outline": options.outline_px,
             "blur": options.background.blur_px or 0}
    for name, value in radii.items():
        if value > half:
            raise OptionsError("options.too-large", f"{name}={value:g} px is more than half this {w}x{h} image's "
                               f"shorter side ({half} px).", hint=f"Use {name} <= {half} for this image.")
    # a margin clamped to a fraction of the subject (max_frac, remove.bg's) can't outgrow the image
    if options.margin.max_frac is None and options.margin.max_side_px > max(w, h):
        raise OptionsError("options.too-large", f"margin={options.margin.max_side_px:g} px is more than this "
                           f"{w}x{h} image's longer side.", hint=f"Use margin <= {max(w, h)} or a percentage.")
    if options.roi is not None:
        options.roi.box_xyxy(size_wh)  # options.roi-empty / options.roi-outside
    if options.min_area_px > w * h:
        raise OptionsError("options.too-large", f"min_area={options.min_area_px} px is more than this {w}x{h} "
                           f"image's {w * h} pixels.", hint=f"Use min_area <= {w * h}.")


def _parse_background(value: str | Color | Background) -> Background:
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


def _parse_number(kind: Any) -> Any:
    def parse(value: str) -> Any:
        try:
            return kind(value)
        except ValueError:
            raise OptionsError("options.invalid", f"{value!r} is not a number.") from None
    return parse


_PARSERS: dict[str, Any] = {
    "background": _parse_background,
    "format": OutputFormat.parse,
    "refine": Refine.parse,
    "quality": Quality.parse,
    "fit": Fit.parse,
    "shape": Shape.parse,
    "margin": Margin.parse,
    "roi": Roi.parse,
    "subject_scale": parse_scale,
    "subject_position": parse_position,
    "max_output_pixels": _parse_number(int),
    "size_wh": parse_size,
    "outline_color": Color.parse,
    "decontaminate": lambda v: parse_bool(v, "decontaminate"),
    "crop": lambda v: parse_bool(v, "crop"),
    "threshold": _parse_number(float),
    "fill_frac": _parse_number(float),
    "resolution": _parse_number(int),
    "guide_min_pixels": _parse_number(int),
    "erode_px": _parse_number(int),
    "dilate_px": _parse_number(int),
    "min_area_px": _parse_number(int),
    "outline_px": _parse_number(int),
    "max_pixels": _parse_number(int),
    "jpeg_quality": _parse_number(int),
}

#: User-facing names (CLI flags, HTTP fields) that differ from the Options field they set.
_USER_NAMES = {
    "size": "size_wh", "fill": "fill_frac", "erode": "erode_px",
    "dilate": "dilate_px", "min_area": "min_area_px", "outline": "outline_px", "outline_colour": "outline_color",
    "scale": "subject_scale", "position": "subject_position",
}
