"""Operators edit the rotas in the console: one shift a line, refused with the reason when it leaves a gap."""

from __future__ import annotations

import asyncpg

from tests.console.conftest import csrf_of, sign_in

WEEK = "mon 00:00 - thu 00:00: {a}\nthu 00:00 - mon 00:00: {b}"


async def with_phone(pool: asyncpg.Pool, staff_id: int, phone: str) -> None:
    async with pool.acquire() as conn:
        await conn.execute("UPDATE staff SET phone = $2 WHERE id = $1", staff_id, phone)


async def test_an_operator_writes_a_districts_rota_and_reads_it_back(client, make_staff, pool):
    await make_staff("ops@seoul.go.kr", role="operator")
    kim = await make_staff("kim@jongno.go.kr")
    lee = await make_staff("lee@jongno.go.kr")
    await with_phone(pool, kim, "+821070001101")
    await with_phone(pool, lee, "+821070001102")
    await sign_in(client, "ops@seoul.go.kr")

    page = await client.get("/console/operators/rota", params={"ref": "11110"})
    assert page.status_code == 200
    assert "+821070001101" in page.text and "kim" in page.text  # who can be put on it
    saved = await client.post(
        "/console/operators/rota",
        data={"csrf": csrf_of(page.text), "ref": "11110", "shifts": WEEK.format(a=kim, b=f"{lee}, {kim}")},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    again = await client.get(saved.headers["location"])
    assert "당직표를 저장했습니다" in again.text
    assert f"mon 00:00 - thu 00:00: {kim}" in again.text and f"thu 00:00 - mon 00:00: {lee}, {kim}" in again.text
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT district, staff_ids FROM care_rota_shifts ORDER BY starts")
    assert [(r["district"], r["staff_ids"]) for r in rows] == [("11110", [kim]), ("11110", [lee, kim])]


async def test_a_rota_with_a_gap_or_a_bad_line_is_refused_on_the_page_and_nothing_changes(client, make_staff, pool):
    await make_staff("ops@seoul.go.kr", role="operator")
    kim = await make_staff("kim@jongno.go.kr")
    await with_phone(pool, kim, "+821070001101")
    await sign_in(client, "ops@seoul.go.kr")
    page = await client.get("/console/operators/rota", params={"ref": "desk"})
    for text, says in (
        (f"mon 00:00 - thu 00:00: {kim}", "Nobody is on duty from 목 00:00 (thu 00:00)"),
        (f"mon 00:00 - thu 00:00 {kim}", "Line 1"),
        (WEEK.format(a=kim, b=999), "999"),
    ):
        refused = await client.post(
            "/console/operators/rota", data={"csrf": csrf_of(page.text), "ref": "desk", "shifts": text}
        )
        assert refused.status_code == 422
        assert says in refused.text and text.splitlines()[0] in refused.text  # said, and the text kept to fix
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM care_rota_shifts") == 0


async def test_social_workers_may_not_edit_rotas(client, make_staff):
    await make_staff("kim@jongno.go.kr")
    await sign_in(client, "kim@jongno.go.kr")
    assert (await client.get("/console/operators/rota", params={"ref": "11110"})).status_code == 403
