"""Every option, declared once: its user-facing name, the Options field it sets, how text is read,
its bounds, its help and where a user can set it.

The `alphacut remove` / `alphacut video` flags (cli/), the server's request fields
(server/schemas.py: OPTION_FIELDS), the Python keywords (Options.from_kwargs / from_user) and
docs/OPTIONS.md (`python -m alphacut.options_doc`) are all derived from OPTION_TABLE. A new option
is a field of Options (its type and default) plus one row here; tests/unit/options/test_option_table.py
checks that the two agree.

The name a user reads in `--help` (bg, size, fill, erode, ...) is the Python keyword and the HTTP
field; the Options field name (background, size_wh, fill_frac, erode_px, ...) stays accepted in
Python as an alias.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Any, Literal

from .errors import OptionsError, suggest
from .geometry import (
    MAX_CANVAS_PIXELS,
    MIN_SUBJECT_SCALE,
    Margin,
    Roi,
    parse_position,
    parse_scale,
    parse_size,
)
from .id_rules import ID_RULES
from .option_types import (
    DEFAULT_MAX_PIXELS,
    MAX_BLUR_PX,
    MAX_RADIUS_PX,
    Background,
    Color,
    Fit,
    OutputFormat,
    Quality,
    Refine,
    Shape,
    parse_background,
    parse_bool,
    parse_number,
)

__all__ = ["BY_NAME", "OPTION_TABLE", "OptionSpec", "Where", "field_checks", "option_for", "python_names"]

#: where a user can set an option besides Python: `alphacut remove` (image), `alphacut video`, HTTP fields
Where = Literal["image", "video", "http"]
#: how the CLI and the HTTP fields read the text: a whole number, a number, a yes/no flag, a file, text
Kind = Literal["text", "int", "float", "flag", "file"]

_EVERYWHERE: frozenset[Where] = frozenset({"image", "video", "http"})
_IMAGE_HTTP: frozenset[Where] = frozenset({"image", "http"})
_PYTHON_ONLY: frozenset[Where] = frozenset()


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """One option: everything the CLI, the server, Python and the docs need to know about it.

    Example:
        >>> spec = option_for("erode")
        >>> spec.field, spec.flag, spec.read("3")
        ('erode_px', '--erode', 3)
    """

    name: str  # the user-facing name: Python keyword, HTTP field; the CLI flag is --name (dashes)
    field: str  # the Options field it sets
    help: str  # what it does (the CLI's --help text and the docs' description)
    kind: Kind = "text"
    #: text → the field's value (None: the text itself); options.invalid for bad text
    parse: Callable[[Any], Any] | None = None
    parse_any: bool = False  # parse non-text values too (bg: a Color; bg_image: bytes; largest: a bool)
    #: the bounds of the field's value, checked by Options for every way it is built: options.invalid
    check: Callable[[Any], None] | None = None
    bounds: str = ""  # type and bounds in words, for docs/OPTIONS.md
    where: frozenset[Where] = _EVERYWHERE
    aliases: tuple[str, ...] = ()  # more Python keywords (the field's own name is always one)
    http_aliases: tuple[str, ...] = ()  # more HTTP field names
    cli_decls: tuple[str, ...] = ()  # the CLI's spelling when it is not --name (e.g. -f, --format, fmt)
    cli_default: Any = None
    show_default: bool = False
    negative_flag: bool = False  # the CLI flag turns it off (--no-decontaminate)
    http_help: str | None = None  # the OpenAPI description (/docs), when it is not `help`
    video_help: str | None = None  # `alphacut video --help`'s text, when it is not `help`
    video_refused: bool = False  # `alphacut video` takes the flag only to refuse it clearly (hidden)

    @property
    def flag(self) -> str:
        """The CLI's long flag: --name with dashes (or the one declared)."""
        longs = [d for d in self.cli_decls if d.startswith("--")]
        return longs[0] if longs else "--" + self.name.replace("_", "-")

    def click_decls(self) -> tuple[str, ...]:
        """The names click.option takes: the declared spelling, or --name."""
        return self.cli_decls or (self.flag,)

    def help_for(self, command: str) -> str:
        if command == "video" and self.video_help is not None:
            return self.video_help
        if command == "http" and self.http_help is not None:
            return self.http_help
        return self.help

    def read(self, value: Any) -> Any:
        """A user's value (text from a flag, a field or a keyword; or a typed value) → the field's value."""
        if self.parse is None or value is None:
            return value
        if self.parse_any or (isinstance(value, str) and not isinstance(value, Enum)):
            return self.parse(value)
        return value


# --- bounds of single values (a check that involves two options stays in Options.__post_init__) ---


def _radius(field: str) -> Callable[[Any], None]:
    def check(value: int) -> None:
        if value < 0:
            raise OptionsError("options.invalid", f"{field} must not be negative.")
        if value > MAX_RADIUS_PX:
            raise OptionsError("options.invalid", f"{field}={value} is over the cap of {MAX_RADIUS_PX} px.",
                               hint=f"Use 0..{MAX_RADIUS_PX} (and at most half the image's shorter side).")
    return check


def _is(kind: type, name: str, hint: str, *, optional: bool = False) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        if not isinstance(value, kind) and not (optional and value is None):
            raise OptionsError("options.invalid", f"{name}={value!r} is not a {kind.__name__}.", hint=hint)
    return check


def _check_background(value: Any) -> None:
    if not isinstance(value, Background):
        raise OptionsError("options.invalid", f"background={value!r} is not a Background.",
                           hint="Use Background.parse('white'), Background.solid(color), .picture(path) "
                                "or .blurred(px); Options.from_kwargs also takes text or a Color.")


def _check_resolution(value: int | None) -> None:
    if value is not None and not (64 <= value <= 4096):
        raise OptionsError("options.invalid", f"resolution={value} is out of range.",
                           hint="Use a model resolution between 64 and 4096 px.")


def _check_guide_min_pixels(value: int | None) -> None:
    if value is not None and not (1 <= value <= DEFAULT_MAX_PIXELS):
        raise OptionsError("options.invalid", f"guide_min_pixels={value} is out of range.",
                           hint=f"Use 1..{DEFAULT_MAX_PIXELS} pixels, or None for the full decode.")


def _check_threshold(value: float | None) -> None:
    if value is not None and not (0.0 < value < 1.0):
        raise OptionsError("options.invalid", f"threshold={value} must be between 0 and 1.")


def _check_min_area(value: int) -> None:
    if value < 0:
        raise OptionsError("options.invalid", "min_area_px must not be negative.")
    if value > DEFAULT_MAX_PIXELS:
        raise OptionsError("options.invalid", f"min_area_px={value} is over the cap of "
                           f"{DEFAULT_MAX_PIXELS} px.", hint="Use at most the image's pixel count.")


def _check_size(value: tuple[int, int] | None) -> None:
    if value is not None and (min(value) < 1 or max(value) > 20000 or value[0] * value[1] > MAX_CANVAS_PIXELS):
        raise OptionsError("options.invalid", f"size_wh={value} is out of range.",
                           hint=f"Sides 1..20000 px, at most {MAX_CANVAS_PIXELS / 1e6:g} MP.")


def _check_subject(value: str | None) -> None:
    if value is not None and value not in ("largest", "center") and not value.isdigit():
        raise OptionsError("options.invalid", f"subject={value!r} is not largest, center or an index.")


def _check_fill(value: float | None) -> None:
    if value is not None and not (0.05 <= value <= 1.0):
        raise OptionsError("options.invalid", f"fill={value} must be between 0.05 and 1.")


def _check_id_rule(value: str | None) -> None:
    if value is not None and value not in ID_RULES:
        raise OptionsError("options.invalid", f"id_rule={value!r} is not a known ID-photo rule.",
                           hint=suggest(value, ID_RULES) or f"Rules: {', '.join(ID_RULES)}.")


def _check_anchor(value: str) -> None:
    if value not in ("center", "bottom"):
        raise OptionsError("options.invalid", f"anchor={value!r} must be center or bottom.")


def _check_scale(value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                              or not (MIN_SUBJECT_SCALE <= value <= 1.0)):
        raise OptionsError("options.invalid", f"scale={value!r} must be between "
                           f"{MIN_SUBJECT_SCALE:g} and 1 (10% and 100%).")


def _check_position(value: Any) -> None:
    if value is not None and (not isinstance(value, (tuple, list)) or len(value) != 2
                              or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                         and 0.0 <= v <= 1.0 for v in value)):
        raise OptionsError("options.invalid", f"position={value} must be two fractions "
                           "in 0..1 (0% to 100%).", hint="Use center, 30% or '0% 100%' (x y).")


def _check_max_output_pixels(value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise OptionsError("options.invalid", f"max_output_pixels={value!r} must be a "
                           "positive whole number.", hint="Use e.g. 250000 for a 0.25 MP result.")


def _check_max_pixels(value: int) -> None:
    if value < 1:
        raise OptionsError("options.invalid", "max_pixels must be positive.")


def _check_jpeg_quality(value: int) -> None:
    if not (1 <= value <= 100):
        raise OptionsError("options.invalid", "jpeg_quality must be between 1 and 100.")


def _largest(value: str | bool) -> str | None:
    """--largest: a flag for subject="largest"; off (or false) sets nothing."""
    return "largest" if parse_bool(value, "largest") else None


def _flag(name: str) -> Callable[[Any], bool]:
    return lambda value: parse_bool(value, name)


_INT, _FLOAT = parse_number(int), parse_number(float)
_BG_HELP = ("Background: a colour (white, #RRGGBB, r,g,b), transparent, or blur[:RADIUS] (blur the photo's own "
            "background). Default: transparent.")

#: Every option, in the order `alphacut remove --help` lists them.
OPTION_TABLE: tuple[OptionSpec, ...] = (
    OptionSpec("format", "format", "png, webp, jpg (on --bg, white if none) or mask (the alpha as greyscale PNG).",
               parse=OutputFormat.parse, bounds="png, webp, jpg, mask", http_aliases=("f",),
               cli_decls=("-f", "--format", "fmt"), cli_default="png", show_default=True,
               video_help="png (cut-outs) or mask (the mattes: greyscale PNGs, or a greyscale video).",
               http_help="png (default), webp, jpg (white background unless bg is set) or mask (the matte "
                         "as greyscale PNG)"),
    OptionSpec("preset", "preset", "ecommerce, id-photo, id-photo-us, avatar, avatar-circle, sticker (see "
               "`alphacut presets`); other flags override it.", bounds="a preset name",
               cli_decls=("-p", "--preset"), video_refused=True,
               http_help="ecommerce, id-photo, id-photo-us, avatar, avatar-circle or sticker; other fields "
                         "override it"),
    OptionSpec("bg", "background", _BG_HELP, parse=parse_background, parse_any=True, check=_check_background,
               bounds=f"colour, transparent, blur[:RADIUS] (radius 0..{MAX_BLUR_PX:g} px)",
               aliases=("background",), http_aliases=("background",),
               video_help="Background: a colour (white, #RRGGBB, r,g,b), green (the chroma-key green #00B140), "
                          "transparent, or blur[:RADIUS]. Default: transparent; white for .mp4.",
               http_help="background colour: white, #RRGGBB, #RRGGBBAA or r,g,b; default transparent"),
    OptionSpec("bg_image", "background", "Put this picture behind the subject (scaled to cover).",
               kind="file", parse=Background.picture, parse_any=True, bounds="a picture's path (or bytes)",
               where=frozenset({"image", "video"})),
    OptionSpec("crop", "crop", "Crop to the subject's box (plus --margin).", kind="flag", parse=_flag("crop"),
               bounds="true/false", video_refused=True, http_help="true: crop to the subject"),
    OptionSpec("margin", "margin", "Space around a crop: pixels (20) or percent of the subject's longer side "
               "(5%); 2 or 4 values for top/bottom left/right or top right bottom left ('10 20').",
               parse=Margin.parse, check=_is(Margin, "margin", "Use Margin.all(20), Margin.parse('10px 5%') or "
                                             "text via Options.from_kwargs."),
               bounds="1, 2 or 4 lengths: px (0..10000) or % (0..100)", where=_IMAGE_HTTP,
               http_help="crop margin: pixels or percent of the subject's longer side (5%); 1, 2 or 4 values "
                         "(top right bottom left)"),
    OptionSpec("roi", "roi", "Only this region can be foreground: 'X1 Y1 X2 Y2' in px or % of the image "
               "('0% 0% 50% 100%').", parse=Roi.parse,
               check=_is(Roi, "roi", "Use Roi.parse('x1 y1 x2 y2') or text via Options.from_kwargs.", optional=True),
               bounds="4 coordinates, px or %, inside the image", where=_IMAGE_HTTP,
               http_help="x1 y1 x2 y2 in px or % of the image: only this region can be foreground"),
    OptionSpec("scale", "subject_scale", "Without --size: scale the subject to span this much of the frame "
               "(10%..100%), centred unless --position is given.", parse=parse_scale, check=_check_scale,
               bounds="10%..100% (or 0.1..1), original", where=_IMAGE_HTTP,
               http_help="without size: the subject spans this much of the frame (10%..100%), centred"),
    OptionSpec("position", "subject_position", "Without --size: move the subject in the frame: center, X% (both "
               "axes) or 'X% Y%' (0% left/top, 100% right/bottom).", parse=parse_position, check=_check_position,
               bounds="center, X%, 'X% Y%' (0..100% each), original", where=_IMAGE_HTTP,
               http_help="without size: center, X% or 'X% Y%' (0% left/top, 100% right/bottom)"),
    OptionSpec("max_output_pixels", "max_output_pixels", "Scale the result down (aspect kept) to at most this "
               "many pixels, after crop and --size.", kind="int", parse=_INT, check=_check_max_output_pixels,
               bounds="whole number >= 1", where=_IMAGE_HTTP,
               http_help="scale the result down to at most this many pixels (aspect kept)"),
    OptionSpec("size", "size_wh", "Output canvas: WxH, one number for a square, or 35x45mm / 2x2in at 300 dpi.",
               parse=parse_size, check=_check_size,
               bounds=f"WxH, N, 35x45mm, 2x2in; sides 1..20000 px, at most {MAX_CANVAS_PIXELS / 1e6:g} MP",
               video_refused=True, http_help="output canvas: WxH, N (square), 35x45mm or 2x2in (300 dpi)"),
    OptionSpec("fit", "fit", "fit (letterbox, default) or fill (cover and crop) for --size.", parse=Fit.parse,
               bounds="fit, fill", where=_IMAGE_HTTP, http_help="fit (letterbox) or fill (cover) for size"),
    OptionSpec("fill", "fill_frac", "With --size: scale the subject to fill this fraction of the canvas, centred "
               "(0.85 for e-commerce).", kind="float", parse=_FLOAT, check=_check_fill, bounds="0.05..1",
               video_refused=True, http_help="fraction of the canvas the subject fills"),
    OptionSpec("shape", "shape", "rect (default) or circle.", parse=Shape.parse, bounds="rect, circle",
               video_refused=True, http_help="rect or circle"),
    OptionSpec("outline", "outline_px", "Sticker outline width in px (white).", kind="int", parse=_INT,
               check=_radius("outline_px"), bounds=f"0..{MAX_RADIUS_PX} px, at most half the image's shorter side",
               video_refused=True, http_help="sticker outline in px"),
    OptionSpec("refine", "refine", "guided (default: follows the photo's edges when it is at least 2x the "
               "model's size), none (bilinear) or matting (guided + closed-form matting of the soft edge: for "
               "hair and fur; adds 0.5-5 s per photo).", parse=Refine.parse, bounds="guided, none, matting",
               video_help="guided (default), none or matting (slow: seconds per frame).",
               http_help="guided (default), none, or matting (closed-form matting of the soft edge, for hair "
                         "and fur; slower)"),
    OptionSpec("quality", "quality", "standard (default: one network run) or best (the photo and its mirror "
               "image, averaged: twice the network's time for a higher max F-beta, not a lower MAE; "
               "docs/QUALITY.md).", parse=Quality.parse,
               check=_is(Quality, "quality", "Use Quality.STANDARD or Quality.BEST (or the text 'standard' / "
                                             "'best')."),
               bounds="standard, best", where=_IMAGE_HTTP,
               http_help="standard (default: one network run) or best (the image and its mirror image, "
                         "averaged: 2x the network's time); a whole number 1..100 is the older alias of "
                         "jpeg_quality (refused together with jpeg_quality)"),
    OptionSpec("decontaminate", "decontaminate", "Keep the original colours at soft edges (default: remove the "
               "old background's tint).", kind="flag", parse=_flag("decontaminate"), bounds="true/false",
               cli_decls=("--no-decontaminate", "decontaminate"), negative_flag=True,
               video_help="Keep the original colours at soft edges.", http_help="true (default) or false"),
    OptionSpec("threshold", "threshold", "Hard mask at this level (0..1).", kind="float", parse=_FLOAT,
               check=_check_threshold, bounds="0..1 (exclusive)", http_help="hard mask at this level (0..1)"),
    OptionSpec("erode", "erode_px", "Shrink the matte by PX.", kind="int", parse=_INT, check=_radius("erode_px"),
               bounds=f"0..{MAX_RADIUS_PX} px, at most half the image's shorter side", http_help="px"),
    OptionSpec("dilate", "dilate_px", "Grow the matte by PX.", kind="int", parse=_INT, check=_radius("dilate_px"),
               bounds=f"0..{MAX_RADIUS_PX} px, at most half the image's shorter side", http_help="px"),
    OptionSpec("min_area", "min_area_px", "Drop separate specks smaller than PX pixels.", kind="int", parse=_INT,
               check=_check_min_area, bounds="0..the image's pixel count", where=_IMAGE_HTTP, http_help="px"),
    OptionSpec("largest", "subject", "Keep the largest subject only.", kind="flag", parse=_largest, parse_any=True,
               bounds="true/false (subject=largest)", where=_IMAGE_HTTP,
               http_help="true: keep the largest subject"),
    OptionSpec("subject", "subject", "Keep one subject: largest, center, or its index (0 = largest).",
               check=_check_subject, bounds="largest, center, 0, 1, ...", where=_IMAGE_HTTP,
               http_help="largest, center or an index"),
    OptionSpec("resolution", "resolution", "Side the model runs at (dynamic models only).", kind="int",
               parse=_INT, check=_check_resolution, bounds="64..4096 px",
               http_help="side the model runs at (dynamic-resolution models only)"),
    OptionSpec("max_pixels", "max_pixels", "Refuse larger inputs (default 100 MP).", kind="int", parse=_INT,
               check=_check_max_pixels, bounds="whole number >= 1; HTTP: at most the server's",
               where=_IMAGE_HTTP, http_help="refuse larger inputs (can only lower the server's limit)"),
    # below: no CLI flag
    OptionSpec("jpeg_quality", "jpeg_quality", "Quality of JPEG and lossy WebP output.", kind="int", parse=_INT,
               check=_check_jpeg_quality, bounds="1..100", where=frozenset({"http"}),
               http_help="1..100 for jpg and webp (default 95)"),
    OptionSpec("outline_color", "outline_color", "The sticker outline's colour.", parse=Color.parse,
               bounds="a colour", where=_PYTHON_ONLY, aliases=("outline_colour",)),
    OptionSpec("anchor", "anchor", "center, or bottom to stand the subject on the canvas's lower margin (with "
               "size and fill).", check=_check_anchor, bounds="center, bottom", where=_PYTHON_ONLY),
    OptionSpec("head_frame", "head_frame", "(top, height) fractions of the canvas for the head of a portrait "
               "(ID photos): the face is detected (exactly one is required) and crown to chin spans height.",
               bounds="two fractions", where=_PYTHON_ONLY),
    OptionSpec("id_rule", "id_rule", "An ID-photo rule whose ranges for the head height, the space above it and "
               "the eye line the head_frame framing must respect (the id-photo presets set it).",
               check=_check_id_rule, bounds=", ".join(ID_RULES), where=_PYTHON_ONLY),
    OptionSpec("guide_min_pixels", "guide_min_pixels", "Masks only: refine against a JPEG decoded at 1/2, 1/4 or "
               "1/8 as long as it keeps this many pixels (--fast sets it).", kind="int", parse=_INT,
               check=_check_guide_min_pixels, bounds=f"1..{DEFAULT_MAX_PIXELS}", where=_PYTHON_ONLY),
)

_BY_NAME: dict[str, OptionSpec] = {}
for _spec in OPTION_TABLE:
    for _name in (_spec.name, *_spec.aliases):
        assert _name not in _BY_NAME, _name
        _BY_NAME[_name] = _spec
for _spec in OPTION_TABLE:  # a field's own name: the first row that sets it (background → bg)
    _BY_NAME.setdefault(_spec.field, _spec)
#: every Python keyword (user names, aliases, field names) → its row
BY_NAME: Mapping[str, OptionSpec] = MappingProxyType(_BY_NAME)


def option_for(name: str) -> OptionSpec:
    """The row for a user name, an alias or a field name; options.invalid naming the closest one."""
    spec = BY_NAME.get(name)
    if spec is None:
        known = python_names()
        raise OptionsError("options.invalid", f"Unknown option '{name}'.",
                           hint=suggest(name, known) or f"Known options: {', '.join(known)}.")
    return spec


def python_names() -> list[str]:
    """Every keyword Options.from_kwargs takes, sorted."""
    return sorted(BY_NAME)


def field_checks() -> tuple[tuple[str, Callable[[Any], None]], ...]:
    """(field, check) for every field with bounds, once each, in table order."""
    return _FIELD_CHECKS


def _collect_checks() -> tuple[tuple[str, Callable[[Any], None]], ...]:
    out: dict[str, Callable[[Any], None]] = {}
    for spec in OPTION_TABLE:
        if spec.check is not None:
            assert spec.field not in out, f"{spec.field} has two checks"
            out[spec.field] = spec.check
    return tuple(out.items())


_FIELD_CHECKS = _collect_checks()
