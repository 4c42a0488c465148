"""Photos lose their metadata on upload (EXIF, GPS, the phone) but keep the way they stand; the public sees a
resized copy of a public report's photo, never the original, and nothing of a private report's."""

from __future__ import annotations

import io

import pillow_heif
import pytest
from litestar import Litestar
from PIL import Image

from api.hazards.photos import PUBLIC_MAX_SIDE
from api.platform.auth.tokens import Role
from api.platform.settings import Settings
from tests.conftest import bearer
from tests.hazards import hazards_app, make_citizen, report_body

GPS_IFD = 0x8825
ORIENTATION = 0x0112


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return hazards_app(settings)


def phone_photo(kind: str, size: tuple[int, int] = (1400, 1050)) -> bytes:
    """A photo as a phone writes it: its pixels sideways, with orientation 6 (turn 90° clockwise), GPS, make."""
    pillow_heif.register_heif_opener()
    image = Image.new("RGB", size, (200, 40, 40))
    image.paste((20, 20, 220), (0, 0, size[0] // 4, size[1] // 4))  # a blue corner shows which way it stands
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[0x010F] = "SAMSUNG"  # Make
    exif[0x0110] = "SM-S918N"  # Model
    exif[GPS_IFD] = {1: "N", 2: (37.0, 33.0, 58.0), 3: "E", 4: (126.0, 58.0, 41.0)}
    out = io.BytesIO()
    image.save(out, kind, exif=exif.tobytes())
    return out.getvalue()


def metadata(data: bytes) -> dict:
    pillow_heif.register_heif_opener()
    with Image.open(io.BytesIO(data)) as image:
        present = {k for k, v in image.info.items() if v}  # pillow-heif lists "exif": None when there is none
        return {"exif": dict(image.getexif()), "info": present & {"exif", "xmp", "icc_profile"}}


@pytest.mark.parametrize("kind", ["JPEG", "PNG", "WEBP", "HEIF"])
async def test_metadata_is_stripped_and_the_photo_stands_as_taken(client, pool, token_for, settings, kind):
    original = phone_photo(kind)
    carried = metadata(original)["exif"]
    assert GPS_IFD in carried and carried[0x010F] == "SAMSUNG"  # the phone's file does carry them
    kim = bearer(token_for(Role.citizen, subject=f"citizen:{await make_citizen(pool, '+821066660001')}"))
    report = (await client.post("/v1/hazard-reports", json=report_body(public=True), headers=kim)).json()
    uploaded = await client.post(
        f"/v1/hazard-reports/{report['id']}/photos", files={"photo": ("p", original, "image/x")}, headers=kim
    )
    assert uploaded.status_code == 201, uploaded.text
    [photo] = uploaded.json()["photos"]

    kept = (await client.get(photo["url"], headers=kim)).content
    assert metadata(kept) == {"exif": {}, "info": set()}
    with Image.open(io.BytesIO(kept)) as image:
        assert image.size == (1050, 1400)  # turned upright: orientation 6 applied to the pixels
        assert image.convert("RGB").getpixel((1050 - 10, 10))[2] > 150  # the blue corner is now top right

    # The public copy: resized, JPEG, no metadata, for anyone.
    shown = await client.get(f"/v1/hazard-photos/{photo['id']}")
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
    assert metadata(shown.content) == {"exif": {}, "info": set()}
    with Image.open(io.BytesIO(shown.content)) as image:
        assert max(image.size) == PUBLIC_MAX_SIDE and image.size[0] < image.size[1]
    # The original stays with the reporter and operators.
    assert (await client.get(photo["url"])).status_code == 401
    assert (await client.get(photo["url"], headers=bearer(token_for(Role.operator)))).status_code == 200


async def test_a_private_reports_photo_has_no_public_copy(client, pool, token_for):
    kim = bearer(token_for(Role.citizen, subject=f"citizen:{await make_citizen(pool, '+821066660002')}"))
    report = (await client.post("/v1/hazard-reports", json=report_body(), headers=kim)).json()
    uploaded = await client.post(
        f"/v1/hazard-reports/{report['id']}/photos", files={"photo": ("p", phone_photo("JPEG"), "image/x")}, headers=kim
    )
    [photo] = uploaded.json()["photos"]
    assert (await client.get(f"/v1/hazard-photos/{photo['id']}")).status_code == 404
