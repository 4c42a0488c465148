"""Console fixtures: staff accounts with passwords, signing in through the form, people enrolled by the service."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from api.accounts import service as accounts
from api.accounts.schemas import StaffCreate
from api.platform.auth.tokens import Principal, Role
from care import service as care
from care.schemas import GuardianIn, PlanIn, RecipientCreate

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = _CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


MakeStaff = Callable[..., Awaitable[int]]


@pytest.fixture
def make_staff(pool: asyncpg.Pool) -> MakeStaff:
    """A staff account with a console password; its id."""

    async def make(email: str, *, districts: tuple[str, ...] = ("11110",), role: str = "social_worker") -> int:
        fields = {
            "email": email,
            "name": email.split("@")[0],
            "role": role,
            "districts": list(districts) if role == "social_worker" else [],
            "password": PASSWORD,
        }
        data = msgspec.convert(fields, StaffCreate)
        async with pool.acquire() as conn:
            return (await accounts.create_staff(conn, data=data)).id

    return make


async def sign_in(client: AsyncTestClient, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    """Sign in through the form, as a browser does; the response to the POST."""
    form = await client.get("/console/sign-in")
    assert form.status_code == 200, form.text
    return await client.post(
        "/console/sign-in",
        data={"email": email, "password": password, "csrf": csrf_of(form.text), "next": "/console/queue"},
        follow_redirects=False,
    )


async def enroll(
    pool: asyncpg.Pool, *, phone: str, district: str = "11110", name: str = "김순자", at: datetime | None = None
) -> int:
    """Enrol a person with a guardian and a 09:00/19:00 plan, as a social worker of the district would."""
    worker = Principal(subject="staff:0", role=Role.social_worker, districts=(district,))
    data = RecipientCreate(
        name=name,
        phone=phone,
        district=district,
        address="서울 종로구 세종대로 1",
        guardians=[GuardianIn(name="김민수", phone="010-9876-0000", relation="아들")],
        plan=PlanIn(times=["09:00", "19:00"]),
    )
    async with pool.acquire() as conn:
        return (await care.enroll(conn, data=data, principal=worker, now=at or datetime.now(UTC))).id
