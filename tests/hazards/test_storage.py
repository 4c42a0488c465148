"""Photo checks by magic bytes, and the local-disk storage."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.hazards.storage import MAX_PHOTO_BYTES, LocalPhotoStorage, PhotoRejected, check_photo, sniff
from tests.hazards import HEIC, JPEG, PNG, WEBP


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (JPEG, "image/jpeg"),
        (PNG, "image/png"),
        (WEBP, "image/webp"),
        (HEIC, "image/heic"),
        (b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1heicmiaf", "image/heic"),  # an iPhone's: mif1, then heic
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "image/heic"),  # major brand heic
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf", None),  # AVIF is HEIF too, but not HEIC
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),  # a RIFF that is sound
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2", None),  # an MP4 video
        (b"GIF89a", None),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", None),
        (b"\xff\xd8", None),
    ],
)
def test_the_type_is_read_from_the_first_bytes(data, content_type):
    assert sniff(data) == content_type


def test_size_limits_hold_at_their_edges():
    assert check_photo(JPEG + b"\x00" * (MAX_PHOTO_BYTES - len(JPEG))).content_type == "image/jpeg"
    with pytest.raises(PhotoRejected, match="larger than 10 MB"):
        check_photo(JPEG + b"\x00" * (MAX_PHOTO_BYTES - len(JPEG) + 1))
    with pytest.raises(PhotoRejected, match="empty"):
        check_photo(b"")


async def test_local_storage_keeps_bytes_under_its_root_only(tmp_path: Path):
    storage = LocalPhotoStorage(tmp_path / "uploads")
    photo = check_photo(PNG)
    key = photo.key(7)
    assert key == f"hazards/7/{photo.sha256}.png"
    await storage.put(key, PNG)
    assert await storage.get(key) == PNG
    assert [p.name for p in (tmp_path / "uploads" / "hazards" / "7").iterdir()] == [f"{photo.sha256}.png"]
    for bad in ("../secret.png", "/etc/passwd", "hazards/../../x.png", "hazards/7/a b.png"):
        with pytest.raises(ValueError, match="not a storage key"):
            await storage.put(bad, PNG)
