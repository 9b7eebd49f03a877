"""Reading an image input within the limits: its bytes (`max_bytes`), its header (`max_pixels`).

The input side of the decode seam (`io.decode`): a path, bytes or a stream becomes an unloaded
Pillow image, or an InputError that says what was wrong (not found, a folder, empty, too many bytes
or pixels, not an image). Nothing here decodes pixels.
- A path's bytes are read through `max_bytes` (a FIFO, /dev/zero or /dev/stdin has no size to check
  first); bytes over the limit are refused as soon as they pass it.
- Pillow's own decompression-bomb stop gets the same message and limit as `check_size`.
"""

from __future__ import annotations

import io
import os
import re
import stat
from pathlib import Path
from typing import IO, Any, cast

import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from ..errors import InputError
from ..options import DEFAULT_MAX_BYTES

__all__ = ["MIN_SIDE_PX", "ImageInput", "bad_type_error", "bomb_error", "check_size", "describe_error", "name_of",
           "open_image", "peek_size_wh", "read_bounded"]

ImageInput = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes] | Image.Image | NDArray[Any]

MIN_SIDE_PX = 8


def name_of(source: object) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return getattr(source, "name", None) or f"<{type(source).__name__}>"


def _too_many_bytes(name: str, max_bytes: int, size: int | None = None) -> InputError:
    what = f"{size:,} bytes" if size is not None else f"more than {max_bytes:,} bytes"
    return InputError("input.file-too-large", f"{name} is {what}; the limit is {max_bytes:,} bytes "
                      f"({max_bytes / 1024 / 1024:g} MiB).",
                      hint="Send a smaller file, or raise the limit with --max-bytes / ALPHACUT_MAX_BYTES.")


def read_bounded(fh: IO[bytes], max_bytes: int, name: str, *, block: int = 1 << 20) -> bytes:
    """Read a stream to its end, refusing it (input.file-too-large) as soon as it passes max_bytes:
    never the whole of /dev/zero or a 3 GB pipe in memory first."""
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = fh.read(min(block, max_bytes + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > max_bytes:
            raise _too_many_bytes(name, max_bytes)


def open_image(source: ImageInput, name: str, max_pixels: int, max_bytes: int = DEFAULT_MAX_BYTES) -> Image.Image:
    """Open lazily (header only) with every Pillow failure mapped to an InputError.

    A path is read through `max_bytes` (a FIFO, /dev/zero or /dev/stdin has no size to check first).
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise InputError("input.not-found", f"{path} does not exist.", hint="Check the path.")
        if path.is_dir():
            raise InputError("input.is-directory", f"{path} is a folder, not an image.",
                             hint="Pass the folder to `alphacut remove` to process every image in it.")
        try:
            st = path.stat()
            regular = stat.S_ISREG(st.st_mode)
            if regular and st.st_size > max_bytes:
                raise _too_many_bytes(str(path), max_bytes, st.st_size)
            if regular and st.st_size == 0:
                raise InputError("input.empty", f"{path} is empty (0 bytes).",
                                 hint="Re-export or re-download the image.")
            with open(path, "rb") as fh:
                # a regular file in one read of its size; one that grew meanwhile, and anything else
                # (pipe, device), block by block up to the limit
                data = fh.read(st.st_size) if regular else b""
                if not regular or len(data) == st.st_size:
                    data += read_bounded(fh, max_bytes - len(data), str(path))
            if not data:
                raise InputError("input.empty", f"{path} gave no data (0 bytes): it is a "
                                 f"{'file' if regular else 'pipe or device'} with nothing in it.",
                                 hint="Re-export or re-download the image.")
            fp: IO[bytes] = io.BytesIO(data)
        except PermissionError as exc:
            raise InputError("input.unreadable", f"{path} can't be read: permission denied.",
                             hint="Check the file's permissions.") from exc
        except OSError as exc:
            raise InputError("input.unreadable", f"{path} can't be read: {exc.strerror or exc}.") from exc
    elif isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise InputError("input.empty", "The image data is empty (0 bytes).",
                             hint="Send the file's bytes, not an empty body.")
        if len(source) > max_bytes:
            raise _too_many_bytes(name, max_bytes, len(source))
        fp = io.BytesIO(source)
    elif callable(getattr(source, "read", None)):
        fp = cast("IO[bytes]", source)  # a binary file-like object
    else:
        raise bad_type_error(source)
    try:
        return Image.open(fp)
    except Image.DecompressionBombError as exc:  # Pillow's own stop (over 2x its MAX_IMAGE_PIXELS), at open
        raise bomb_error(exc, name, max_pixels) from exc
    except UnidentifiedImageError as exc:
        raise InputError("input.undecodable", f"{name} is not an image format alphacut can read.",
                         hint="Use JPEG, PNG, WebP, TIFF, BMP or GIF.", http_status=415) from exc
    except MemoryError:
        raise
    except Exception as exc:  # any decoder failure is the input's fault (NotImplementedError for 'DDS |')
        raise InputError("input.undecodable", f"{name} can't be decoded: {describe_error(exc)}.",
                         hint="The file may be damaged; re-export it.") from exc


def bomb_error(exc: Image.DecompressionBombError, name: str, max_pixels: int) -> InputError:
    """Pillow refused to open an image with far too many pixels (only their count is known from its
    error): the same message and limit as check_size, never Pillow's own text."""
    found = re.search(r"\((\d+) pixels\)", str(exc))
    what = f"{name} is {_pixels(int(found.group(1)))}" if found else f"{name} has too many pixels"
    limit = min(max_pixels, 2 * Image.MAX_IMAGE_PIXELS) if Image.MAX_IMAGE_PIXELS else max_pixels
    return InputError("input.too-large", f"{what}; the limit is {_pixels(limit)}.",
                      hint="Downscale it, or raise the limit with --max-pixels / ALPHACUT_MAX_PIXELS.", http_status=413)


def describe_error(exc: BaseException) -> str:
    text = str(exc).strip().rstrip(".")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def bad_type_error(source: object) -> InputError:
    return InputError("input.bad-type", f"{type(source).__name__} is not an image input.",
                      hint="Pass a path, bytes, a binary file object, a PIL image or a numpy array.")


def _pixels(n: int) -> str:
    """A pixel count precise enough to compare with another: 100,010,000 px (100.01 MP)."""
    return f"{n:,} px ({n / 1e6:.6g} MP)"


def check_size(w: int, h: int, name: str, max_pixels: int) -> None:
    if w * h > max_pixels:
        raise InputError("input.too-large",
                         f"{name} is {w}x{h} = {_pixels(w * h)}; the limit is {_pixels(max_pixels)}.",
                         hint="Downscale it, or raise the limit with --max-pixels / ALPHACUT_MAX_PIXELS.",
                         http_status=413)
    if w < MIN_SIDE_PX or h < MIN_SIDE_PX:
        raise InputError("input.too-small",
                         f"{name} is {w}x{h}; alphacut needs at least {MIN_SIDE_PX}x{MIN_SIDE_PX} pixels.",
                         hint="Use a larger image.", http_status=422)



def peek_size_wh(source: ImageInput) -> tuple[int, int] | None:
    """The image's (w, h) from its header alone (nothing decoded), or None when it can't be read:
    decode_image then says why. For estimating what decoding it will cost (alphacut.cost)."""
    try:
        if isinstance(source, np.ndarray):
            return (int(source.shape[1]), int(source.shape[0])) if source.ndim >= 2 else None
        if isinstance(source, Image.Image):
            return source.size
        if isinstance(source, (bytes, bytearray, memoryview)):
            with Image.open(io.BytesIO(source)) as im:
                w, h = im.size
            return int(w), int(h)
        if isinstance(source, (str, os.PathLike)) and Path(source).is_file():
            with Image.open(source) as im:
                w, h = im.size
            return int(w), int(h)
    except Exception:  # noqa: BLE001 - anything unreadable is decode_image's to report
        return None
    return None
