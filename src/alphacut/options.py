"""Options: how one image is cut out and written, parsed once at the edge, plain frozen values inside.

Each option is declared once in alphacut.option_table (name, parsing, bounds, help, where a user
sets it); Options holds its type and default, and checks here only what involves two options.
The value types (Color, Background, the enums) live in alphacut.option_types and are re-exported.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .errors import OptionsError
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
from .option_table import field_checks, option_for
from .option_types import (
    DEFAULT_BLUR_PX,
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    MAX_BLUR_PX,
    MAX_RADIUS_PX,
    NO_MARGIN,
    TRANSPARENT,
    WHITE,
    WHITE_BACKGROUND,
    Background,
    BackgroundKind,
    Color,
    Fit,
    OutputFormat,
    Quality,
    Refine,
    Shape,
    parse_bool,
)
from .presets import get_preset

__all__ = [
    "DEFAULT_BLUR_PX",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PIXELS",
    "FAST_GUIDE_MIN_PIXELS",
    "FAST_MODEL",
    "FAST_RESOLUTION",
    "FAST_RESOLUTION_NO_DOT_PRODUCT",
    "MAX_BLUR_PX",
    "MAX_CANVAS_PIXELS",
    "MAX_MARGIN_PX",
    "MAX_RADIUS_PX",
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
    "Quality",
    "Refine",
    "Roi",
    "Shape",
    "check_fits_image",
    "parse_bool",
    "parse_position",
    "parse_scale",
    "parse_size",
    "resolve",
]

#: --fast: the default int8 model at 768 px, the best trade of speed for accuracy among the sides
#: measured (docs/PERFORMANCE.md, "Which settings are fast on which CPU"; its accuracy cost in
#: docs/studies/quality-rounds.md, "Fast mode resolution").
FAST_MODEL = "isnet-general-use-int8-static"
FAST_RESOLUTION = 768
#: --fast's side on x86 CPUs whose int8 kernels have no dot-product instruction (no AVX-512 VNNI,
#: AVX-VNNI or AMX), where int8 gains much less over fp16 (docs/PERFORMANCE.md, "Which settings are fast
#: on which CPU").
FAST_RESOLUTION_NO_DOT_PRODUCT = 640
#: --fast's Options.guide_min_pixels: a mask of a large JPEG is refined against the photo decoded at
#: 1/2 (or less) as long as that keeps at least this many pixels, then enlarged
#: (docs/studies/performance-rounds.md, "`--fast`'s whole process, round s18").
FAST_GUIDE_MIN_PIXELS = 2_000_000


@dataclass(frozen=True, slots=True)
class Options:
    """How one image is cut out and written. Every field has a safe default.

    What each field does, its bounds and its user-facing name (bg for background, size for size_wh,
    ...) are in alphacut.option_table and docs/OPTIONS.md. Build Options from user values with
    Options.from_kwargs (any name) or Options.from_user (unset None values skipped).

    Example:
        >>> Options.from_kwargs(bg="white", size="800x600", fill=0.9).size_wh
        (800, 600)
    """

    resolution: int | None = None
    background: Background = TRANSPARENT
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
    outline_color: Color = WHITE
    preset: str | None = None
    guide_min_pixels: int | None = None

    def __post_init__(self) -> None:
        for name, check in field_checks():  # each value's own bounds: option_table
            check(getattr(self, name))
        # what involves two options:
        if self.format is OutputFormat.JPEG and self.background.kind is BackgroundKind.TRANSPARENT:
            # JPEG has no transparency: its documented background is white unless one is given.
            object.__setattr__(self, "background", WHITE_BACKGROUND)
        if self.format is OutputFormat.JPEG and not self.background.is_opaque:
            raise OptionsError("options.conflict", "JPEG can't hold a translucent background.",
                               hint="Use an opaque colour, or png/webp.")
        if (self.fill_frac is not None or self.head_frame is not None) and self.size_wh is None:
            raise OptionsError("options.conflict", "Placing the subject on a canvas needs a size (--size WxH).")
        if self.id_rule is not None and self.head_frame is None:
            raise OptionsError("options.conflict", "id_rule needs head_frame (the preset id-photo sets both).")
        if (self.subject_scale is not None or self.subject_position is not None) and self.size_wh is not None:
            raise OptionsError("options.conflict", "scale and position place the subject in its own frame; "
                               "with a size, use fill (and anchor) instead.")

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> Options:
        """Options from loose keyword values: the user-facing names (bg, size, fill, erode, ...) or the
        field names (background, size_wh, ...); text is parsed, None is a value. A preset's values come
        first and the others override them.

        Example:
            >>> Options.from_kwargs(bg="#fff", erode=2).background.describe()
            '#ffffff'
        """
        return _build(cls, resolve(kwargs, skip_none=False))

    @classmethod
    def from_user(cls, **fields: Any) -> Options:
        """Options from the user-facing names shared by the CLI and the HTTP API, skipping None values
        (an unset flag), so unset flags fall back to the preset or the defaults.

        `bg` takes a colour, "transparent", or "blur[:RADIUS]" (Background.parse); `bg_image` a
        picture's path or bytes (only one of the two); `size` takes 800x600, 2000, 35x45mm or 2x2in;
        `largest` is a flag for subject="largest". Every name: docs/OPTIONS.md.

        Example:
            >>> Options.from_user(bg="blur:15", size="1080x1920", fit="fill").background.describe()
            'blur:15'
        """
        return _build(cls, resolve(fields, skip_none=True))

    def with_(self, **changes: Any) -> Options:
        """A copy with some options changed, by any name (bg= or background=)."""
        return replace(self, **resolve(changes, skip_none=False))


def resolve(values: dict[str, Any], *, skip_none: bool) -> dict[str, Any]:
    """Keyword values by any name → Options field values (text parsed); `preset` is kept as is.

    Two names for one field (a name and its alias, or bg and bg_image) with different values are
    an options.conflict naming both.
    """
    out: dict[str, Any] = {}
    given_by: dict[str, str] = {}
    for key, value in values.items():
        spec = option_for(key)
        if value is None and skip_none:
            continue
        parsed = spec.read(value)
        if parsed is None and spec.name == "largest":  # --largest off sets nothing
            continue
        field = spec.field
        if field in out:
            first = given_by[field]
            if "bg_image" in (first, key):
                raise OptionsError("options.conflict", "Choose one background: bg (a colour or blur) "
                                   "or bg_image (a picture).")
            if out[field] != parsed:
                raise OptionsError("options.conflict", f"{first} and {key} both set {field}, to different "
                                   f"values ({values[first]!r} and {value!r}).", hint=f"Give only {first} or only {key}.")
        out[field] = parsed
        given_by[field] = key
    return out


def _build(cls: type[Options], fields: dict[str, Any]) -> Options:
    """Options from field values, on top of the preset's values when one is named."""
    name = fields.get("preset")
    if name is None:
        return cls(**fields)
    preset = get_preset(str(name))
    base = resolve(dict(preset.values), skip_none=True)
    return cls(**{**base, **fields, "preset": preset.name})


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
