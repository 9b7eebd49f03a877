"""The ID-photo rules (data, each with its source): the geometry an ICAO or US passport photo must have.

Plain data at the bottom of the package, so options (the id_rule check), presets (the id-photo
sizes) and ops.framing (the framing) read the same values without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ID_RULES", "IdPhotoRule"]


@dataclass(frozen=True, slots=True)
class IdPhotoRule:
    """The geometry an ID photo must have, as fractions of the photo's height (data, with its source).

    head: crown (top of the hair) to chin; top: space above the crown; eyes: the eye line's height
    above the bottom edge. Each has an allowed range and the target the framing aims for.
    """

    name: str
    size_wh: tuple[int, int]  # pixels at 300 dpi
    head_range: tuple[float, float]
    head: float
    top_range: tuple[float, float]
    top: float
    eyes_range: tuple[float, float]
    source: str


ID_RULES: dict[str, IdPhotoRule] = {
    "icao": IdPhotoRule(
        name="icao", size_wh=(413, 531),  # 35 x 45 mm at 300 dpi
        head_range=(32 / 45, 36 / 45), head=34 / 45,  # chin to crown 32-36 mm (70-80% of the height)
        top_range=(3 / 45, 6 / 45), top=4.5 / 45,  # 3-6 mm of space above the head
        eyes_range=(0.50, 0.70),  # eye line 50-70% of the height above the bottom
        source="ICAO Doc 9303 Part 3 and its photo guidelines (35x45 mm, chin to crown 32-36 mm, head "
               "centred); ISO/IEC 19794-5 full-frontal geometry (eye line 50-70% of the height from the bottom); "
               "the space above the head (3-6 mm) as national offices that apply ICAO state it.",
    ),
    "us": IdPhotoRule(
        name="us", size_wh=(600, 600),  # 2 x 2 in at 300 dpi
        head_range=(1.0 / 2.0, 1.375 / 2.0), head=1.1875 / 2.0,  # head 1 to 1 3/8 in of 2 in
        top_range=(0.08 / 2.0, 0.5 / 2.0), top=0.2 / 2.0,
        eyes_range=(1.125 / 2.0, 1.375 / 2.0),  # eye line 1 1/8 to 1 3/8 in above the bottom
        source="U.S. Department of State, passport photo requirements (2x2 in; head from the bottom of "
               "the chin to the top of the head 1 to 1 3/8 in; eyes 1 1/8 to 1 3/8 in from the bottom).",
    ),
}
