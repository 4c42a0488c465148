"""Where hazard photos are kept: a small interface, a local-disk implementation, and the checks on what comes in.

The type of an upload is decided by its first bytes, never by the name or Content-Type the client sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
from pathlib import Path
from typing import Any, Protocol

MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PHOTOS_PER_REPORT = 5

_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/heic": "heic"}
# HEIC's ISO-BMFF brands (an iPhone writes major brand ``heic``, or ``mif1`` with ``heic`` among the compatible).
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
_KEY = re.compile(r"^[a-z0-9]+(/[a-z0-9]+)*\.[a-z]+$")


class PhotoRejected(ValueError):
    """An upload that is not a photo we take: empty, too large, or not JPEG, PNG, WebP or HEIC."""


class CheckedPhoto:
    """An upload that passed the checks: its bytes, type and content hash."""

    __slots__ = ("content_type", "data", "sha256")

    def __init__(self, data: bytes, content_type: str) -> None:
        self.data = data
        self.content_type = content_type
        self.sha256 = hashlib.sha256(data).hexdigest()

    def key(self, report_id: int) -> str:
        return f"hazards/{report_id}/{self.sha256}.{_EXTENSIONS[self.content_type]}"


def sniff(data: bytes) -> str | None:
    """The image type the bytes are, by their magic numbers; None when they are none we take."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if len(data) >= 12 and data[4:8] == b"ftyp":
        box = int.from_bytes(data[:4], "big")
        end = min(len(data), box if box >= 16 else 16)
        brands = {data[8:12]} | {data[i : i + 4] for i in range(16, end - 3, 4)}
        if brands & _HEIC_BRANDS:
            return "image/heic"
    return None


def check_photo(data: bytes) -> CheckedPhoto:
    """The upload as a photo we keep, or ``PhotoRejected`` saying why not."""
    if not data:
        raise PhotoRejected("the photo is empty")
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoRejected(f"the photo is larger than {MAX_PHOTO_BYTES // (1024 * 1024)} MB")
    content_type = sniff(data)
    if content_type is None:
        raise PhotoRejected("the file is not a JPEG, PNG, WebP or HEIC image")
    return CheckedPhoto(data, content_type)


class PhotoStorage(Protocol):
    """Keeps photo bytes under a key; another implementation (object storage) can stand in."""

    async def put(self, key: str, data: bytes) -> None: ...

    async def get(self, key: str) -> bytes: ...


class LocalPhotoStorage:
    """Photos as files under a directory (``var/uploads`` by default)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise ValueError(f"not a storage key: {key!r}")
        return self.root / key

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._write, self._path(key), data)

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed, so a reader never sees half a photo.
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
        tmp.write_bytes(data)
        os.replace(tmp, path)


def photo_storage(state: Any) -> PhotoStorage:
    """The app's photo storage: ``state.hazard_photos`` when one was set, else files under ``var/uploads``."""
    given = getattr(state, "hazard_photos", None)
    if given is not None:
        return given
    return LocalPhotoStorage(state.settings.var_dir / "uploads")
