"""What is kept of a photo: its pixels turned the way it was taken, with no metadata (EXIF, GPS, the phone's
make, XMP, comments), and a resized JPEG for the public.

A phone writes where it stood (GPS), when, and which phone into the file; a photo of a hazard outside
someone's door would tell where they live. Every photo is decoded and encoded again from its pixels alone:
``ImageOps.exif_transpose`` first applies the EXIF orientation to the pixels (so the photo still stands the way
it was taken once the tag is gone), and the new file is written without ``exif``, ``xmp`` or ``icc`` data.
"""

from __future__ import annotations

import io
from typing import NamedTuple

from api.hazards.storage import _PILLOW_FORMATS, _image_module

PUBLIC_MAX_SIDE = 1280
PUBLIC_QUALITY = 82


class CleanPhoto(NamedTuple):
    data: bytes  # the kept photo, its type unchanged, without metadata
    public: bytes  # the public copy: JPEG, at most PUBLIC_MAX_SIDE on its longer side
    width: int
    height: int


def clean(data: bytes, content_type: str) -> CleanPhoto:
    """The photo without metadata, turned upright, and its public copy (CPU work: call it off the event loop)."""
    image_module = _image_module()
    from PIL import ImageOps

    with image_module.open(io.BytesIO(data), formats=[_PILLOW_FORMATS[content_type]]) as opened:
        upright = ImageOps.exif_transpose(opened)
        upright.load()
    # Only the pixels go on: a fresh image has no info (exif, xmp, icc_profile, comments, text chunks).
    pixels = image_module.new(upright.mode, upright.size)
    pixels.paste(upright)
    kept = _encode(pixels, _PILLOW_FORMATS[content_type])
    public = pixels.convert("RGB")
    public.thumbnail((PUBLIC_MAX_SIDE, PUBLIC_MAX_SIDE))
    return CleanPhoto(kept, _encode(public, "JPEG"), pixels.width, pixels.height)


def _encode(image: object, fmt: str) -> bytes:
    out = io.BytesIO()
    options: dict[str, object] = {"quality": PUBLIC_QUALITY} if fmt == "JPEG" else {}
    if fmt == "JPEG" and getattr(image, "mode", "RGB") not in ("RGB", "L", "CMYK"):
        image = image.convert("RGB")  # type: ignore[attr-defined]
    image.save(out, fmt, **options)  # type: ignore[attr-defined]
    return out.getvalue()
