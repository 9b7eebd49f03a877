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

__all__ = ["APP_NAME", "RUNTIMES", "Setting", "Settings", "ValueSource", "load_settings", "parse_bytes"]

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
    max_bytes: Setting = Setting(0, ValueSource.DEFAULT)  # int: the largest encoded image read (file, stdin, upload)
    max_memory: Setting = Setting(None, ValueSource.DEFAULT)  # int | None: memory one cutout may need; None: auto
    #: str: the inference runtime, one of RUNTIMES ("auto": OpenVINO where it runs, else onnxruntime)
    runtime: Setting = Setting("auto", ValueSource.DEFAULT)

    @property
    def home_path(self) -> Path:
        return Path(self.home.value)

    def as_rows(self) -> list[tuple[str, str, str]]:
        rows = []
        for name in ("home", "offline", "model", "threads", "max_pixels", "max_bytes", "max_memory", "runtime"):
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


def _flag_names(config: dict[str, Any], path: Path) -> dict[str, Any]:
    """Config keys by the CLI's spelling (max-pixels) or the field's (max_pixels); both, differing: an error."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = key.replace("-", "_")
        if name in out and out[name] != value:
            raise OptionsError("options.bad-config", f"The config file {path} sets {name} twice, with "
                               f"different values ({out[name]!r} and {value!r}).", hint=f"Keep one {key}.")
        out[name] = value
    return out


_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
          "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30, "t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40}


def parse_bytes(text: Any, name: str) -> int:
    """A size in bytes: 1048576, 400M, 1.5G, 512MiB (K, M, G, T are powers of 1024).

    Example:
        >>> parse_bytes("1.5G", "max_memory")
        1610612736
    """
    import re

    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", str(text))
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS:
        raise OptionsError("options.invalid", f"{name}={text!r} is not a size.",
                           hint="Give bytes, or a number with K, M, G or T (powers of 1024): e.g. 400M, 2G.")
    value = int(float(match.group(1)) * _UNITS[unit])
    if value < 1:
        raise OptionsError("options.invalid", f"{name}={text!r} must be at least 1 byte.")
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
    from .options import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, parse_bool

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
        config = _flag_names(config, path)

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
        max_bytes=pick("max_bytes", "ALPHACUT_MAX_BYTES", DEFAULT_MAX_BYTES, lambda v: parse_bytes(v, "max_bytes")),
        max_memory=pick("max_memory", "ALPHACUT_MAX_MEMORY", None, lambda v: parse_bytes(v, "max_memory")),
        runtime=pick("runtime", "ALPHACUT_RUNTIME", "auto", _parse_runtime),
    )
