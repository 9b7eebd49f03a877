"""Settings: CLI flag > ALPHACUT_* environment variable > config file > default.

This is the only module that reads ``os.environ`` or the config file. Every value remembers
where it came from, so ``alphacut doctor`` can say why it is what it is.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from .errors import OptionsError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["APP_NAME", "RUNTIMES", "Setting", "Settings", "ValueSource", "load_settings"]

APP_NAME = "alphacut"

#: The inference runtimes a user can choose (--runtime, ALPHACUT_RUNTIME, `runtime` in the config file).
RUNTIMES = ("auto", "openvino", "onnxruntime")


class ValueSource(str, Enum):
    FLAG = "flag"
    ENV = "env"
    CONFIG = "config file"
    DEFAULT = "default"


@dataclass(frozen=True, slots=True)
class Setting:
    value: Any
    source: ValueSource


@dataclass(frozen=True, slots=True)
class Settings:
    """Resolved settings, each with the place it came from."""

    home: Setting  # Path: where models (and the user catalog) are cached
    offline: Setting  # bool: never touch the network
    model: Setting  # str | None: model id; None means the catalog's default
    threads: Setting  # int | None: intra-op threads; None means all cores
    max_pixels: Setting  # int
    config_file: Path
    #: str: the inference runtime, one of RUNTIMES ("auto": OpenVINO where it runs, else onnxruntime)
    runtime: Setting = Setting("auto", ValueSource.DEFAULT)

    @property
    def home_path(self) -> Path:
        return Path(self.home.value)

    def as_rows(self) -> list[tuple[str, str, str]]:
        rows = []
        for name in ("home", "offline", "model", "threads", "max_pixels", "runtime"):
            s: Setting = getattr(self, name)
            rows.append((name, str(s.value), s.source.value))
        return rows


def _default_home() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def _config_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


def _parse_int(text: Any, name: str) -> int:
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise OptionsError("options.invalid", f"{name}={text!r} is not a whole number.") from None
    if value < 1:
        raise OptionsError("options.invalid", f"{name}={value} must be at least 1.")
    return value


def _parse_runtime(text: Any) -> str:
    value = str(text).strip().lower()
    if value not in RUNTIMES:
        raise OptionsError("options.invalid", f"runtime={text!r} is not one of {', '.join(RUNTIMES)}.",
                           hint="auto picks OpenVINO where it runs on this CPU, else onnxruntime.")
    return value


def load_settings(flags: Mapping[str, Any] | None = None,
                  env: Mapping[str, str] | None = None,
                  config_file: Path | None = None) -> Settings:
    """Resolve settings from flags (None values are unset), the environment and the config file."""
    from .options import DEFAULT_MAX_PIXELS, parse_bool

    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    env = os.environ if env is None else env
    path = config_file or Path(env.get("ALPHACUT_CONFIG") or _config_path())
    config: dict[str, Any] = {}
    if path.is_file():
        try:
            config = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise OptionsError("options.bad-config", f"Can't read the config file {path}: {exc}.",
                               hint="Fix it or delete it.") from exc

    def pick(name: str, env_name: str, default: Any, parse: Any) -> Setting:
        if name in flags:
            return Setting(parse(flags[name]), ValueSource.FLAG)
        if env.get(env_name) not in (None, ""):
            return Setting(parse(env[env_name]), ValueSource.ENV)
        if name in config:
            return Setting(parse(config[name]), ValueSource.CONFIG)
        return Setting(default() if callable(default) else default, ValueSource.DEFAULT)

    def as_bool(v: Any) -> bool:
        return parse_bool(v if isinstance(v, bool) else str(v), "offline", default=False)

    return Settings(
        home=pick("home", "ALPHACUT_HOME", _default_home, lambda v: Path(v).expanduser()),
        offline=pick("offline", "ALPHACUT_OFFLINE", False, as_bool),
        model=pick("model", "ALPHACUT_MODEL", None, str),
        threads=pick("threads", "ALPHACUT_THREADS", None, lambda v: _parse_int(v, "threads")),
        max_pixels=pick("max_pixels", "ALPHACUT_MAX_PIXELS", DEFAULT_MAX_PIXELS,
                        lambda v: _parse_int(v, "max_pixels")),
        config_file=path,
        runtime=pick("runtime", "ALPHACUT_RUNTIME", "auto", _parse_runtime),
    )
