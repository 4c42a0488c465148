"""The flood registry through the API: registering with consent, bad input as problem+json, updates, and the
operators' board per dong; partners answering from the app."""

from __future__ import annotations

import asyncpg
import pytest

from api.platform.auth.tokens import Role
from tests.care.flood_helpers import SUSONG, add_duty_worker, warn
from tests.conftest import bearer, problem, sign_in

BODY = {
    "name": "이순례",
    "address": "서울 강남구 대치동 900 반지하",
    "housing": "semi_basement",
    "home": {"lat": 37.4994, "lon": 127.0630},
    "phones": ["010-2100-0001"],
    "partners": [
        {"name": "옆집 김씨", "role": "neighbour", "phone": "010 3100 0001"},
        {"name": "대치1동 통장", "role": "tongjang", "phone": "+82 10-3100-0002"},
    ],
    "consent": {"by": "본인"},
}


@pytest.fixture
def operator(token_for):  # type: ignore[no-untyped-def]
    return bearer(token_for(Role.operator))


async def test_register_read_update(client, operator) -> None:
    created = await client.post("/v1/flood/households", json=BODY, headers=operator)
    assert created.status_code == 201, created.text
    home = created.json()
    assert (home["dong"], home["dong_name_ko"], home["district"]) == ("11680106", "대치동", "11680")
    assert home["phones"] == ["+821021000001"]
    assert [p["phone"] for p in home["partners"]] == ["+821031000001", "+821031000002"]
    assert home["consent"]["by"] == "본인" and home["consent"]["at"]

    read = await client.get(f"/v1/flood/households/{home['id']}", headers=operator)
    assert read.status_code == 200 and read.json()["name"] == "이순례"

    changed = {k: v for k, v in BODY.items() if k != "consent"}
    changed["partners"] = [*BODY["partners"][1:], {"name": "주민센터", "role": "official", "phone": "010-3100-0003"}]
    updated = await client.put(f"/v1/flood/households/{home['id']}", json=changed, headers=operator)
    assert updated.status_code == 200, updated.text
    partners = updated.json()["partners"]
    assert [(p["position"], p["role"]) for p in partners] == [(1, "tongjang"), (2, "official")]
    # The partner kept (same phone) keeps its id, so an open ask of theirs stays theirs.
    assert partners[0]["id"] == home["partners"][1]["id"]

    listed = await client.get("/v1/flood/households", params={"dong": "11680106"}, headers=operator)
    assert [h["id"] for h in listed.json()] == [home["id"]]


async def test_a_household_may_give_a_landline_which_is_asked_by_call(client, operator) -> None:
    created = await client.post("/v1/flood/households", json={**BODY, "phones": ["02-2133-0001"]}, headers=operator)
    assert created.status_code == 201, created.text
    assert created.json()["phones"] == ["+82221330001"]


@pytest.mark.parametrize(
    ("change", "status", "says"),
    [
        ({"consent": None}, 400, "consent"),
        ({"partners": []}, 400, "partners"),
        ({"phones": ["010-12"]}, 400, "not a"),
        ({"partners": [{"name": "옆집", "role": "neighbour", "phone": "02-2133-0002"}]}, 400, "mobile"),
        ({"housing": "penthouse"}, 400, "semi_basement"),
        ({"partners": [{"name": "나", "role": "neighbour", "phone": "010-2100-0001"}]}, 400, "someone else"),
        ({"partners": [{"name": "x", "role": "friend", "phone": "010-3100-0001"}]}, 400, "tongjang"),
        ({"home": {"lat": 35.1, "lon": 129.0}}, 422, "not inside Seoul"),
        ({"home": {"dong": "11999999"}}, 400, "no dong"),
        ({"recipient_id": 999}, 422, "No person in care"),
        ({"surprise": 1}, 400, "surprise"),
    ],
)
async def test_bad_input_is_a_problem_that_says_what_is_wrong(client, operator, change, status, says) -> None:
    body = {k: v for k, v in {**BODY, **change}.items() if v is not None}
    response = await client.post("/v1/flood/households", json=body, headers=operator)
    assert response.status_code == status, response.text
    assert says in str(problem(response))  # the detail, or the field it names and the values it allows


async def test_a_social_worker_registers_and_reads_in_their_districts_only(client, token_for) -> None:
    gangnam = bearer(token_for(Role.social_worker, districts=("11680",)))
    jongno = bearer(token_for(Role.social_worker, districts=("11110",)))
    created = await client.post("/v1/flood/households", json=BODY, headers=gangnam)
    assert created.status_code == 201
    assert (await client.get(f"/v1/flood/households/{created.json()['id']}", headers=jongno)).status_code == 404
    refused = await client.post("/v1/flood/households", json=BODY, headers=jongno)
    assert refused.status_code == 403 and problem(refused)["code"] == "district_not_yours"
    citizen = await client.post("/v1/flood/households", json=BODY, headers=bearer(token_for(Role.citizen)))
    assert citizen.status_code == 403


async def test_a_partner_answers_from_the_app_and_the_board_counts_it(client, app, operator, pool) -> None:
    await add_duty_worker(pool)
    ids = []
    for i, body in enumerate(
        [
            BODY,
            {
                **BODY,
                "phones": ["010-2100-0002"],
                "partners": [{"name": "b", "role": "official", "phone": "010-3100-0009"}],
            },
            {
                **BODY,
                "phones": ["010-2100-0003"],
                "partners": [{"name": "c", "role": "neighbour", "phone": "010-3100-0008"}],
            },
            {**BODY, "home": {"lat": SUSONG[0], "lon": SUSONG[1]}, "phones": [], "partners": [BODY["partners"][0]]},
        ]
    ):
        created = await client.post("/v1/flood/households", json={**body, "name": f"가구{i}"}, headers=operator)
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    await warn(pool, app.state.notifier)  # 강남구 only: the fourth household, in 종로구, is not asked

    token = await sign_in(client, "010-3100-0001")
    [mine] = (await client.get("/v1/flood/checks/mine", headers=bearer(token))).json()
    assert mine["household_id"] == ids[0] and mine["status"] == "not_yet"
    refused = await client.post(f"/v1/flood/checks/{mine['id']}/answer", json={"answer": "safe"}, headers=bearer(token))
    assert refused.status_code == 422 and "arrived" in problem(refused)["allowed"]
    answered = await client.post(
        f"/v1/flood/checks/{mine['id']}/answer", json={"answer": "arrived"}, headers=bearer(token)
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "confirmed"

    helper = await sign_in(client, "010-3100-0009")
    [theirs] = (await client.get("/v1/flood/checks/mine", headers=bearer(helper))).json()
    asked = await client.post(
        f"/v1/flood/checks/{theirs['id']}/answer", json={"answer": "need_help"}, headers=bearer(helper)
    )
    assert asked.json()["status"] == "need_help" and asked.json()["help_told_at"] is not None

    board = await client.get("/v1/flood/dongs", headers=operator)
    assert board.status_code == 200
    assert board.json() == [
        {
            "dong": "11680106",
            "dong_name_ko": "대치동",
            "dong_name_en": "Daechi-dong",
            "district": "11680",
            "households": 3,
            "confirmed": 1,
            "not_yet": 1,
            "need_help": 1,
        }
    ]
    listed = await client.get("/v1/flood/dongs/11680106/checks", headers=operator)
    assert [c["status"] for c in listed.json()] == ["need_help", "not_yet", "confirmed"]

    resolved = await client.post(f"/v1/flood/checks/{theirs['id']}/resolve", headers=operator)
    assert resolved.json()["status"] == "confirmed"
    stranger = await sign_in(client, "010-5555-0000")
    nothing = await client.post(
        f"/v1/flood/checks/{mine['id']}/answer", json={"answer": "arrived"}, headers=bearer(stranger)
    )
    assert nothing.status_code == 404


async def test_a_household_in_care_answering_is_a_sign_of_life_to_care(client, app, operator, pool, token_for) -> None:
    worker = bearer(token_for(Role.social_worker, districts=("11680",)))
    enrol = await client.post(
        "/v1/care/recipients",
        json={
            "name": "정복순",
            "phone": "010-2100-0001",
            "district": "11680",
            "address": "서울 강남구 대치동 900",
            "plan": {"times": ["09:00"]},
        },
        headers=worker,
    )
    assert enrol.status_code == 201, enrol.text
    body = {**BODY, "phones": [], "recipient_id": enrol.json()["id"]}
    created = await client.post("/v1/flood/households", json=body, headers=worker)
    assert created.status_code == 201, created.text
    assert created.json()["phones"] == ["+821021000001"]  # the person's own phone
    second = await client.post("/v1/flood/households", json=body, headers=worker)
    assert second.status_code == 409 and problem(second)["code"] == "recipient_linked"

    # A Moderate advisory: care asks nobody "are you safe?", so the flood check does.
    await warn(pool, app.state.notifier, event="호우주의보", severity="Moderate")
    token = await sign_in(client, "010-2100-0001")
    [mine] = (await client.get("/v1/flood/checks/mine", headers=bearer(token))).json()
    answered = await client.post(
        f"/v1/flood/checks/{mine['id']}/answer", json={"answer": "safe"}, headers=bearer(token)
    )
    assert answered.status_code == 200, answered.text
    conn = await asyncpg.connect(app.state.settings.db.url)
    try:
        checkin = await conn.fetchrow("SELECT channel, kind FROM checkins ORDER BY id DESC LIMIT 1")
    finally:
        await conn.close()
    assert (checkin["channel"], checkin["kind"]) == ("app", "checkin")
