"""Who may post CAP: a service token needs alerts:publish, speaks only as its senders, and replaces only their
alerts; an operator may post as anyone and cancel anything. Refusals are 403 and leave nothing behind."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from api.platform.auth.tokens import Role, Scope
from tests.alerts import cap_xml
from tests.conftest import bearer, problem

CAP = {"Content-Type": "application/cap+xml"}
CITY = "safety@seoul.go.kr"  # the city's own sender, as its operators post
PARTNER = "alerts@partner.example"
EVERY_DISTRICT = tuple(str(code) for code in range(11110, 11750, 10))


@pytest.fixture
def operator(token_for) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {**bearer(token_for(Role.operator)), **CAP}


@pytest.fixture
def open311_partner(token_for) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The token of the issue: minted for an Open311 partner, and nothing more."""
    token = token_for(Role.service, subject="service:open311-partner", scopes=(Scope.open311_submit,))
    return {**bearer(token), **CAP}


@pytest.fixture
def publisher(token_for) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A partner agency's gateway, allowed to publish as its own sender."""
    token = token_for(Role.service, subject="service:partner", scopes=(Scope.alerts_publish,), senders=(PARTNER,))
    return {**bearer(token), **CAP}


async def post_cap(client, headers, xml: bytes):  # type: ignore[no-untyped-def]
    return await client.post("/v1/alerts/cap", content=xml, headers=headers)


async def counts(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM alerts) AS alerts, (SELECT count(*) FROM outbox) AS outbox,"
            " (SELECT count(*) FROM notices) AS notices, (SELECT count(*) FROM safety_checks) AS safety_checks"
        )
        return dict(row)
    finally:
        await conn.close()


async def in_force(client, alert_id: int) -> bool:  # type: ignore[no-untyped-def]
    return (await client.get(f"/v1/alerts/{alert_id}")).json()["in_force"]


def cancel_of(identifier: str, *, of: str, sender: str, sent: datetime, msg_type: str = "Cancel") -> bytes:
    return cap_xml(
        f"{msg_type.lower()}-{identifier}", msg_type=msg_type, sender=sender, references=((of, identifier, sent),)
    )


async def test_an_open311_token_may_not_cancel_an_operators_alert(client, operator, open311_partner, settings):
    sent = datetime.now(UTC).replace(microsecond=0)
    real = await post_cap(client, operator, cap_xml("real-1", sent=sent, sender=CITY))
    assert real.status_code == 201
    before = await counts(settings.db.url)
    assert before["outbox"] > 0  # an alert that is told is told through the outbox: its silence is the check

    response = await post_cap(client, open311_partner, cancel_of("real-1", of=CITY, sender=CITY, sent=sent))
    assert response.status_code == 403
    body = problem(response)
    assert body["code"] == "scope_missing" and body["scope"] == "alerts:publish"
    assert "alerts:publish" in body["detail"]
    assert await counts(settings.db.url) == before
    assert await in_force(client, real.json()["alert_id"])


async def test_an_open311_token_may_not_broadcast_a_city_wide_air_raid_warning(client, open311_partner, settings):
    xml = cap_xml("air-raid", event="공습경보", severity="Extreme", geocodes=EVERY_DISTRICT, sender=CITY)
    response = await post_cap(client, open311_partner, xml)
    assert response.status_code == 403
    assert problem(response)["code"] == "scope_missing"
    assert await counts(settings.db.url) == {"alerts": 0, "outbox": 0, "notices": 0, "safety_checks": 0}


async def test_a_publisher_may_not_claim_another_sender(client, publisher, settings):
    xml = cap_xml("claimed", event="공습경보", severity="Extreme", geocodes=EVERY_DISTRICT, sender=CITY)
    response = await post_cap(client, publisher, xml)
    assert response.status_code == 403
    body = problem(response)
    assert body["code"] == "cap_sender_not_allowed"
    assert CITY in body["detail"] and PARTNER in body["detail"]
    assert await counts(settings.db.url) == {"alerts": 0, "outbox": 0, "notices": 0, "safety_checks": 0}


@pytest.mark.parametrize("msg_type", ["Cancel", "Update"])
async def test_a_publisher_may_not_replace_another_senders_alert(client, operator, publisher, settings, msg_type):
    sent = datetime.now(UTC).replace(microsecond=0)
    real = await post_cap(client, operator, cap_xml("real-2", sent=sent, sender=CITY))
    before = await counts(settings.db.url)

    # Its own sender on the message, the city's alert in the references: the way an Update or Cancel replaces.
    xml = cancel_of("real-2", of=CITY, sender=PARTNER, sent=sent, msg_type=msg_type)
    response = await post_cap(client, publisher, xml)
    assert response.status_code == 403
    body = problem(response)
    assert body["code"] == "cap_not_original_sender"
    assert f"{CITY},real-2" in body["detail"]
    assert await counts(settings.db.url) == before
    assert await in_force(client, real.json()["alert_id"])


async def test_a_publisher_posts_updates_and_cancels_its_own_alerts(client, publisher, settings):
    sent = datetime.now(UTC).replace(microsecond=0)
    own = await post_cap(client, publisher, cap_xml("own-1", sent=sent, sender=PARTNER))
    assert own.status_code == 201, own.text
    xml = cancel_of("own-1", of=PARTNER, sender=PARTNER, sent=sent, msg_type="Update")
    update = await post_cap(client, publisher, xml)
    assert update.status_code == 201, update.text
    assert update.json()["replaced"] == [own.json()["alert_id"]]
    assert await in_force(client, update.json()["alert_id"])

    cancel = await post_cap(client, publisher, cancel_of("update-own-1", of=PARTNER, sender=PARTNER, sent=sent))
    assert cancel.status_code == 201, cancel.text
    assert not await in_force(client, update.json()["alert_id"])


async def test_an_operator_may_cancel_any_alert(client, operator, publisher):
    sent = datetime.now(UTC).replace(microsecond=0)
    partners = await post_cap(client, publisher, cap_xml("own-2", sent=sent, sender=PARTNER))
    assert partners.status_code == 201
    cancel = await post_cap(client, operator, cancel_of("own-2", of=PARTNER, sender=CITY, sent=sent))
    assert cancel.status_code == 201, cancel.text
    assert cancel.json()["replaced"] == [partners.json()["alert_id"]]
    assert not await in_force(client, partners.json()["alert_id"])


async def test_a_service_token_with_another_scope_is_refused_before_the_body_is_read(client, token_for):
    chatbot = {**bearer(token_for(Role.service, scopes=(Scope.chatbot, Scope.sensors_write))), **CAP}
    response = await post_cap(client, chatbot, b"not even xml")
    assert response.status_code == 403
    assert "chatbot sensors:write" in problem(response)["detail"]
