"""The console in a real browser: headless Debian chromium, driven by Playwright, against the app on a real port.

A shift in miniature: sign in (after a wrong password), watch a case appear in the queue when the sweep opens it,
open it, acknowledge, add a note, resolve; a social worker of another district sees nothing of it; a form with
invalid input says so beside the field. Screenshots of the queue and the case go to ``var/artifacts/``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from playwright.async_api import async_playwright, expect

from api.app import create_app
from api.console.i18n import SEOUL
from api.platform.auth.tokens import Principal, Role
from api.platform.jobs.runner import run_job
from api.platform.settings import PROJECT_ROOT, ConsoleSettings, Settings
from api.worker import JOBS
from care import service as care
from care.schemas import GuardianIn, PlanIn, RecipientCreate
from fakes.server import BackgroundServer
from tests.console.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = PROJECT_ROOT / "var" / "artifacts"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
WAIT_MS = 30_000  # generous: the machine is shared; nothing here asserts on timing


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium (``make test`` installs it). Skipped where absent; a failure in CI."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {CHROMIUM} is missing: `make test` installs it with apt-get as root")
        pytest.skip(f"{CHROMIUM} is not installed (`apt-get install chromium`, or `make test` as root)")
    return CHROMIUM


@pytest.fixture
def live_url(settings: Settings) -> Iterator[str]:
    """The whole API on a free localhost port, its queue polling every second."""
    fast = msgspec.structs.replace(settings, console=ConsoleSettings(poll_s=1))
    with BackgroundServer(create_app(fast), lifespan="on") as server:
        yield server.url


@pytest.fixture
async def browser(chromium: Path):  # type: ignore[no-untyped-def]
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(chromium), headless=True, args=LAUNCH_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def new_page(browser, base_url: str):  # type: ignore[no-untyped-def]
    context = await browser.new_context(base_url=base_url, locale="ko-KR", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    return await context.new_page()


async def sign_in(page, email: str, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    await page.goto("/console/queue")
    await page.wait_for_url("**/console/sign-in**")
    await page.fill("#email", email)
    await page.fill("#password", password)
    await page.click("button[type=submit]")


async def test_a_shift_in_the_browser(browser, live_url, pool, settings, make_staff):  # type: ignore[no-untyped-def]
    expect.set_options(timeout=WAIT_MS)
    await make_staff("kim@seoul.go.kr", districts=("11110",))
    await make_staff("park@seoul.go.kr", districts=("11170",))

    # Someone enrolled three hours ago, due to check in two hours ago, who has not answered: the ladder has
    # reminded them twice and told their guardian; the next sweep opens a case.
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    slot = now - timedelta(hours=2)

    data = RecipientCreate(
        name="김순자",
        phone="010-1234-0000",
        district="11110",
        address="서울 종로구 세종대로 1",
        guardians=[GuardianIn(name="김민수", phone="010-9876-0000", relation="아들")],
        plan=PlanIn(times=[slot.astimezone(SEOUL).strftime("%H:%M")], window_minutes=60),
    )
    async with pool.acquire() as conn:
        await care.enroll(
            conn,
            data=data,
            principal=Principal(subject="staff:0", role=Role.social_worker, districts=("11110",)),
            now=now - timedelta(hours=3),
        )
    for at in (slot, slot + timedelta(minutes=60), slot + timedelta(minutes=90)):
        await run_job(pool, JOBS["care.sweep"], now=at, settings=settings)

    page = await new_page(browser, live_url)
    # A wrong password is refused with a message; the right one opens the (empty) queue.
    await sign_in(page, "kim@seoul.go.kr", "not the password at all")
    await expect(page.locator("main")).to_contain_text("이메일 또는 비밀번호가 올바르지 않습니다")
    await page.fill("#email", "kim@seoul.go.kr")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/console/queue")
    await expect(page.locator("#queue-rows")).to_contain_text("처리할 사례가 없습니다")

    # The sweep opens the case; the open page shows it without being reloaded.
    await page.evaluate("window.__notReloaded = true")
    await run_job(pool, JOBS["care.sweep"], now=slot + timedelta(minutes=120), settings=settings)
    row = page.locator("#queue-rows tr[data-case-id]")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("김순자")
    await expect(row).to_contain_text("높음")
    assert await page.evaluate("window.__notReloaded === true")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "console-queue.png"), full_page=True)
    case_id = await row.get_attribute("data-case-id")

    # The case: the person, why it opened (the ladder's messages and their fate), and the actions.
    await row.locator("a").first.click()
    await page.wait_for_url(f"**/console/cases/{case_id}")
    main = page.locator("main")
    await expect(main).to_contain_text("김순자")
    await expect(main).to_contain_text("김민수")
    await expect(main).to_contain_text("안부 확인 알림")
    await expect(main).to_contain_text("보호자 알림")
    await expect(main).to_contain_text("4단계: 사례 접수")
    await page.click("#acknowledge")
    await expect(page.locator("h1")).to_contain_text("처리 중")
    await page.fill("#f-body", "보호자 김민수 님과 통화, 10분 뒤 방문 예정")
    await page.click("#add-note")
    await expect(page.locator("ul.notes")).to_contain_text("10분 뒤 방문 예정")
    await page.screenshot(path=str(ARTIFACTS / "console-case.png"), full_page=True)
    await page.select_option("#f-outcome", "visited")
    await page.fill("#f-note", "방문, 건강하심")
    await page.click("#resolve")
    await expect(page.locator("h1")).to_contain_text("종결")
    await expect(main).to_contain_text("방문 확인")

    # A social worker of another district sees nothing of it.
    other = await new_page(browser, live_url)
    await sign_in(other, "park@seoul.go.kr")
    await other.wait_for_url("**/console/queue")
    await expect(other.locator("#queue-rows")).to_contain_text("처리할 사례가 없습니다")
    response = await other.goto(f"/console/cases/{case_id}")
    assert response is not None and response.status == 404
    await expect(other.locator("main")).not_to_contain_text("김순자")
    await other.goto("/console/people")
    await expect(other.locator("main")).not_to_contain_text("김순자")

    # A form with invalid input: the message stands beside the field, what was typed stays.
    await page.goto("/console/people/new")
    await page.fill("#f-name", "홍길순")
    await page.fill("#f-phone", "12345")
    await page.fill("#f-address", "서울 종로구 율곡로 10")
    await page.click("#enrol")
    phone_field = page.locator("div.field:has(#f-phone)")
    await expect(phone_field.locator(".error")).to_contain_text("휴대전화 번호가 아닙니다")
    await expect(page.locator("#f-phone")).to_have_value("12345")
    await expect(page.locator("div.field:has(#f-name) .error")).to_have_count(0)

    # The English switch, and back.
    await page.goto("/console/queue")
    await page.click("text=English")
    await expect(page.locator("h1")).to_contain_text("Case queue")
    await page.click("text=한국어")
    await expect(page.locator("h1")).to_contain_text("사례 대기열")
