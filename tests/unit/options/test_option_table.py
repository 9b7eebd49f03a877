"""The option table (alphacut.option_table) is the one declaration of every option: it agrees with
Options, and its user-facing names work in Python, over HTTP, on the CLI and in presets."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import pytest
from click.testing import CliRunner

from alphacut import Options, OptionsError, Remover
from alphacut.option_table import BY_NAME, OPTION_TABLE, option_for
from alphacut.options import Background, Color
from alphacut.presets import PRESETS

from ..conftest import encoded, square_image


def test_every_field_has_a_row_and_every_row_a_field() -> None:
    names = {f.name for f in fields(Options)}
    assert {spec.field for spec in OPTION_TABLE} == names
    for spec in OPTION_TABLE:
        assert spec.help and spec.bounds, spec.name
        assert BY_NAME[spec.field].field == spec.field  # the field's own name is an alias


@pytest.mark.parametrize(("user", "field", "value", "expected"), [
    ("bg", "background", "white", Background.solid(Color(255, 255, 255))),
    ("size", "size_wh", "800x600", (800, 600)),
    ("fill", "fill_frac", "0.5", 0.5),
    ("erode", "erode_px", "3", 3),
    ("dilate", "dilate_px", 4, 4),
    ("min_area", "min_area_px", "10", 10),
    ("outline", "outline_px", "5", 5),
    ("scale", "subject_scale", "50%", 0.5),
    ("position", "subject_position", "center", (0.5, 0.5)),
    ("outline_colour", "outline_color", "red", Color(255, 0, 0)),
])
def test_user_names_and_field_names_both_work_in_python(user: str, field: str, value: Any, expected: Any) -> None:
    extra = {"size": "100x100"} if field == "fill_frac" else {}
    assert getattr(Options.from_kwargs(**{user: value}, **extra), field) == expected
    assert getattr(Options.from_kwargs(**{field: value}, **extra), field) == expected
    assert getattr(Options.from_user(**{user: value}, **extra), field) == expected


def test_a_name_and_its_alias_with_different_values_is_an_error_naming_both() -> None:
    with pytest.raises(OptionsError) as err:
        Options.from_kwargs(bg="white", background="black")
    assert err.value.code == "options.conflict"
    assert "bg" in err.value.message and "background" in err.value.message
    with pytest.raises(OptionsError) as err:
        Options.from_kwargs(size="10x10", size_wh=(20, 20))
    assert "size" in err.value.message and "size_wh" in err.value.message
    # the same value twice is no conflict
    assert Options.from_kwargs(erode=2, erode_px=2).erode_px == 2


def test_unknown_name_suggests_the_user_name() -> None:
    with pytest.raises(OptionsError) as err:
        Options.from_kwargs(erod=2)
    assert err.value.code == "options.invalid" and "erode" in (err.value.hint or "")


def test_remove_and_remover_take_the_cli_names(tiny_spec: Any) -> None:
    from alphacut.runtime.fake import FakeBackend

    remover = Remover(tiny_spec, backend=FakeBackend(size_hw=(64, 64)))
    png = encoded(square_image(), "PNG")
    assert remover.remove(png, bg="white", size="50x40").size == (50, 40)
    assert remover.remove(png, bg="white").mode == "RGB"
    assert remover.remove(png, background="white").mode == "RGB"
    assert remover.remove_bytes(png, format="jpg", erode=1)[:2] == b"\xff\xd8"


def test_presets_are_written_in_the_user_names() -> None:
    for preset in PRESETS.values():
        for name in preset.values:
            assert option_for(name).name == name, (preset.name, name)  # not a field name like size_wh


def test_every_image_option_is_a_flag_of_remove_and_every_video_option_of_video() -> None:
    from alphacut import cli

    for command, where in (("remove", "image"), ("video", "video")):
        text = CliRunner().invoke(cli.main, [command, "--help"], terminal_width=200).output
        for spec in OPTION_TABLE:
            if where in spec.where and not (command == "video" and spec.video_refused):
                assert spec.flag in text, (command, spec.flag)
            elif where not in spec.where:
                assert spec.flag not in text.replace("--no-decontaminate", ""), (command, spec.flag)


def test_http_fields_are_the_table_rows_set_over_http() -> None:
    pytest.importorskip("python_multipart")
    from alphacut.server.schemas import OPTION_FIELDS

    expected = {n for spec in OPTION_TABLE if "http" in spec.where for n in (spec.name, *spec.http_aliases)}
    assert set(OPTION_FIELDS) == expected
    assert {"bg", "background", "size", "fill", "erode", "format", "f"} <= expected


def test_config_file_takes_the_flag_spelling(tmp_path: Any) -> None:
    from alphacut.config import load_settings

    cfg = tmp_path / "config.toml"
    cfg.write_text("max-pixels = 1000\n")
    assert load_settings({}, env={}, config_file=cfg).max_pixels.value == 1000
    cfg.write_text("max-pixels = 1000\nmax_pixels = 2000\n")
    with pytest.raises(OptionsError) as err:
        load_settings({}, env={}, config_file=cfg)
    assert err.value.code == "options.bad-config" and "max_pixels" in err.value.message


def test_a_preset_given_as_a_keyword_override_applies(tiny_spec: Any) -> None:
    """remover.remove(img, preset="ecommerce") used to keep the Remover's own (default) values over the
    preset's, so only its name was applied."""
    from alphacut.runtime.fake import FakeBackend

    remover = Remover(tiny_spec, backend=FakeBackend(size_hw=(64, 64)))
    png = encoded(square_image(), "PNG")
    out = remover.cutout(png, preset="ecommerce", size="300")
    assert out.image.size == (300, 300) and out.image.mode == "RGB"  # the preset's white background
