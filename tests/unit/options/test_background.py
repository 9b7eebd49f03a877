"""Background: one tagged type (transparent | colour | image | blur), parsed once at the edge."""

from __future__ import annotations

import pytest

from alphacut import Background, BackgroundKind, Color, Options, OptionsError, OutputFormat


@pytest.mark.parametrize("text,kind,described", [
    ("transparent", BackgroundKind.TRANSPARENT, "transparent"), ("", BackgroundKind.TRANSPARENT, "transparent"),
    ("none", BackgroundKind.TRANSPARENT, "transparent"), ("white", BackgroundKind.COLOR, "#ffffff"),
    ("#ff000080", BackgroundKind.COLOR, "#ff000080"), ("0,128,0", BackgroundKind.COLOR, "#008000"),
    ("blur", BackgroundKind.BLUR, "blur:20"), ("BLUR:7.5", BackgroundKind.BLUR, "blur:7.5"),
])
def test_parse_gives_one_kind(text, kind, described):
    bg = Background.parse(text)
    assert bg.kind is kind and bg.describe() == described


@pytest.mark.parametrize("text", ["blur:0", "blur:-3", "blur:501", "blur:x", "nocolour", "image:/etc/passwd",
                                  "/etc/passwd"])
def test_parse_refuses_bad_text_and_never_reads_a_path(text):
    with pytest.raises(OptionsError) as err:
        Background.parse(text)
    assert err.value.code == "options.invalid"


@pytest.mark.parametrize("kwargs", [
    {"kind": BackgroundKind.COLOR}, {"kind": BackgroundKind.BLUR}, {"kind": BackgroundKind.IMAGE},
    {"kind": BackgroundKind.TRANSPARENT, "color": Color(1, 2, 3)},
    {"kind": BackgroundKind.COLOR, "color": Color(1, 2, 3), "blur_px": 3.0},
    {"kind": BackgroundKind.COLOR, "color": "white"}, {"kind": "blur", "blur_px": 3.0},
    {"kind": BackgroundKind.IMAGE, "image": 123},
])
def test_payload_must_match_the_kind(kwargs):
    with pytest.raises(OptionsError):
        Background(**kwargs)


def test_opaque_kinds():
    assert not Background.transparent().is_opaque
    assert Background.solid("white").is_opaque and not Background.solid("#ffffff80").is_opaque
    assert Background.picture(b"..").is_opaque and Background.blurred(3).is_opaque


def test_options_take_only_a_background_and_kwargs_parse_text_or_colour():
    with pytest.raises(OptionsError):
        Options(background=Color(1, 2, 3))  # type: ignore[arg-type]
    assert Options.from_kwargs(background="blur:5").background == Background.blurred(5)
    assert Options.from_kwargs(background=Color(1, 2, 3)).background == Background.solid(Color(1, 2, 3))
    assert Options.from_user(bg_image="p.png").background == Background.picture("p.png")
    with pytest.raises(OptionsError) as err:
        Options.from_user(bg="white", bg_image="p.png")
    assert err.value.code == "options.conflict"


def test_jpeg_is_white_unless_told_and_refuses_see_through():
    assert Options(format=OutputFormat.JPEG).background == Background.solid("white")
    assert Options(format=OutputFormat.JPEG, background=Background.blurred(4)).background.kind is BackgroundKind.BLUR
    assert Options.from_user(format="jpg", bg_image="p.png").background.kind is BackgroundKind.IMAGE
    with pytest.raises(OptionsError):
        Options(format=OutputFormat.JPEG, background=Background.solid("#00000080"))
