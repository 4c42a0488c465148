"""Where hazard photos are kept: a small interface, a local-disk implementation, and the checks on what comes in.

The type of an upload is decided by its first bytes, never by the name or Content-Type the client sent, and
the bytes must then open as an image of that type (Pillow): a file that only begins like a PNG is refused.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import io
import os
import re
import secrets
import warnings
from pathlib import Path
from typing import Any, Protocol

MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PHOTOS_PER_REPORT = 5
# Phones take 12 to 50 megapixels. Beyond, a few KB can unpack to gigabytes (a decompression bomb) in whatever
# decodes it: the operators' browsers, the app.
MAX_PHOTO_PIXELS = 50_000_000
_PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/heic": "HEIF"}

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

    def public_key(self, report_id: int) -> str:
        return f"hazards/{report_id}/public/{self.sha256}.jpg"


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
    _check_image(data, content_type)
    return CheckedPhoto(data, content_type)


@functools.cache
def _image_module() -> Any:
    # Imported when the first photo comes, and HEIC's opener registered with Pillow then, not at import time.
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    return Image


def _check_image(data: bytes, content_type: str) -> None:
    """The bytes open as an image of that type, of at most ``MAX_PHOTO_PIXELS``, whose structure is whole."""
    image_module = _image_module()
    kind = content_type.removeprefix("image/").upper()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", image_module.DecompressionBombWarning)  # we refuse by our own count
            with image_module.open(io.BytesIO(data), formats=[_PILLOW_FORMATS[content_type]]) as image:
                width, height = image.size
                if width * height > MAX_PHOTO_PIXELS:
                    raise PhotoRejected(
                        f"the image is {width:,} × {height:,} pixels, more than the "
                        f"{MAX_PHOTO_PIXELS // 1_000_000} megapixels taken"
                    )
                if content_type == "image/jpeg":
                    # A JPEG's structure is only known by decoding; at an eighth of its size that is cheap.
                    image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                    image.load()
                else:
                    image.verify()  # chunk checksums and structure, without unpacking the pixels
    except image_module.DecompressionBombError:  # so large that Pillow itself refuses to open it
        raise PhotoRejected(
            f"the image has far more than the {MAX_PHOTO_PIXELS // 1_000_000} megapixels taken"
        ) from None
    except PhotoRejected:
        raise
    except Exception:  # Pillow reports a broken file with whichever error its parser met first
        raise PhotoRejected(f"the file begins like a {kind} image but is not one") from None


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

    def _write(self, path: Path, data: bytes) -> None:
        # Photos are people's own: readable by the service's user (and its group, for backups) only.
        _make_dirs(path.parent, mode=0o750)
        # Written aside and renamed, so a reader never sees half a photo.
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)


def _make_dirs(directory: Path, *, mode: int) -> None:
    # Path.mkdir(parents=True) gives the directories above the last one the default mode, not ``mode``.
    missing = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for each in reversed(missing):
        each.mkdir(mode=mode, exist_ok=True)


def upload_gate(state: Any) -> asyncio.Semaphore:
    """The app's count of photo uploads being read (``HTTP_MAX_UPLOADS`` at once), made on first use.

    Each is held whole in memory while it is parsed and checked, so forty at 10 MB would take a gigabyte.
    """
    gate = getattr(state, "photo_uploads", None)
    if gate is None:
        gate = state.photo_uploads = asyncio.Semaphore(state.settings.http.max_uploads)
    return gate


def photo_storage(state: Any) -> PhotoStorage:
    """The app's photo storage: ``state.hazard_photos`` when one was set, else files under ``var/uploads``."""
    given = getattr(state, "hazard_photos", None)
    if given is not None:
        return given
    return LocalPhotoStorage(state.settings.var_dir / "uploads")
