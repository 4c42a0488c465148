"""The console's case page of a sensor emergency: "119 신고 필요", and one click records that 119 was called."""

from __future__ import annotations

from api.platform.auth.tokens import Role, Scope
from tests.care.test_sensor_emergencies import enrol, event
from tests.conftest import bearer
from tests.console.conftest import csrf_of, sign_in


async def test_the_console_case_page_says_119_is_needed_and_one_click_records_it(client, token_for, make_staff, pool):
    sensors = bearer(token_for(Role.service, subject="service:sensors", scopes=(Scope.sensors_write,)))
    person = await enrol(client, bearer(token_for(Role.social_worker, districts=("11110",))))
    case_id = (await client.post("/v1/care/sensor-events", json=event(person, "fire"), headers=sensors)).json()[
        "case_id"
    ]
    staff_id = await make_staff("kim@seoul.test")
    assert (await sign_in(client, "kim@seoul.test")).status_code == 303

    page = await client.get(f"/console/cases/{case_id}")
    assert "119 신고 필요" in page.text and 'id="called-119"' in page.text and "화재 감지" in page.text
    done = await client.post(
        f"/console/cases/{case_id}/called-119", data={"csrf": csrf_of(page.text)}, follow_redirects=False
    )
    assert done.status_code == 303
    page = await client.get(f"/console/cases/{case_id}")
    assert "119 신고함" in page.text and 'id="called-119"' not in page.text
    actor = await pool.fetchval("SELECT called_119_by FROM cases WHERE id = $1", case_id)
    assert actor == f"staff:{staff_id}"
