"""Named, documented sets of options: plain data in the user-facing names (bg, size, fill, ...).

A preset's values are read like a user's (alphacut.option_table), so they need nothing from
options.py: Options.from_kwargs(preset=...) reads them, below it in the import layers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .errors import OptionsError, suggest
from .id_rules import ID_RULES

__all__ = ["PRESETS", "Preset", "get_preset"]


@dataclass(frozen=True, slots=True)
class Preset:
    """A name, one line for `alphacut presets`, and option values by their user-facing names."""

    name: str
    description: str
    values: Mapping[str, Any]


def _p(name: str, description: str, **values: Any) -> Preset:
    return Preset(name, description, MappingProxyType(values))


def _id_photo(rule_name: str) -> dict[str, Any]:
    """An ID-photo preset's options from its rule (alphacut.id_rules: sizes and ranges, with sources)."""
    rule = ID_RULES[rule_name]
    return {"bg": "white", "size": rule.size_wh, "head_frame": (rule.top, rule.head), "id_rule": rule.name,
            "subject": "largest"}


PRESETS: Mapping[str, Preset] = MappingProxyType({p.name: p for p in (
    _p("ecommerce", "Product shot: white background, subject centred, its box filling 85% of a "
       "2000x2000 canvas (change with --size).",
       bg="white", size="2000x2000", fill=0.85),
    _p("id-photo", "ID / passport photo by ICAO 9303: 35x45 mm at 300 dpi (413x531 px), white "
       "background (--bg lightblue for blue), exactly one face (detected; eyes levelled), crown to chin "
       "34 mm (76%; rule 32-36 mm), 4.5 mm above the crown, head centred.",
       **_id_photo("icao")),
    _p("id-photo-us", "US passport / visa photo 2x2 in at 300 dpi (600x600 px), white background, exactly "
       "one face (detected; eyes levelled), head 1 3/16 in (59%; rule 1-1 3/8 in), eyes 1 1/8-1 3/8 in "
       "above the bottom.",
       **_id_photo("us")),
    _p("avatar", "Square 512x512 profile picture, transparent, subject centred filling 90%.",
       size="512x512", fill=0.9, subject="largest"),
    _p("avatar-circle", "Round 512x512 profile picture: like avatar, transparent outside the circle.",
       size="512x512", fill=0.9, subject="largest", shape="circle"),
    _p("sticker", "Sticker: transparent, cropped to the subject with a 6% margin, 12 px white outline.",
       crop=True, margin="6%", outline=12, outline_color="white"),
)})


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise OptionsError("options.invalid", f"No preset named '{name}'.",
                           hint=suggest(name, PRESETS) or f"Presets: {', '.join(PRESETS)}.") from None
