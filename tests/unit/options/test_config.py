from __future__ import annotations

from pathlib import Path

import pytest

from alphacut.config import ValueSource, load_settings
from alphacut.errors import OptionsError
from alphacut.options import Background, Color, Options, OutputFormat


@pytest.mark.parametrize("text,rgba", [
    ("white", (255, 255, 255, 255)), ("#000", (0, 0, 0, 255)), ("#0a0", (0, 170, 0, 255)),
    ("#12345678", (0x12, 0x34, 0x56, 0x78)), ("ff8000", (255, 128, 0, 255)), ("10, 20, 30", (10, 20, 30, 255)),
    ("LightBlue", (173, 216, 230, 255)),
])
def test_color_parse(text, rgba):
    c = Color.parse(text)
    assert (c.r, c.g, c.b, c.a) == rgba


@pytest.mark.parametrize("text", ["whit", "#12", "300,0,0", "", "rgb(1,2,3)"])
def test_bad_colours(text):
    with pytest.raises(OptionsError) as err:
        Color.parse(text)
    assert err.value.code == "options.invalid"


def test_bad_colour_suggests_a_name():
    with pytest.raises(OptionsError) as err:
        Color.parse("whte")
    assert "white" in (err.value.hint or "")


def test_formats_and_options():
    assert OutputFormat.parse("JPEG") is OutputFormat.JPEG and OutputFormat.JPEG.extension == ".jpg"
    assert OutputFormat.MASK.extension == ".png"
    o = Options.from_kwargs(format="webp", background="transparent", resolution=768)
    assert o.format is OutputFormat.WEBP and o.background == Background.transparent() and o.resolution == 768
    for bad in ({"resolution": 10}, {"max_pixels": 0}, {"jpeg_quality": 101}):
        with pytest.raises(OptionsError):
            Options(**bad)


def test_settings_precedence(tmp_path: Path):
    cfg = tmp_path / "config.toml"
    cfg.write_text('threads = 3\noffline = true\nmodel = "from-config"\n')
    s = load_settings({}, env={}, config_file=cfg)
    assert s.threads.value == 3 and s.threads.source is ValueSource.CONFIG
    assert s.offline.value is True
    s = load_settings({}, env={"ALPHACUT_THREADS": "5", "ALPHACUT_OFFLINE": "0"}, config_file=cfg)
    assert s.threads.value == 5 and s.threads.source is ValueSource.ENV and s.offline.value is False
    s = load_settings({"threads": 1, "model": None}, env={"ALPHACUT_THREADS": "5"}, config_file=cfg)
    assert s.threads.value == 1 and s.threads.source is ValueSource.FLAG
    assert s.model.value == "from-config"
    s = load_settings({}, env={"ALPHACUT_HOME": str(tmp_path / "h")}, config_file=tmp_path / "none.toml")
    assert s.home_path == tmp_path / "h" and s.home.source is ValueSource.ENV
    assert s.threads.value is None and s.threads.source is ValueSource.DEFAULT


@pytest.mark.parametrize("env", [{"ALPHACUT_THREADS": "zero"}, {"ALPHACUT_OFFLINE": "maybe"},
                                 {"ALPHACUT_MAX_PIXELS": "-1"}])
def test_bad_settings_are_clear(env, tmp_path):
    with pytest.raises(OptionsError):
        load_settings({}, env=env, config_file=tmp_path / "none.toml")


def test_broken_config_file(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text("threads = = 3")
    with pytest.raises(OptionsError) as err:
        load_settings({}, env={}, config_file=cfg)
    assert err.value.code == "options.bad-config"


def test_fast_mode_constants_agree():
    from alphacut import options
    from alphacut.cli import remove

    assert (remove.FAST_MODEL, remove.FAST_RESOLUTION) == (options.FAST_MODEL, options.FAST_RESOLUTION)
