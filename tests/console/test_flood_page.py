"""The flood board in the console: per dong, confirmed, not yet and needing help; each dong's households."""

from __future__ import annotations

from datetime import timedelta

from notifications.service import Notifier
from tests.care.flood_helpers import SUSONG, T0, add_household, text, warn
from tests.console.conftest import sign_in


async def test_the_board_counts_each_dong_and_lists_its_households(client, app, make_staff, pool, settings):
    notifier = Notifier(settings.notify)
    await add_household(pool, name="박영자")
    await add_household(pool, phones=["010-2000-0002"], partners=["010-3000-0003"], name="김말순")
    await add_household(pool, at=SUSONG, phones=["010-2000-0004"], partners=["010-3000-0004"], name="종로 가구")
    await warn(pool, notifier, geocodes=("11680", "11110"))
    at = T0 + timedelta(minutes=5)
    await text(pool, notifier, app.state.inbound_handlers, phone="+821030000003", body="도움 필요", at=at)
    await text(pool, notifier, app.state.inbound_handlers, phone="+821020000004", body="괜찮아요", at=at)

    await make_staff("ops@seoul.go.kr", role="operator")
    await sign_in(client, "ops@seoul.go.kr")
    board = await client.get("/console/flood")
    assert board.status_code == 200, board.text
    rows = board.text.split("<tbody>")[1].split("</tbody>")[0].split("<tr>")[1:]
    assert "대치동" in rows[0] and '<span class="badge urgent">1</span>' in rows[0]  # needing help first
    assert "수송동" in rows[1]

    dong = await client.get("/console/flood/11680106")
    assert dong.status_code == 200
    body = dong.text.split("<tbody>")[1]
    assert body.index("김말순") < body.index("박영자")  # needing help, then not yet
    assert "도움 필요" in body

    await make_staff("kim@jongno.go.kr", districts=("11110",))
    await sign_in(client, "kim@jongno.go.kr")
    theirs = await client.get("/console/flood")
    assert "수송동" in theirs.text and "대치동" not in theirs.text
    assert (await client.get("/console/flood/11680106")).status_code == 403
