"""Fetchers for the model store: one function per catalog source kind.

Each fetcher fills a destination file that the store then moves into place, and checks the
checksum of what it wrote while it writes it. A fetcher that can't deliver raises
:class:`SourceFailed` (or its subclass :class:`ChecksumMismatch`); the store tries the next
source. Only ``store.py`` calls these functions. One module per source kind (url, npm, pypi,
derive; the file source and the shared hashing/copying plumbing are in base); every name is
importable from here.
"""


__all__ = [
    "ChecksumMismatch",
    "NpmTarget",
    "Progress",
    "SourceFailed",
    "WheelTarget",
    "copy_file",
    "copy_hashed",
    "derive_file",
    "download_url",
    "hash_file",
    "new_hasher",
    "pack_npm",
    "pack_npm_asset",
    "pip_wheel_members",
]


from .base import (
    BLOCK,  # noqa: F401 - a module attribute before the split
    ChecksumMismatch,
    Progress,
    SourceFailed,
    copy_file,
    copy_hashed,
    hash_file,
    new_hasher,
    pump,  # noqa: F401 - a module attribute before the split
)
from .derive import derive_file
from .npm import NpmTarget, pack_npm, pack_npm_asset
from .pypi import WheelTarget, pip_wheel_members
from .url import download_url
