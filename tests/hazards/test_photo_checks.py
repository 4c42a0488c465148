"""A photo is kept only when it really is one, of a size a phone takes; kept privately, served unsniffable."""

from __future__ import annotations

import stat
import struct
import zlib

import pytest
from litestar import Litestar

from api.hazards.storage import upload_gate
from api.platform.settings import Settings
from tests.conftest import bearer, problem
from tests.hazards import PNG, hazards_app, make_citizen, report_body

REPORTS = "/v1/hazard-reports"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def decompression_bomb(side: int = 30_000) -> bytes:
    """A real 1-bit PNG of side × side black pixels: about 110 KB that unpack to 112 MB (and to 3.6 GB as RGBA)."""
    row = b"\x00" * (1 + side // 8)  # the filter byte, then the row's bits
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return hazards_app(settings)


@pytest.fixture
async def kim(settings: Settings, token_for, pool) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from api.platform.auth.tokens import Principal, Role, TokenIssuer

    citizen_id = await make_citizen(pool, "+821011112001")
    principal = Principal(subject=f"citizen:{citizen_id}", role=Role.citizen, phone="+821011112001")
    return bearer(TokenIssuer(settings).issue(principal, ttl_s=600))


async def upload(client, who, data: bytes):  # type: ignore[no-untyped-def]
    report = await client.post(REPORTS, json=report_body(), headers=who)
    assert report.status_code == 201, report.text
    url = f"{REPORTS}/{report.json()['id']}/photos"
    return await client.post(url, files={"photo": ("photo.png", data, "image/png")}, headers=who)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (decompression_bomb(), "far more than the 50 megapixels taken"),
        (decompression_bomb(8_000), "8,000 × 8,000 pixels, more than the 50 megapixels taken"),
        (b"\x89PNG\r\n\x1a\n" + HTML, "begins like a PNG image but is not one"),
        (PNG[:33] + HTML, "begins like a PNG image but is not one"),  # a real header, then a web page
        (b"\xff\xd8\xff\xe0" + HTML, "begins like a JPEG image but is not one"),
    ],
)
async def test_what_only_looks_like_a_photo_is_refused_and_nothing_is_stored(client, kim, settings, data, reason):
    response = await upload(client, kim, data)
    assert response.status_code == 400, response.text
    body = problem(response)
    assert body["code"] == "photo_rejected"
    assert reason in body["detail"]
    assert not (settings.var_dir / "uploads").exists()


async def test_a_photo_is_kept_readable_by_the_service_alone_and_served_unsniffable(client, kim, settings):
    response = await upload(client, kim, PNG)
    assert response.status_code == 201, response.text
    [photo] = response.json()["photos"]
    uploads = settings.var_dir / "uploads"
    [path] = [p for p in uploads.rglob("*") if p.is_file() and p.parent.name != "public"]
    assert stat.S_IMODE(path.stat().st_mode) & 0o037 == 0  # no one but the owner writes, only the group reads
    for directory in (uploads / "hazards", path.parent):
        assert stat.S_IMODE(directory.stat().st_mode) & 0o027 == 0
    served = await client.get(photo["url"], headers=kim)
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["cache-control"] == "no-store"


async def test_beyond_http_max_uploads_at_once_a_photo_is_refused_unread_with_retry_after(client, kim, settings):
    gate = upload_gate(client.app.state)
    for _ in range(settings.http.max_uploads):  # as many uploads being received by other requests
        await gate.acquire()
    busy = await upload(client, kim, PNG)
    body = problem(busy)
    assert (busy.status_code, body["code"]) == (503, "uploads_busy")
    assert int(busy.headers["retry-after"]) > 0
    assert not (settings.var_dir / "uploads").exists()
    gate.release()
    assert (await upload(client, kim, PNG)).status_code == 201
