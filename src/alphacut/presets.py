"""Named, documented sets of options: each preset is an Options value, not code."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .errors import OptionsError, suggest
from .options import Background, Color, Margin, Options, Shape

__all__ = ["PRESETS", "Preset", "get_preset"]


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    description: str
    values: Mapping[str, Any]

    def apply(self, overrides: Mapping[str, Any] | None = None) -> Options:
        """The preset's options, with explicit overrides (e.g. size_wh, background) on top."""
        return Options(**{**self.values, **(overrides or {}), "preset": self.name})


def _p(name: str, description: str, **values: Any) -> Preset:
    return Preset(name, description, MappingProxyType(values))


WHITE = Color(255, 255, 255)

PRESETS: Mapping[str, Preset] = MappingProxyType({p.name: p for p in (
    _p("ecommerce", "Product shot: white background, subject centred, its box filling 85% of a "
       "2000x2000 canvas (change with --size).",
       background=Background.solid(WHITE), size_wh=(2000, 2000), fill_frac=0.85),
    _p("id-photo", "ID / passport photo 35x45 mm at 300 dpi (413x531 px), white background "
       "(--bg lightblue for blue), one person, head from crown to chin 74% of the height, 9% above it.",
       background=Background.solid(WHITE), size_wh=(413, 531), head_frame=(0.09, 0.74), subject="largest"),
    _p("id-photo-us", "US passport / visa photo 2x2 in at 300 dpi (600x600 px), white background, "
       "head 60% of the height, 12% above it.",
       background=Background.solid(WHITE), size_wh=(600, 600), head_frame=(0.12, 0.60), subject="largest"),
    _p("avatar", "Square 512x512 profile picture, transparent, subject centred filling 90%.",
       size_wh=(512, 512), fill_frac=0.9, subject="largest"),
    _p("avatar-circle", "Round 512x512 profile picture: like avatar, transparent outside the circle.",
       size_wh=(512, 512), fill_frac=0.9, subject="largest", shape=Shape.CIRCLE),
    _p("sticker", "Sticker: transparent, cropped to the subject with a 6% margin, 12 px white outline.",
       crop=True, margin=Margin(6.0, True), outline_px=12, outline_color=WHITE),
)})


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise OptionsError("options.invalid", f"No preset named '{name}'.",
                           hint=suggest(name, PRESETS) or f"Presets: {', '.join(PRESETS)}.") from None
