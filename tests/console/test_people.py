"""The people pages: search within the worker's districts, enrol with messages beside the fields, edit, pause."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from api.console.i18n import SEOUL
from api.platform import boundaries
from tests.console.conftest import csrf_of, enroll, sign_in

VALID = {
    "name": "홍길순",
    "birth_date": "1941-03-05",
    "phone": "010-2222-3333",
    "district": "11110",
    "address": "서울 종로구 율곡로 10",
    "language": "ko",
    "contact_by": "sms",
    "guardian_name": "홍민호",
    "guardian_phone": "010-4444-5555",
    "guardian_relation": "아들",
    "times": "09:00, 19:00",
    "days": ["1", "2", "3", "4", "5", "6", "7"],
    "window_minutes": "120",
}


def error_beside(html: str, field: str) -> str | None:
    """The message shown beside a field, if any."""
    match = re.search(rf'<span class="error" id="e-{field}" data-field="{field}">([^<]+)</span>', html)
    return match.group(1) if match else None


async def signed_in(client, make_staff, email="kim@seoul.go.kr", **kw) -> str:  # type: ignore[no-untyped-def]
    await make_staff(email, **kw)
    await sign_in(client, email)
    return csrf_of((await client.get("/console/people/new")).text)


async def test_enrolling_someone_keeps_their_date_of_birth_and_shows_their_age(client, make_staff, pool):
    token = await signed_in(client, make_staff)
    response = await client.post("/console/people", data={**VALID, "csrf": token}, follow_redirects=False)
    assert response.status_code == 303, response.text
    recipient_id = int(response.headers["location"].split("/")[-1].split("?")[0])
    row = await pool.fetchrow(
        "SELECT name, phone, district, birth_date FROM care_recipients WHERE id = $1", recipient_id
    )
    assert (row["name"], row["phone"], row["district"], str(row["birth_date"])) == (
        "홍길순",
        "+821022223333",
        "11110",
        "1941-03-05",
    )
    assert await pool.fetchval("SELECT count(*) FROM guardians WHERE recipient_id = $1", recipient_id) == 1
    page = await client.get(f"/console/people/{recipient_id}?saved=true")
    today = datetime.now(SEOUL).date()
    age = today.year - 1941 - ((today.month, today.day) < (3, 5))
    assert f"{age}세" in page.text and "저장되었습니다" in page.text


def selected(html: str, select: str) -> list[str]:
    """The options chosen in a select, by value."""
    match = re.search(rf'<select id="f-{select}"[^>]*>(.*?)</select>', html, re.S)
    assert match, f"no select {select}"
    return re.findall(r'<option value="([^"]*)" selected>', match.group(1))


async def test_the_enrol_form_starts_with_contact_by_sms_and_no_home(client, make_staff):
    await signed_in(client, make_staff)
    form = (await client.get("/console/people/new")).text
    assert selected(form, "contact_by") == ["sms"]
    assert selected(form, "home_dong") == [] and 'name="home_point" type="text" value=""' in form
    # The dongs to pick from are those of the districts the worker serves: Jongno's 87.
    dongs = re.findall(r'<option value="(\d+)"', form.split('id="f-home_dong"')[1].split("</select>")[0])
    assert dongs == [d.code for d in boundaries.dongs().values() if d.district == "11110"] and len(dongs) == 87


async def test_a_form_sent_without_a_contact_channel_enrols_them_by_sms(client, make_staff, pool):
    token = await signed_in(client, make_staff)
    fields = {k: v for k, v in VALID.items() if k != "contact_by"}
    response = await client.post("/console/people", data={**fields, "csrf": token}, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert await pool.fetchval("SELECT contact_by FROM care_recipients") == "sms"


HOME_QUERY = "SELECT birth_date, home_lat, home_lon, home_dong FROM care_recipients WHERE id = $1"


async def test_a_home_point_is_saved_shown_and_offered_again_to_edit(client, make_staff, pool):
    token = await signed_in(client, make_staff)
    data = {**VALID, "csrf": token, "home_point": " 37.5740,126.9850 "}
    response = await client.post("/console/people", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    recipient_id = int(response.headers["location"].split("/")[-1].split("?")[0])
    row = await pool.fetchrow(HOME_QUERY, recipient_id)
    assert (str(row["birth_date"]), row["home_lat"], row["home_lon"], row["home_dong"]) == (
        "1941-03-05",
        37.574,
        126.985,
        "11110128",  # 관훈동, where the point lies
    )
    page = await client.get(f"/console/people/{recipient_id}")
    assert '<dd id="home">37.574, 126.985 (관훈동)</dd>' in page.text
    edit = (await client.get(f"/console/people/{recipient_id}/edit")).text
    assert 'value="1941-03-05"' in edit and 'value="37.574, 126.985"' in edit
    assert selected(edit, "home_dong") == [] and selected(edit, "contact_by") == ["sms"]


async def test_a_home_picked_as_a_dong_is_saved_shown_and_can_be_cleared(client, make_staff, pool):
    token = await signed_in(client, make_staff)
    data = {**VALID, "csrf": token, "home_dong": "11110101"}
    response = await client.post("/console/people", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    recipient_id = int(response.headers["location"].split("/")[-1].split("?")[0])
    row = await pool.fetchrow(HOME_QUERY, recipient_id)
    assert (row["home_lat"], row["home_lon"], row["home_dong"]) == (None, None, "11110101")
    assert '<dd id="home">청운동</dd>' in (await client.get(f"/console/people/{recipient_id}")).text
    url = f"/console/people/{recipient_id}/edit"
    edit = (await client.get(url)).text
    assert selected(edit, "home_dong") == ["11110101"] and 'name="home_point" type="text" value=""' in edit
    fields = {k: v for k, v in VALID.items() if not k.startswith(("phone", "district", "times", "days", "window"))}
    saved = await client.post(url, data={**fields, "csrf": token, "home_dong": ""}, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    row = await pool.fetchrow(HOME_QUERY, recipient_id)
    assert (row["home_lat"], row["home_lon"], row["home_dong"]) == (None, None, None)
    await client.get("/console/language?to=en&next=/console/people/new")
    await client.post(url, data={**fields, "csrf": token, "home_dong": "11110101"})
    assert '<dd id="home">Cheongun-dong</dd>' in (await client.get(f"/console/people/{recipient_id}")).text


async def test_a_wrong_birth_date_or_home_is_told_beside_its_field(client, make_staff, pool):
    token = await signed_in(client, make_staff)
    tomorrow = (datetime.now(SEOUL).date() + timedelta(days=1)).isoformat()
    for birth_date, home, field, message in (
        ("1899-12-31", {}, "birth_date", "1900-01-01부터 오늘까지의 날짜여야 합니다."),
        (tomorrow, {}, "birth_date", "1900-01-01부터 오늘까지의 날짜여야 합니다."),
        ("", {"home_point": "35.1796, 129.0756"}, "home_point", "서울 안의 위치여야 합니다"),  # Busan
        ("", {"home_point": "서울 종로구"}, "home_point", "위도, 경도로 적어 주세요"),
        ("", {"home_point": "37.429, 126.988"}, "home_point", "서울 안의 위치여야 합니다"),  # 과천
        ("", {"home_point": "37.57, 126.98", "home_dong": "11110101"}, "home_point", "동을 고르거나"),
        ("", {"home_dong": "11999999"}, "home_dong", "목록에서 고르세요."),
    ):
        response = await client.post("/console/people", data={**VALID, "csrf": token, "birth_date": birth_date, **home})
        assert response.status_code == 400, (field, response.text)
        assert (error_beside(response.text, field) or "").startswith(message), field
    await client.get("/console/language?to=en&next=/console/people/new")
    english = await client.post("/console/people", data={**VALID, "csrf": token, "home_point": "0, 0"})
    assert error_beside(english.text, "home_point") == "Must be a point in Seoul (latitude, then longitude)."
    assert await pool.fetchval("SELECT count(*) FROM care_recipients") == 0


async def test_invalid_input_is_told_beside_each_field_and_nothing_is_enrolled(client, make_staff, pool):
    token = await signed_in(client, make_staff)
    bad = {
        **VALID,
        "csrf": token,
        "name": "",
        "phone": "12345",
        "birth_date": "1941-13-40",
        "times": "9시",
        "window_minutes": "5",
        "guardian_phone": "",
        "days": [],
    }
    response = await client.post("/console/people", data=bad)
    assert response.status_code == 400
    assert error_beside(response.text, "name") == "필수 항목입니다."
    assert error_beside(response.text, "phone").startswith("휴대전화 번호가 아닙니다")
    assert error_beside(response.text, "birth_date").startswith("날짜가 올바르지 않습니다")
    assert error_beside(response.text, "times").startswith("시각은 HH:MM")
    assert error_beside(response.text, "window_minutes") == "10에서 720 사이의 숫자입니다."
    assert error_beside(response.text, "guardian_phone") is not None
    assert error_beside(response.text, "days") is not None
    assert error_beside(response.text, "address") is None
    # What was typed is shown again.
    assert 'value="서울 종로구 율곡로 10"' in response.text and 'value="12345"' in response.text
    assert await pool.fetchval("SELECT count(*) FROM care_recipients") == 0


async def test_the_plans_own_rules_and_a_taken_number_are_told_beside_their_fields(client, make_staff, pool):
    token = await signed_in(client, make_staff)
    gap = await client.post("/console/people", data={**VALID, "csrf": token, "times": "09:00, 10:00"})
    assert error_beside(gap.text, "window_minutes") == "응답 대기가 확인 시각 간격보다 깁니다."
    quiet = await client.post(
        "/console/people", data={**VALID, "csrf": token, "quiet_start": "08:00", "quiet_end": "10:00"}
    )
    assert error_beside(quiet.text, "quiet_start") == "확인 시각이 방해 금지 시간에 있습니다."
    same = await client.post("/console/people", data={**VALID, "csrf": token, "guardian_phone": VALID["phone"]})
    assert error_beside(same.text, "guardian_phone") == "보호자 번호가 본인 번호와 같습니다."
    await enroll(pool, phone=VALID["phone"])
    taken = await client.post("/console/people", data={**VALID, "csrf": token})
    assert taken.status_code == 400 and error_beside(taken.text, "phone") == "이미 등록된 번호입니다."


async def test_a_social_worker_cannot_enrol_into_another_district(client, make_staff, pool):
    token = await signed_in(client, make_staff)
    response = await client.post("/console/people", data={**VALID, "csrf": token, "district": "11140"})
    assert response.status_code == 400 and error_beside(response.text, "district") is not None
    assert await pool.fetchval("SELECT count(*) FROM care_recipients") == 0


async def test_the_messages_are_in_english_when_asked(client, make_staff):
    token = await signed_in(client, make_staff)
    await client.get("/console/language?to=en&next=/console/people/new")
    response = await client.post("/console/people", data={**VALID, "csrf": token, "name": ""})
    assert error_beside(response.text, "name") == "Required."
    assert 'lang="en"' in response.text


async def test_people_are_searched_within_the_workers_districts_and_the_list_is_audited(client, make_staff, pool):
    await enroll(pool, phone="010-1111-0001", name="김하나")
    await enroll(pool, phone="010-1111-0002", name="이두리")
    await enroll(pool, phone="010-1111-0003", name="김중구", district="11140")
    await signed_in(client, make_staff)
    everyone = await client.get("/console/people")
    assert "김하나" in everyone.text and "이두리" in everyone.text and "김중구" not in everyone.text
    by_name = await client.get("/console/people?q=김")
    assert "김하나" in by_name.text and "이두리" not in by_name.text
    by_phone = await client.get("/console/people?q=010-1111-0002")
    assert "이두리" in by_phone.text and "김하나" not in by_phone.text
    wildcard = await client.get("/console/people?q=%25")
    assert "김하나" not in wildcard.text
    audited = await pool.fetch("SELECT detail FROM audit_log WHERE action = 'recipient.list' ORDER BY id")
    assert len(audited) == 4 and len(audited[0]["detail"]["recipient_ids"]) == 2


async def test_editing_the_plan_and_pausing_and_resuming_it(client, make_staff, pool):
    recipient_id = await enroll(pool, phone="010-1111-0001")
    await signed_in(client, make_staff)
    url = f"/console/people/{recipient_id}"
    page = await client.get(url)
    assert 'value="09:00, 19:00"' in page.text
    token = csrf_of(page.text)
    bad = await client.post(
        f"{url}/plan", data={"csrf": token, "times": "25:00", "days": ["1"], "window_minutes": "60"}
    )
    assert bad.status_code == 400 and error_beside(bad.text, "times") is not None
    good = await client.post(
        f"{url}/plan",
        data={"csrf": token, "times": "10:00", "days": ["1", "3", "5"], "window_minutes": "60"},
        follow_redirects=False,
    )
    assert good.status_code == 303
    plan = await pool.fetchrow(
        "SELECT times, days, window_min FROM checkin_plans WHERE recipient_id = $1", recipient_id
    )
    assert ([t.strftime("%H:%M") for t in plan["times"]], list(plan["days"]), plan["window_min"]) == (
        ["10:00"],
        [1, 3, 5],
        60,
    )
    past = await client.post(f"{url}/pause", data={"csrf": token, "until": "2020-01-01", "reason": "입원"})
    assert past.status_code == 400 and error_beside(past.text, "until") == "앞으로의 날짜여야 합니다."
    until = (datetime.now(UTC) + timedelta(days=10)).astimezone(SEOUL).date().isoformat()
    paused = await client.post(f"{url}/pause", data={"csrf": token, "until": until, "reason": "입원"})
    assert paused.status_code == 200 and "일시 중지" in paused.text and "입원" in paused.text
    assert await pool.fetchval("SELECT paused_until FROM checkin_plans WHERE recipient_id = $1", recipient_id)
    await client.post(f"{url}/resume", data={"csrf": token})
    assert await pool.fetchval("SELECT paused_until FROM checkin_plans WHERE recipient_id = $1", recipient_id) is None
    actions = {r["action"] for r in await pool.fetch("SELECT action FROM audit_log")}
    assert {"recipient.read", "plan.replace", "plan.pause", "plan.resume"} <= actions


async def test_another_districts_person_is_not_found(client, make_staff, pool):
    recipient_id = await enroll(pool, phone="010-1111-0001", district="11140")
    token = await signed_in(client, make_staff)
    assert (await client.get(f"/console/people/{recipient_id}")).status_code == 404
    response = await client.post(f"/console/people/{recipient_id}/resume", data={"csrf": token})
    assert response.status_code == 404


async def test_editing_a_persons_details_and_guardians(client, make_staff, pool):
    recipient_id = await enroll(pool, phone="010-1111-0001")
    await signed_in(client, make_staff)
    url = f"/console/people/{recipient_id}/edit"
    form = await client.get(url)
    assert form.status_code == 200 and 'value="김민수"' in form.text
    token = csrf_of(form.text)
    fields = {
        "csrf": token,
        "name": "김순자",
        "birth_date": "1940-01-02",
        "address": "서울 종로구 새주소 5",
        "language": "en",
        "contact_by": "both",
        "guardian_name": "김민수",
        "guardian_phone": "010-9876-0000",
        "guardian_relation": "아들",
        "guardian_name_2": "김민지",
        "guardian_phone_2": "",
        "guardian_relation_2": "딸",
    }
    half = await client.post(url, data=fields)
    assert half.status_code == 400
    assert error_beside(half.text, "guardian_phone_2") == "보호자 이름·번호·관계를 모두 적어 주세요."
    assert 'value="김민지"' in half.text
    saved = await client.post(url, data={**fields, "guardian_phone_2": "010-5555-6666"}, follow_redirects=False)
    assert saved.status_code == 303
    row = await pool.fetchrow(
        "SELECT address, language, contact_by, birth_date FROM care_recipients WHERE id = $1", recipient_id
    )
    assert (row["address"], row["language"], row["contact_by"], str(row["birth_date"])) == (
        "서울 종로구 새주소 5",
        "en",
        "both",
        "1940-01-02",
    )
    guardians = await pool.fetch(
        "SELECT position, name, phone FROM guardians WHERE recipient_id = $1 ORDER BY position", recipient_id
    )
    assert [(g["position"], g["name"], g["phone"]) for g in guardians] == [
        (1, "김민수", "+821098760000"),
        (2, "김민지", "+821055556666"),
    ]
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'recipient.update'") == 1
    blank = await client.post(url, data={**fields, "name": " "})
    assert blank.status_code == 400 and error_beside(blank.text, "name") == "필수 항목입니다."


async def test_another_districts_person_cannot_be_edited(client, make_staff, pool):
    recipient_id = await enroll(pool, phone="010-1111-0001", district="11140")
    token = await signed_in(client, make_staff)
    assert (await client.get(f"/console/people/{recipient_id}/edit")).status_code == 404
    response = await client.post(
        f"/console/people/{recipient_id}/edit", data={"csrf": token, "name": "x", "address": "y"}
    )
    assert response.status_code == 404
    assert await pool.fetchval("SELECT name FROM care_recipients WHERE id = $1", recipient_id) == "김순자"


async def test_the_plan_form_says_how_each_step_reaches_them(client, make_staff, pool):
    recipient_id = await enroll(pool, phone="010-1111-0003")
    await signed_in(client, make_staff)
    url = f"/console/people/{recipient_id}"
    page = await client.get(url)
    # Each step's select, "as contact by says" first, with the way that is in effect for this person (by SMS).
    assert 'name="step_ask_again"' in page.text and "연락 방법대로 (문자·앱)" in page.text
    token = csrf_of(page.text)
    plan = {"csrf": token, "times": "09:00", "days": ["1", "2", "3", "4", "5", "6", "7"], "window_minutes": "60"}
    bad = await client.post(f"{url}/plan", data={**plan, "step_urgent": "call"})
    assert bad.status_code == 400 and error_beside(bad.text, "step_urgent") is not None
    steps = {"step_first_ask": "", "step_ask_again": "call", "step_guardian": "message+call", "step_urgent": ""}
    good = await client.post(f"{url}/plan", data={**plan, **steps}, follow_redirects=False)
    assert good.status_code == 303
    columns = "first_ask_by, ask_again_by, guardian_by, urgent_by"
    saved = await pool.fetchrow(f"SELECT {columns} FROM checkin_plans WHERE recipient_id = $1", recipient_id)  # noqa: S608
    assert tuple(saved) == (None, "call", "message+call", None)
    page = await client.get(url)
    assert re.search(r'<option value="call" selected>', page.text)
    # A form without the selects (an older page) keeps the plan's own steps.
    await client.post(f"{url}/plan", data={**plan, "times": "10:00"})
    kept = await pool.fetchrow(f"SELECT {columns} FROM checkin_plans WHERE recipient_id = $1", recipient_id)  # noqa: S608
    assert tuple(kept) == tuple(saved)


async def test_enrolling_someone_with_a_call_at_the_second_ask(client, make_staff, pool):
    token = await signed_in(client, make_staff)
    data = {**VALID, "phone": "010-2222-4444", "step_ask_again": "call", "csrf": token}
    response = await client.post("/console/people", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert await pool.fetchval("SELECT ask_again_by FROM checkin_plans") == "call"
