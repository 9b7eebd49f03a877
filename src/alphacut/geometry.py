"""Geometry values of Options, parsed once at the edge: lengths (px or %), per-side margins, a region
of interest, canvas sizes, the subject's scale and position. Plain frozen values; options.py
re-exports them. Imports nothing of alphacut but errors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from .errors import OptionsError

__all__ = [
    "MAX_CANVAS_PIXELS",
    "MAX_MARGIN_PX",
    "MAX_ROI_PX",
    "MIN_SUBJECT_SCALE",
    "Length",
    "Margin",
    "MarginBasis",
    "Roi",
    "parse_position",
    "parse_scale",
    "parse_size",
]

#: a crop margin in px
MAX_MARGIN_PX = 10_000
#: a roi coordinate in px (each is also bounded by the image: Roi.box_xyxy)
MAX_ROI_PX = 1_000_000
#: the smallest subject_scale (remove.bg's scale: 10%..100%)
MIN_SUBJECT_SCALE = 0.1
#: the output canvas (--size): 40 MP, e.g. 8000x5000 (its float32 RGBA planes are 640 MB)
MAX_CANVAS_PIXELS = 40_000_000


@dataclass(frozen=True, slots=True)
class Length:
    """A distance: pixels, or a percentage of a reference length that its user names.

    Example:
        >>> Length.parse("10%").to_px(250), Length.parse("30px").to_px(250)
        (25, 30)
    """

    value: float = 0.0
    percent: bool = False

    def __post_init__(self) -> None:
        v = self.value
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise OptionsError("options.invalid", f"length {v!r} must be a number >= 0.",
                               hint="Use e.g. 20 (pixels) or Length(5, percent=True).")
        object.__setattr__(self, "value", float(v))

    @classmethod
    def parse(cls, text: str | float, name: str = "length") -> Length:
        """'30', '30px' (pixels) or '10%'."""
        s = str(text).strip().lower()
        pct = s.endswith("%")
        num = s[:-1] if pct else s.removesuffix("px")
        try:
            value = float(num)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0:
            raise OptionsError("options.invalid", f"{name}={text!r} is not a number of pixels or a percentage.",
                               hint="Use e.g. 20 (pixels), 20px or 5%.")
        return cls(value, pct)

    def within(self, max_px: float) -> bool:
        """Whether the length is at most 100% (a percentage) or at most max_px (pixels)."""
        return self.value <= (100 if self.percent else max_px)

    def to_px(self, whole: float) -> int:
        """The length in pixels; a percentage is of `whole`."""
        return round(self.value * whole / 100.0) if self.percent else round(self.value)

    def __str__(self) -> str:
        return f"{self.value:g}{'%' if self.percent else 'px'}"


class MarginBasis(str, Enum):
    """What a margin's percentage is of."""

    LONGER = "longer"  # the subject box's longer side, for every side (--margin 5%)
    AXIS = "axis"  # top/bottom: the box's height, left/right: its width (remove.bg's crop_margin)


@dataclass(frozen=True, slots=True)
class Margin:
    """Space around a cropped subject, per side (CSS order: top, right, bottom, left).

    Each side is pixels or a percentage of the subject's box (see MarginBasis). max_frac and
    max_px clamp each side to that fraction of the box's extent along the side's axis and to that
    many pixels (remove.bg: 50 % and 500 px); None leaves it unclamped.

    Example:
        >>> Margin.parse("10px 5%", basis=MarginBasis.AXIS).to_px((200, 100))
        (10, 10, 10, 10)
        >>> Margin.all(5, percent=True).to_px((200, 100))
        (10, 10, 10, 10)
    """

    top: Length = Length()
    right: Length = Length()
    bottom: Length = Length()
    left: Length = Length()
    basis: MarginBasis = MarginBasis.LONGER
    max_frac: float | None = None
    max_px: int | None = None

    def __post_init__(self) -> None:
        for side in self.sides:
            if not isinstance(side, Length):
                raise OptionsError("options.invalid", f"margin side {side!r} is not a Length.",
                                   hint="Use Margin.all(20), Margin.all(5, percent=True) or Margin.parse('10px 5%').")
            if not side.within(MAX_MARGIN_PX):
                raise OptionsError("options.invalid", f"margin {side} is out of range.",
                                   hint=f"Use 0..{MAX_MARGIN_PX} pixels or 0..100%.")
        if not isinstance(self.basis, MarginBasis):
            raise OptionsError("options.invalid", f"margin basis {self.basis!r} is not a MarginBasis.")
        if self.max_frac is not None and not (0 <= self.max_frac <= 1):
            raise OptionsError("options.invalid", f"margin max_frac={self.max_frac} must be in 0..1.")
        if self.max_px is not None and not (0 <= self.max_px <= MAX_MARGIN_PX):
            raise OptionsError("options.invalid", f"margin max_px={self.max_px} must be in 0..{MAX_MARGIN_PX}.")

    @classmethod
    def all(cls, value: float, percent: bool = False) -> Margin:
        """The same margin on every side."""
        side = Length(value, percent)
        return cls(side, side, side, side)

    @classmethod
    def parse(cls, text: str | float, *, basis: MarginBasis = MarginBasis.LONGER, max_frac: float | None = None,
              max_px: int | None = None) -> Margin:
        """1, 2 or 4 lengths as in CSS ('20', '5%', '10px 20px', '1 2 3 4'), spaces or commas between."""
        parts = str(text).replace(",", " ").split()
        if len(parts) not in (1, 2, 4):
            raise OptionsError("options.invalid", f"margin={text!r} needs 1, 2 or 4 values.",
                               hint="Use e.g. 20, 5%, '10px 20px' (top/bottom left/right) or 'T R B L'.")
        return cls.of([Length.parse(p, "margin") for p in parts], basis=basis, max_frac=max_frac, max_px=max_px)

    @classmethod
    def of(cls, sides: list[Length], *, basis: MarginBasis = MarginBasis.LONGER, max_frac: float | None = None,
           max_px: int | None = None) -> Margin:
        """1, 2 or 4 lengths in CSS order (one: every side; two: top/bottom, left/right)."""
        if len(sides) == 1:
            sides = sides * 4
        elif len(sides) == 2:
            sides = [sides[0], sides[1], sides[0], sides[1]]
        if len(sides) != 4:
            raise OptionsError("options.invalid", f"a margin needs 1, 2 or 4 values, not {len(sides)}.")
        return cls(sides[0], sides[1], sides[2], sides[3], basis=basis, max_frac=max_frac, max_px=max_px)

    @property
    def sides(self) -> tuple[Length, Length, Length, Length]:
        return (self.top, self.right, self.bottom, self.left)

    @property
    def max_side_px(self) -> float:
        """The largest side given in pixels (0 when none is)."""
        return max((s.value for s in self.sides if not s.percent), default=0.0)

    def to_px(self, box_wh: tuple[int, int]) -> tuple[int, int, int, int]:
        """(top, right, bottom, left) in pixels around a subject box of box_wh."""
        bw, bh = box_wh
        out = []
        for side, axis in zip(self.sides, (bh, bw, bh, bw)):
            px = side.to_px(max(bw, bh) if self.basis is MarginBasis.LONGER else axis)
            if self.max_frac is not None:
                px = min(px, int(self.max_frac * axis))
            if self.max_px is not None:
                px = min(px, self.max_px)
            out.append(px)
        return (out[0], out[1], out[2], out[3])

    def __str__(self) -> str:
        return " ".join(str(s) for s in self.sides)


@dataclass(frozen=True, slots=True)
class Roi:
    """A region of interest x1 y1 x2 y2 (px, or % of the image's width / height): only what is
    inside can be foreground; everything outside becomes background (remove.bg's roi).

    Example:
        >>> Roi.parse("0% 0% 50% 100%").box_xyxy((120, 80))
        (0, 0, 60, 80)
    """

    x1: Length
    y1: Length
    x2: Length
    y2: Length

    def __post_init__(self) -> None:
        for c in (self.x1, self.y1, self.x2, self.y2):
            if not isinstance(c, Length):
                raise OptionsError("options.invalid", f"roi coordinate {c!r} is not a Length.",
                                   hint="Use Roi.parse('x1 y1 x2 y2'), e.g. '0% 0% 50% 100%'.")
            if not c.within(MAX_ROI_PX):
                raise OptionsError("options.roi-outside", f"roi coordinate {c} is out of range.",
                                   hint=f"Use 0..100% or 0..{MAX_ROI_PX} px.")

    @classmethod
    def parse(cls, text: str) -> Roi:
        parts = str(text).replace(",", " ").split()
        if len(parts) != 4:
            raise OptionsError("options.invalid", f"roi={text!r} needs 4 values x1 y1 x2 y2.",
                               hint="Use e.g. '0% 0% 50% 100%' or '10px 10px 400px 300px'.")
        x1, y1, x2, y2 = (Length.parse(p, "roi") for p in parts)
        return cls(x1, y1, x2, y2)

    def box_xyxy(self, size_wh: tuple[int, int]) -> tuple[int, int, int, int]:
        """(x1, y1, x2, y2) in pixels of an image of size_wh; refuses an empty box or one outside it."""
        w, h = size_wh
        x1, y1, x2, y2 = self.x1.to_px(w), self.y1.to_px(h), self.x2.to_px(w), self.y2.to_px(h)
        if x2 <= x1 or y2 <= y1:
            raise OptionsError("options.roi-empty", f"The roi {self} is empty on this {w}x{h} image.",
                               hint="Give x1 < x2 and y1 < y2.")
        if x2 > w or y2 > h:
            raise OptionsError("options.roi-outside", f"The roi {self} reaches outside this {w}x{h} image.",
                               hint=f"Keep x2 <= {w} and y2 <= {h} px, or use percentages.")
        return (x1, y1, x2, y2)

    @property
    def in_px(self) -> bool:
        """True when a coordinate is in pixels (so it depends on the decoded size)."""
        return any(not c.percent for c in (self.x1, self.y1, self.x2, self.y2))

    def __str__(self) -> str:
        return " ".join(str(c) for c in (self.x1, self.y1, self.x2, self.y2))


_UNITS_PER_INCH = {"px": None, "in": 1.0, "mm": 25.4, "cm": 2.54}


def parse_size(text: str, *, dpi: int = 300) -> tuple[int, int]:
    """'800x600', '2000' (square), '35x45mm', '2x2in' at `dpi` -> (width, height) in pixels."""
    s = str(text).strip().lower().replace(" ", "")
    unit = "px"
    for u in ("mm", "cm", "in", "px"):
        if s.endswith(u):
            unit, s = u, s[: -len(u)]
            break
    parts = s.split("x")
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        nums = []
    if len(nums) == 1:
        nums = nums * 2
    if len(nums) != 2 or not all(math.isfinite(n) for n in nums) or min(nums) <= 0 or max(nums) > 1e6:
        raise OptionsError("options.invalid", f"size={text!r} is not a size.",
                           hint="Use WxH in pixels (800x600), one number for a square, or 35x45mm / 2x2in.")
    per_inch = _UNITS_PER_INCH[unit]
    w, h = ((round(n) for n in nums) if per_inch is None else (round(n / per_inch * dpi) for n in nums))
    if not (1 <= w <= 20000 and 1 <= h <= 20000) or w * h > MAX_CANVAS_PIXELS:
        raise OptionsError("options.invalid", f"size={text!r} gives {w}x{h} px; sides must be 1..20000 and "
                           f"the canvas at most {MAX_CANVAS_PIXELS / 1e6:g} MP.")
    return (w, h)


def parse_scale(text: str | float) -> float | None:
    """remove.bg's scale: 'original' (None), '80%' or 0.8 → a fraction of the frame."""
    s = str(text).strip().lower()
    if s in ("", "original"):
        return None
    try:
        value = float(s[:-1]) / 100.0 if s.endswith("%") else float(s)
    except ValueError:
        raise OptionsError("options.invalid", f"scale={text!r} is not a percentage.",
                           hint="Use original or 10%..100%.") from None
    if not math.isfinite(value):
        raise OptionsError("options.invalid", f"scale={text!r} is not a percentage.", hint="Use 10%..100%.")
    return value


def parse_position(text: str) -> tuple[float, float] | None:
    """remove.bg's position: 'original' (None), 'center', 'X%' (both axes) or 'X% Y%' → fractions."""
    s = str(text).strip().lower()
    if s in ("", "original"):
        return None
    if s == "center":
        return (0.5, 0.5)
    parts = s.replace(",", " ").split()
    try:
        values = [float(p[:-1]) / 100.0 if p.endswith("%") else float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (1, 2) or not all(math.isfinite(v) for v in values):
        raise OptionsError("options.invalid", f"position={text!r} is not a position.",
                           hint="Use original, center, 30% (both axes) or '0% 100%' (x y).")
    return (values[0], values[-1])
