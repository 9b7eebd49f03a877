"""What the server reads and answers: settings, request fields → Options, errors, in-memory bodies.

Request fields are mapped to :class:`~alphacut.options.Options` in ONE place,
:func:`options_from_fields`, driven by the :data:`OPTION_FIELDS` table: a new option is one row.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from python_multipart.multipart import MultipartParser, parse_options_header

from ..errors import AlphacutError, OptionsError, ServerError
from ..option_table import OPTION_TABLE
from ..options import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, Options, Quality
from ..options import parse_bool as _parse_bool

__all__ = [
    "OPTION_FIELDS",
    "ROUTED_FIELDS",
    "RequestData",
    "ServerSettings",
    "error_body",
    "options_from_fields",
    "parse_body",
    "parse_bool",
]

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """How the server runs. Built by `alphacut serve` from its flags; tests build their own."""

    host: str = "127.0.0.1"
    port: int = 7000
    api_key: str | None = None
    workers: int = 2
    queue: int = 8
    #: the largest image in bytes (a file part, a raw body, base64 decoded); bodies may be 4/3 of it + fields
    max_bytes: int = DEFAULT_MAX_BYTES
    timeout_s: float = 120.0
    #: bytes the requests in flight may need at their peak together (alphacut.cost); None: from RAM and workers
    max_memory: int | None = None
    #: the largest `resolution` a request may ask for (the model's memory grows with its square)
    max_resolution: int = 2048
    #: seconds a client has to send its whole body, counted from the request's start (408 after)
    read_timeout_s: float = 60.0
    #: the most fields (form, multipart parts, JSON keys) one request may have
    max_fields: int = 256
    max_pixels: int = DEFAULT_MAX_PIXELS
    retry_after_s: int = 5
    #: more Host names (NAME or NAME:PORT) and page origins (scheme://host[:port]) to accept: server/origin.py
    allow_hosts: tuple[str, ...] = ()
    allow_origins: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.workers < 1 or self.queue < 0:
            raise OptionsError("options.invalid", "--workers must be >= 1 and --queue >= 0.")
        if self.max_bytes < 1 or self.timeout_s <= 0 or self.read_timeout_s <= 0 or self.max_resolution < 1 \
                or (self.max_memory is not None and self.max_memory < 1) or self.max_fields < 1:
            raise OptionsError("options.invalid", "--max-bytes, --max-memory, --max-resolution, --timeout and "
                               "--read-timeout must be positive.")
        from .origin import check_host, check_origin

        for origin in self.allow_origins:
            problem = check_origin(origin)
            if problem:
                raise OptionsError("options.invalid", problem, hint="e.g. --allow-origin http://localhost:5173")
        for host in self.allow_hosts:
            problem = check_host(host)
            if problem:
                raise OptionsError("options.invalid", problem, hint="e.g. --allow-host mybox.local")

    @property
    def max_body_bytes(self) -> int:
        """The largest request body: the image as base64 (4/3 of max_bytes) plus room for the fields."""
        return self.max_bytes * 4 // 3 + 64 * 1024

    @property
    def is_loopback(self) -> bool:
        return self.host in ("127.0.0.1", "localhost", "::1") or self.host.startswith("127.")


def error_body(exc: AlphacutError) -> dict[str, Any]:
    """alphacut's own error shape: {"error": {"code", "message", "hint"}}."""
    return {"error": exc.to_dict()}


@dataclass(slots=True)
class RequestData:
    """A parsed request body, held in memory only: text fields and file parts."""

    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    raw: bytes | None = None  # a body that was the image itself
    json_body: bool = False
    #: fields given more than once with different values (in the query, or in the body): name → values
    repeated: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, value: str, into: dict[str, str] | None = None) -> None:
        """One field; a second, different value for a name is recorded in `repeated` (check_repeated)."""
        into = self.fields if into is None else into
        if name in into and into[name] != value:
            self.repeated.setdefault(name, [into[name]]).append(value)
        into[name] = value

    def merge_query(self, query: Mapping[str, str]) -> None:
        """The query's fields; a body field of the same name wins (as it always did)."""
        pairs = query.multi_items() if hasattr(query, "multi_items") else query.items()
        seen: dict[str, str] = {}
        for key, value in pairs:
            self.add(key, value, into=seen)
        for key, value in seen.items():
            self.fields.setdefault(key, value)

    def check_repeated(self) -> None:
        """400 for a field given twice with different values (`?quality=best&quality=standard`): which
        one was meant is a guess, and a guess here would be silent."""
        if self.repeated:
            name, values = next(iter(self.repeated.items()))
            raise ServerError("options.invalid", f"{name} is given {len(values)} times, with different values "
                              f"({', '.join(repr(v) for v in values)}).", field_name=name,
                              hint=f"Send {name} once.")


def parse_bool(value: str | bool | None, name: str, default: bool = False) -> bool:
    """A yes/no request field; absent or empty means `default` (options.parse_bool)."""
    return _parse_bool(value, name, default)


def _int(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise OptionsError("options.invalid", f"{name}={value!r} is not a whole number.") from None


def _text(value: str, name: str) -> str:
    return value


def _flag(value: str, name: str) -> bool:
    return parse_bool(value, name)


_WHOLE_NUMBER = re.compile(r"[0-9]+")


def _quality(value: str, name: str) -> tuple[str, Any]:
    """`quality`: standard or best (the matte: Options.quality), or a whole number, which older clients
    sent as an alias of jpeg_quality (1..100); returns the option it sets and its value."""
    text = value.strip()
    if _WHOLE_NUMBER.fullmatch(text):
        return "jpeg_quality", int(text)
    try:
        return "quality", Quality.parse(text)
    except OptionsError:
        raise OptionsError("options.invalid", f"{name}={value!r} is not standard or best.",
                           hint="Use quality=standard (one network run) or quality=best (two: the image and "
                                "its mirror image, averaged); a whole number 1..100 is still read as "
                                "jpeg_quality, the output's JPEG/WebP quality.") from None


_READERS: dict[str, Callable[[str, str], Any]] = {"int": _int, "flag": _flag}


def _option_fields() -> dict[str, tuple[str, Callable[[str, str], Any]]]:
    """OPTION_FIELDS from the option table: each row set over HTTP, by its name and its HTTP aliases."""
    out: dict[str, tuple[str, Callable[[str, str], Any]]] = {}
    for spec in OPTION_TABLE:
        if "http" in spec.where:
            for name in (spec.name, *spec.http_aliases):
                out[name] = (spec.name, _READERS.get(spec.kind, _text))
    return out


#: request field name → (the user-facing option name of Options.from_user, parser of the string),
#: derived from alphacut.option_table. The names are the CLI's flags (bg, size, fill, erode, ...);
#: aliases (f, background) map to the same option.
OPTION_FIELDS: dict[str, tuple[str, Callable[[str, str], Any]]] = _option_fields()

#: fields whose value decides which option they set: name → parser returning (option, value).
#: `quality` is standard/best, or an integer, the jpeg_quality alias older clients send.
ROUTED_FIELDS: dict[str, Callable[[str, str], tuple[str, Any]]] = {"quality": _quality}

#: fields the routes read themselves (not Options)
CONTROL_FIELDS = frozenset({"file", "model", "image", "api_key", "image_url"})


def request_body_doc(fields: Mapping[str, str], file_fields: tuple[str, ...], *, raw: bool) -> dict[str, Any]:
    """OpenAPI requestBody for routes that parse their own body (so /docs can offer file upload)."""
    props: dict[str, Any] = {name: {"type": "string", "format": "binary"} for name in file_fields}
    props.update({name: {"type": "string", "description": text} for name, text in fields.items()})
    content: dict[str, Any] = {"multipart/form-data": {"schema": {"type": "object", "properties": props}},
                               "application/x-www-form-urlencoded": {"schema": {
                                   "type": "object",
                                   "properties": {k: v for k, v in props.items() if k not in file_fields}}}}
    if raw:
        content["application/octet-stream"] = {"schema": {"type": "string", "format": "binary"}}
    else:
        content["application/json"] = content["application/x-www-form-urlencoded"]
    return {"requestBody": {"required": True, "content": content}}


#: the OpenAPI description of each field of /v1/remove (the option table's http_help), then `model`
REMOVE_FIELDS_DOC = {**{spec.name: spec.help_for("http") for spec in OPTION_TABLE if "http" in spec.where},
                     "model": "must be the served model if given"}


def options_from_fields(fields: Mapping[str, str], *, max_pixels: int,
                        table: Mapping[str, tuple[str, Callable[[str, str], Any]]] = OPTION_FIELDS,
                        ignore: frozenset[str] = CONTROL_FIELDS) -> Options:
    """Request fields (query or form, CLI names) → Options; a bad value is a 400 naming its field.

    The client may lower the server's max_pixels, never raise it.

    Example:
        >>> options_from_fields({"format": "webp", "bg": "white"}, max_pixels=10**8).format.value
        'webp'
    """
    kwargs: dict[str, Any] = {}
    set_by: dict[str, str] = {}  # option → the field that set it
    for name, value in fields.items():
        if name in ignore:
            continue
        if name not in table:
            from ..errors import suggest

            raise ServerError("request.unknown-field", f"Unknown field '{name}'.", hint=suggest(name, table) or f"Known fields: {', '.join(sorted(table))}.",
                              field_name=name)
        option, parse = table[name]
        try:
            if name in ROUTED_FIELDS:
                option, parsed = ROUTED_FIELDS[name](value, name)
            else:
                parsed = parse(value, name)
            if option == "jpeg_quality" and set_by.get(option, name) != name:
                raise OptionsError("options.invalid", f"{name}: both quality={fields['quality']!r} and "
                                   f"jpeg_quality={fields['jpeg_quality']!r} set the JPEG/WebP quality.",
                                   hint="Send jpeg_quality only (quality=<number> is its older alias; "
                                        "quality now takes standard or best).")
            set_by[option] = name
            kwargs[option] = parsed
            if option not in ("fill",):  # fill needs size to be valid; checked with the others below
                Options.from_user(**{option: kwargs[option]})  # this field alone, so a 400 can name it
        except OptionsError as exc:
            raise _named(exc, name) from None
    kwargs["max_pixels"] = min(int(kwargs.get("max_pixels", max_pixels)), max_pixels)
    try:
        return Options.from_user(**kwargs)
    except OptionsError as exc:  # a conflict between fields
        raise _named(exc, None) from None


def _named(exc: OptionsError, name: str | None) -> ServerError:
    message = exc.message if name is None or name in exc.message else f"{name}: {exc.message}"
    return ServerError(exc.code, message, hint=exc.hint, field_name=name)


def decode_b64(text: str, name: str) -> bytes:
    """Base64 (standard or url-safe, data: URL prefix allowed) → bytes, or a 400 naming the field."""
    if text.startswith("data:") and "," in text:
        text = text.split(",", 1)[1]
    text = "".join(text.split())
    try:
        return base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4),
                                validate=True)
    except (binascii.Error, ValueError):
        raise ServerError("request.bad-base64", f"{name} is not valid base64.", field_name=name) from None


def _too_many_fields(max_fields: int) -> ServerError:
    return ServerError("request.too-many-fields", f"The request has more than {max_fields} fields.",
                       hint="Send the image and the options you need, nothing else.")


def parse_body(body: bytes, content_type: str | None, *, max_fields: int = 256) -> RequestData:
    """Split a body held in memory into fields and files: multipart, urlencoded, JSON or raw bytes.

    Nothing is spooled to disk (unlike Starlette's form parser, which writes parts over 1 MB to a
    temporary file). More than `max_fields` fields (parts, pairs, keys) is a 400 as soon as it is seen.
    """
    ctype, params = parse_options_header(content_type or "")
    if ctype == b"multipart/form-data":
        boundary = params.get(b"boundary")
        if not boundary:
            raise ServerError("request.bad-multipart", "multipart/form-data without a boundary.")
        return _parse_multipart(body, boundary, max_fields)
    if ctype == b"application/x-www-form-urlencoded":
        from urllib.parse import parse_qsl

        form = RequestData()
        try:
            pairs = parse_qsl(body.decode("latin-1"), keep_blank_values=True, max_num_fields=max_fields)
        except ValueError:  # parse_qsl counts the separators first: refused before any pair is built
            raise _too_many_fields(max_fields) from None
        for key, value in pairs:
            form.add(key, value)
        return form
    if ctype == b"application/json":
        import json

        try:
            data = json.loads(body or b"{}")
        except ValueError:
            raise ServerError("request.bad-json", "The JSON body can't be parsed.") from None
        except RecursionError:  # nesting deeper than the parser's stack
            raise ServerError("request.bad-json", "The JSON body is nested too deeply.",
                              hint="Send one flat object of fields.") from None
        if not isinstance(data, dict):
            raise ServerError("request.bad-json", "The JSON body must be an object.")
        if len(data) > max_fields:
            raise _too_many_fields(max_fields)
        return RequestData(fields={str(k): _json_text(v) for k, v in data.items() if v is not None},
                           json_body=True)
    return RequestData(raw=body)


def _json_text(value: Any) -> str:
    """A JSON field's value as the text a form field would carry (true/false for booleans)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse_multipart(body: bytes, boundary: bytes, max_fields: int = 256) -> RequestData:
    out = RequestData()
    state: dict[str, Any] = {"headers": {}, "name": b"", "value": b"", "chunks": [], "parts": 0}

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["name"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        state["headers"][state["name"].lower()] = state["value"]
        state["name"], state["value"] = b"", b""

    def on_part_begin() -> None:
        state["headers"], state["chunks"] = {}, []
        state["parts"] += 1
        if state["parts"] > max_fields:
            raise _too_many_fields(max_fields)

    def on_part_data(data: bytes, start: int, end: int) -> None:
        state["chunks"].append(data[start:end])

    def on_part_end() -> None:
        _, disp = parse_options_header(state["headers"].get(b"content-disposition", b""))
        name = disp.get(b"name", b"").decode("utf-8", "replace")
        content = b"".join(state["chunks"])
        if b"filename" in disp:
            out.files[name] = content
        else:
            out.add(name, content.decode("utf-8", "replace"))

    parser = MultipartParser(boundary, {
        "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_part_begin": on_part_begin,
        "on_part_data": on_part_data, "on_part_end": on_part_end,
    })
    try:
        parser.write(body)
        parser.finalize()
    except ServerError:
        raise
    except Exception as exc:  # python-multipart raises its own error types; map them at this seam
        raise ServerError("request.bad-multipart", f"The multipart body can't be parsed: {exc}.") from exc
    return out
