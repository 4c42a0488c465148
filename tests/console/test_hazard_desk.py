"""The hazard desk in a real browser (as tests/console/test_browser.py): an operator sees incidents on the map
drawn from our boundaries, filters to the overdue ones, moves two at once with a reason that reaches their
reporters, downloads the open data, merges two and splits one off again; a social worker is refused the desk.
Screenshots go to var/artifacts/."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

from playwright.async_api import expect

from api.platform.auth.tokens import Role
from tests.conftest import bearer
from tests.console.test_browser import ARTIFACTS, WAIT_MS, browser, chromium, live_url, new_page, sign_in
from tests.hazards import CITY_HALL, make_citizen, north_of, report_body

__all__ = ["browser", "chromium", "live_url"]  # the browser fixtures, shared
GANGNAM = (37.5172, 127.0473)


async def test_the_hazard_desk_in_the_browser(browser, live_url, pool, make_staff, token_for):  # type: ignore[no-untyped-def]
    import httpx

    expect.set_options(timeout=WAIT_MS)
    await make_staff("ops@seoul.go.kr", role="operator")
    await make_staff("kim@seoul.go.kr", districts=("11110",))
    citizen_id = await make_citizen(pool, "+821099990001")
    kim = bearer(token_for(Role.citizen, subject=f"citizen:{citizen_id}"))
    made = []
    async with httpx.AsyncClient(base_url=live_url) as api:
        for point, category in [
            (CITY_HALL, "sinkhole"),
            (north_of(CITY_HALL, 400), "fallen_tree"),
            (GANGNAM, "gas_smell"),
            (north_of(GANGNAM, 300), "broken_streetlight"),
        ]:
            response = await api.post("/v1/hazard-reports", json=report_body(point, category=category), headers=kim)
            assert response.status_code == 201, response.text
            made.append(response.json()["incident"]["id"])
    await pool.execute("UPDATE hazard_incidents SET due_at = now() - interval '1 hour' WHERE id = ANY($1)", made[:2])

    page = await new_page(browser, live_url)
    await sign_in(page, "ops@seoul.go.kr")
    await page.wait_for_url("**/console/queue")
    await page.click("text=위험 신고")
    await page.wait_for_url("**/console/hazards")
    await expect(page.locator("h1")).to_contain_text("위험 신고 상황판")
    svg = page.locator("#hazard-map")
    await expect(svg.locator("path")).to_have_count(25)  # the districts, from our own boundaries
    await expect(svg.locator("circle.late")).to_have_count(2)
    await expect(svg.locator("circle.ontime")).to_have_count(2)
    await expect(page.locator("table.hazards tbody tr")).to_have_count(4)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "console-hazards.png"), full_page=True)

    await page.check("input[name=overdue]")
    await page.click("form.filters button[type=submit]")
    await expect(page.locator("table.hazards tbody tr")).to_have_count(2)
    await expect(page.locator("table.hazards")).to_contain_text("기한 초과")
    for incident in made[:2]:
        await page.check(f"input[name=incident][value='{incident}']")
    await page.select_option("select[name=status]", "acknowledged")
    await page.fill("input[name=reason]", "구청 도로과 현장 출동")
    await page.click("text=변경")
    await expect(page.locator("main")).to_contain_text("2건을 변경했습니다")
    await page.screenshot(path=str(ARTIFACTS / "console-hazards-bulk.png"), full_page=True)
    told = await pool.fetch("SELECT body FROM outbox WHERE template = 'hazards.acknowledged' ORDER BY id")
    assert len(told) == 2 and all("구청 도로과 현장 출동" in r["body"] for r in told)

    async with page.expect_download() as waiting:
        await page.click("text=CSV")
    download = await waiting.value
    text = (await asyncio.to_thread(Path(await download.path()).read_bytes)).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sorted(int(r["id"]) for r in rows) == sorted(made)
    for personal in ("+821099990001", "꺼져", "세종대로", "citizen"):  # no reporter, no words, no address
        assert personal not in text

    # Merge: the two in 강남 become one (the older remains); split: the later report goes off again on its own.
    await page.goto("/console/hazards")
    gangnam = sorted(made[2:])
    for incident in gangnam:
        await page.check(f"input[name=incident][value='{incident}']")
    await page.click("#merge")
    await expect(page.locator("main")).to_contain_text(f"사건 #{gangnam[0]}(으)로 합쳤습니다")
    reports = await pool.fetch("SELECT id, incident_id FROM hazard_reports ORDER BY id")
    moved = [r["id"] for r in reports if r["incident_id"] == gangnam[0]]
    assert len(moved) == 2  # both reports now in the older incident
    assert await pool.fetchval("SELECT status FROM hazard_incidents WHERE id = $1", gangnam[1]) == "merged"
    await page.fill("input[name=split_incident]", str(gangnam[0]))
    await page.fill("input[name=split_reports]", str(moved[1]))
    await page.click("text=새 사건으로 나누기")
    await expect(page.locator("main")).to_contain_text("새 사건 #")
    await page.screenshot(path=str(ARTIFACTS / "console-hazards-merge-split.png"), full_page=True)
    split_into = await pool.fetchval("SELECT incident_id FROM hazard_reports WHERE id = $1", moved[1])
    assert (
        split_into not in made
        and await pool.fetchval("SELECT incident_id FROM hazard_reports WHERE id = $1", moved[0]) == gangnam[0]
    )

    worker = await new_page(browser, live_url)
    await sign_in(worker, "kim@seoul.go.kr")
    await worker.wait_for_url("**/console/queue")
    await expect(worker.locator("nav")).not_to_contain_text("위험 신고")
    response = await worker.goto("/console/hazards")
    assert response is not None and response.status == 403
