"""Citizens' reports through the real app: creating, reading, retries, photos, bad input, and the public map."""

from __future__ import annotations

import asyncpg
import pytest
from litestar import Litestar

from api.hazards.storage import MAX_PHOTO_BYTES, MAX_PHOTOS_PER_REPORT
from api.platform.auth.tokens import Role
from api.platform.settings import Settings
from tests.conftest import bearer, problem
from tests.hazards import CITY_HALL, HEIC, JPEG, PNG, WEBP, hazards_app, make_citizen, north_of, report_body

REPORTS = "/v1/hazard-reports"


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return hazards_app(settings)


@pytest.fixture
def citizen(settings: Settings, token_for):  # type: ignore[no-untyped-def]
    """Register a citizen; the headers that sign them in."""

    async def make(phone: str, language: str = "ko") -> dict[str, str]:
        conn = await asyncpg.connect(settings.db.url)
        try:
            citizen_id = await make_citizen(conn, phone, language=language)
        finally:
            await conn.close()
        return bearer(token_for(Role.citizen, subject=f"citizen:{citizen_id}"))

    return make


@pytest.fixture
def operator(token_for) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return bearer(token_for(Role.operator))


async def created(client, headers, body=None) -> dict:  # type: ignore[no-untyped-def]
    response = await client.post(REPORTS, json=body or report_body(), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_citizen_reports_and_sees_who_else_reported(client, citizen, operator):
    kim, lee = await citizen("+821011110001"), await citizen("+821011110002")
    first = await created(client, kim)
    assert first["incident"]["status"] == "submitted"
    assert first["incident"]["others_reporting"] == 0
    assert first["location"] == {"lat": CITY_HALL[0], "lon": CITY_HALL[1], "address": "서울 중구 세종대로 110"}

    second = await created(client, lee, report_body(north_of(CITY_HALL, 20)))
    assert second["incident"]["id"] == first["incident"]["id"]
    assert second["incident"]["others_reporting"] == 1

    again = await client.get(f"{REPORTS}/{first['id']}", headers=kim)
    assert again.json()["incident"]["report_count"] == 2
    assert (await client.get(f"{REPORTS}/{first['id']}", headers=lee)).status_code == 404
    assert (await client.get(f"{REPORTS}/{first['id']}", headers=operator)).status_code == 200
    mine = (await client.get(f"{REPORTS}/mine", headers=kim)).json()
    assert [r["id"] for r in mine["items"]] == [first["id"]]


async def test_my_reports_page_newest_first(client, citizen):
    kim = await citizen("+821011110003")
    ids = [(await created(client, kim, report_body(north_of(CITY_HALL, 200 * n))))["id"] for n in range(3)]
    page = (await client.get(f"{REPORTS}/mine?limit=2", headers=kim)).json()
    assert [r["id"] for r in page["items"]] == ids[:0:-1]
    rest = (await client.get(f"{REPORTS}/mine?limit=2&before_id={page['next_before_id']}", headers=kim)).json()
    assert [r["id"] for r in rest["items"]] == [ids[0]]
    assert rest["next_before_id"] is None


async def test_a_retried_report_with_the_same_idempotency_key_creates_one(client, citizen):
    kim = await citizen("+821011110004")
    headers = {**kim, "Idempotency-Key": "report-1"}
    first = await client.post(REPORTS, json=report_body(), headers=headers)
    retry = await client.post(REPORTS, json=report_body(), headers=headers)
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["id"] == first.json()["id"]
    assert len((await client.get(f"{REPORTS}/mine", headers=kim)).json()["items"]) == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (report_body((35.1796, 129.0756)), "outside Seoul"),  # Busan
        (report_body((37.5665, 126.60)), "outside Seoul"),  # Incheon, west of the margin
        (report_body(category="volcano"), "category"),
        (report_body(description="가" * 4001), "4000"),
        (report_body(observed_at="2026-11-24T09:00:00"), "timezone"),
        (report_body(observed_at="2099-01-01T00:00:00+09:00"), "future"),
        (report_body(observed_at="2020-01-01T00:00:00+09:00"), "days ago"),
        ({**report_body(), "reporter_name": "김철수"}, "reporter_name"),
        ({"category": "sinkhole"}, "location"),
    ],
)
async def test_bad_reports_are_refused_with_the_reason(client, citizen, body, reason):
    kim = await citizen("+821011110005")
    response = await client.post(REPORTS, json=body, headers=kim)
    assert response.status_code == 400, response.text
    body = problem(response)
    assert reason in body["detail"] or reason in [e.get("field") for e in body.get("errors", [])]


async def test_a_description_of_4000_characters_is_taken(client, citizen):
    kim = await citizen("+821011110006")
    report = await created(client, kim, report_body(description="가" * 4000))
    assert len(report["description"]) == 4000


async def test_only_citizens_report(client, token_for):
    service = bearer(token_for(Role.service))
    assert (await client.post(REPORTS, json=report_body(), headers=service)).status_code == 403
    assert (await client.post(REPORTS, json=report_body())).status_code == 401


@pytest.mark.parametrize(
    ("data", "content_type"),
    [(JPEG, "image/jpeg"), (PNG, "image/png"), (WEBP, "image/webp"), (HEIC, "image/heic")],
)
async def test_photos_are_kept_by_their_real_type(client, citizen, operator, settings, data, content_type):
    kim = await citizen("+821011110007")
    report = await created(client, kim)
    # The client's name and type are ignored: the bytes decide.
    upload = {"photo": ("IMG_0001.bin", data, "application/octet-stream")}
    response = await client.post(f"{REPORTS}/{report['id']}/photos", files=upload, headers=kim)
    assert response.status_code == 201, response.text
    [photo] = response.json()["photos"]
    assert photo["content_type"] == content_type
    # What is kept is the photo encoded again without its metadata (tests/hazards/test_photo_privacy.py).
    folder = settings.var_dir / "uploads" / "hazards" / str(report["id"])
    [kept] = [p for p in folder.iterdir() if p.is_file()]
    assert photo["size_bytes"] == kept.stat().st_size
    for who in (kim, operator):
        got = await client.get(photo["url"], headers=who)
        assert got.status_code == 200
        assert (got.content, got.headers["content-type"]) == (kept.read_bytes(), content_type)
    stranger = await citizen("+821011110008")
    assert (await client.get(photo["url"], headers=stranger)).status_code == 404


async def test_the_same_photo_twice_is_kept_once_and_a_report_takes_five(client, citizen):
    kim = await citizen("+821011110009")
    report = await created(client, kim)
    url = f"{REPORTS}/{report['id']}/photos"
    for n in range(MAX_PHOTOS_PER_REPORT):
        for _ in range(2):
            response = await client.post(url, files={"photo": ("a.jpg", JPEG + bytes([n]), "image/jpeg")}, headers=kim)
            assert response.status_code == 201
    assert len(response.json()["photos"]) == MAX_PHOTOS_PER_REPORT
    extra = await client.post(url, files={"photo": ("b.jpg", JPEG + b"more", "image/jpeg")}, headers=kim)
    assert extra.status_code == 409
    assert problem(extra)["code"] == "too_many_photos"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"%PDF-1.7 not a photo", "not a JPEG, PNG, WebP or HEIC"),
        (b"GIF89a" + b"\x00" * 20, "not a JPEG, PNG, WebP or HEIC"),
        (b"", "empty"),
        (JPEG[:3] + b"\x00" * MAX_PHOTO_BYTES, "larger than 10 MB"),
    ],
)
async def test_uploads_that_are_not_photos_we_take_are_refused(client, citizen, settings, data, reason):
    kim = await citizen("+821011110010")
    report = await created(client, kim)
    upload = {"photo": ("photo.jpg", data, "image/jpeg")}
    response = await client.post(f"{REPORTS}/{report['id']}/photos", files=upload, headers=kim)
    assert response.status_code == 400, response.text
    assert reason in problem(response)["detail"]
    assert not (settings.var_dir / "uploads").exists()


async def test_photos_go_only_to_ones_own_report_and_in_a_photo_part(client, citizen):
    kim, lee = await citizen("+821011110011"), await citizen("+821011110012")
    report = await created(client, kim)
    url = f"{REPORTS}/{report['id']}/photos"
    theirs = await client.post(url, files={"photo": ("a.jpg", JPEG, "image/jpeg")}, headers=lee)
    assert theirs.status_code == 404
    misnamed = await client.post(url, files={"picture": ("a.jpg", JPEG, "image/jpeg")}, headers=kim)
    assert misnamed.status_code == 400
    assert problem(misnamed)["code"] == "photo_missing"


async def test_the_public_map_is_geojson_without_reporters(client, citizen):
    kim = await citizen("+821011110013")
    report = await created(client, kim, report_body(public=True))
    await created(client, kim, report_body(north_of(CITY_HALL, 500), category="icy_road", public=True))
    response = await client.get("/v1/incidents")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    feed = response.json()
    assert feed["type"] == "FeatureCollection"
    sinkhole = next(f for f in feed["features"] if f["id"] == report["incident"]["id"])
    assert sinkhole["type"] == "Feature"
    assert sinkhole["geometry"] == {"type": "Point", "coordinates": [126.978, 37.5665]}  # on the ~50 m grid
    assert sinkhole["properties"]["category"] == "sinkhole"
    text = response.text
    for private in ("+821011110013", "citizen", "보도 가운데가", "세종대로"):
        assert private not in text


async def test_the_public_map_filters_and_pages(client, citizen):
    kim = await citizen("+821011110014")
    near = await created(client, kim, report_body(public=True))
    far = await created(client, kim, report_body((37.65, 127.05), category="flooding", public=True))
    lon, lat = CITY_HALL[1], CITY_HALL[0]
    box = f"{lon - 0.01},{lat - 0.01},{lon + 0.01},{lat + 0.01}"
    ids = [f["id"] for f in (await client.get(f"/v1/incidents?bbox={box}")).json()["features"]]
    assert ids == [near["incident"]["id"]]
    flooding = (await client.get("/v1/incidents?category=flooding,icy_road&status=submitted")).json()
    assert [f["id"] for f in flooding["features"]] == [far["incident"]["id"]]
    assert (await client.get("/v1/incidents?status=resolved")).json()["features"] == []
    first = (await client.get("/v1/incidents?limit=1")).json()
    assert [f["id"] for f in first["features"]] == [far["incident"]["id"]]
    rest = (await client.get(f"/v1/incidents?limit=1&before_id={first['next_before_id']}")).json()
    assert [f["id"] for f in rest["features"]] == [near["incident"]["id"]]


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("bbox=1,2,3", "four numbers"),
        ("bbox=127.1,37.6,126.9,37.5", "min below max"),
        ("bbox=a,b,c,d", "four numbers"),
        ("category=volcano", "volcano"),
        ("status=open", "not one of"),
        ("limit=0", "limit"),
    ],
)
async def test_bad_map_queries_are_refused_with_the_reason(client, query, reason):
    response = await client.get(f"/v1/incidents?{query}")
    assert response.status_code == 400
    assert reason in problem(response)["detail"]
