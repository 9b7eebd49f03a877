"""The url source: a resumable HTTP(S) download, hashed as it arrives."""

from __future__ import annotations

import http.client
import logging
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from ..catalog import ModelSpec
from .base import BLOCK, ChecksumMismatch, Progress, SourceFailed, new_hasher

log = logging.getLogger(__name__)


# --- url -------------------------------------------------------------------------------------------


class _Retry(Exception):
    """A transfer broke off in a way that resuming may fix."""


def download_url(url: str, spec: ModelSpec, dst: Path, *, part: Path, timeout_s: float,
                 on_progress: Progress | None = None, attempts: int = 3) -> None:
    """Download url to dst through a resumable ``.part`` file, checking the checksum.

    A ``.part`` left by an earlier attempt is resumed with a Range request; a server that
    answers 200 instead of 206 makes the download start over. A wrong checksum deletes the
    ``.part``; a broken connection keeps it for the next attempt.
    """
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise SourceFailed(f"url {url}: only http and https URLs are supported")
    last: Exception | None = None
    for attempt in range(1, attempts + 1):
        try:
            got = _download_once(url, spec, part, timeout_s, on_progress)
            break
        except _Retry as exc:
            last = exc
            log.info("Download of %s broke off (%s); attempt %d of %d", url, exc, attempt, attempts)
    else:
        raise SourceFailed(f"url {url}: {last} (after {attempts} attempts)")
    if got != spec.checksum:
        part.unlink(missing_ok=True)
        raise ChecksumMismatch(f"url {url}", spec.checksum, got)
    part.replace(dst)


def _download_once(url: str, spec: ModelSpec, part: Path, timeout_s: float,
                   on_progress: Progress | None) -> str:
    offset = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": "alphacut", "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout_s)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:
            part.unlink()
            raise _Retry("the server refused to resume; starting over") from exc
        raise SourceFailed(f"url {url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SourceFailed(f"url {url}: can't connect ({reason})") from exc
    with resp:
        if offset and resp.status == 206:
            content_range = resp.headers.get("Content-Range", "")
            if not content_range.startswith(f"bytes {offset}-"):
                part.unlink()
                raise _Retry(f"unexpected Content-Range {content_range!r}; starting over")
        elif resp.status == 200:
            if offset:
                log.info("%s ignored the Range request; downloading from the start", url)
            offset = 0
        else:
            raise SourceFailed(f"url {url}: unexpected HTTP status {resp.status}")
        length_text = resp.headers.get("Content-Length")
        length = int(length_text) if length_text and length_text.isdigit() else None
        total = offset + length if length is not None else (spec.size_bytes or 0)
        hasher = new_hasher(spec.checksum)
        if offset:
            with part.open("rb") as f:
                while block := f.read(BLOCK):
                    hasher.update(block)
        received = 0
        with part.open("ab" if offset else "wb") as f:
            try:
                while block := resp.read(1 << 16):
                    hasher.update(block)
                    f.write(block)
                    received += len(block)
                    if on_progress:
                        on_progress(offset + received, total)
            except (http.client.HTTPException, OSError) as exc:
                raise _Retry(f"connection lost after {offset + received} bytes: {exc}") from exc
        if length is not None and received != length:
            raise _Retry(f"connection closed after {offset + received} of {offset + length} bytes")
    return f"{spec.hash_algorithm}:{hasher.hexdigest()}"
