"""Business rules for citizens, devices and staff."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import asyncpg
import msgspec
from argon2 import PasswordHasher

from api.accounts import repository
from api.accounts.schemas import (
    CitizenRead,
    CitizenUpdate,
    DeviceCreate,
    DeviceRead,
    DistrictRead,
    DistrictSummary,
    StaffCreate,
    StaffRead,
)
from api.platform.auth.tokens import Principal, Role
from api.platform.errors import Conflict, NotFound

_hasher = PasswordHasher()


async def ensure_citizen(conn: asyncpg.Connection, *, phone: str, language: str = "ko") -> int:
    """The id of the citizen with this phone, registering them on first sign-in."""
    return await repository.upsert_citizen(conn, phone=phone, language=language)


async def get_citizen(conn: asyncpg.Connection, *, citizen_id: int) -> CitizenRead:
    row = await repository.get_citizen(conn, citizen_id)
    if row is None:
        raise _citizen_gone()
    return msgspec.convert(dict(row), CitizenRead)


async def find_citizen(conn: asyncpg.Connection, *, citizen_id: int) -> CitizenRead | None:
    """The citizen with this id, or None: for other domains, which answer an unknown one in their own words."""
    row = await repository.get_citizen(conn, citizen_id)
    return None if row is None else msgspec.convert(dict(row), CitizenRead)


async def find_citizen_by_phone(conn: asyncpg.Connection, *, phone: str) -> CitizenRead | None:
    """The citizen registered with this phone number (E.164), or None."""
    row = await repository.get_citizen_by_phone(conn, phone)
    return None if row is None else msgspec.convert(dict(row), CitizenRead)


async def citizens_by_id(conn: asyncpg.Connection, *, citizen_ids: Sequence[int]) -> list[CitizenRead]:
    """The citizens with these ids that still exist, by id: how other domains reach many at once."""
    rows = await repository.get_citizens(conn, sorted(set(citizen_ids)))
    return [msgspec.convert(dict(r), CitizenRead) for r in rows]


def _citizen_gone() -> NotFound:
    return NotFound("This account no longer exists; sign in again.", code="citizen_not_found")


async def update_citizen(conn: asyncpg.Connection, *, citizen_id: int, data: CitizenUpdate) -> CitizenRead:
    async with conn.transaction():
        current = await repository.lock_citizen(conn, citizen_id)
        if current is None:
            raise _citizen_gone()
        merged = {**dict(current), **data.changes()}
        row = await repository.update_citizen(
            conn,
            citizen_id,
            language=merged["language"],
            district=merged["district"],
            display_name=merged["display_name"],
        )
        if merged["district"] != current["district"]:
            await repository.resubscribe_devices(conn, citizen_id=citizen_id)
    assert row is not None  # the citizen is locked in this transaction
    return msgspec.convert(dict(row), CitizenRead)


async def register_device(conn: asyncpg.Connection, *, citizen_id: int, data: DeviceCreate) -> DeviceRead:
    async with conn.transaction():
        row = await repository.upsert_device(
            conn, citizen_id=citizen_id, platform=data.platform.value, fcm_token=data.fcm_token
        )
    return msgspec.convert(dict(row), DeviceRead)


async def list_devices(conn: asyncpg.Connection, *, citizen_id: int) -> list[DeviceRead]:
    rows = await repository.list_devices(conn, citizen_id=citizen_id)
    return [msgspec.convert(dict(r), DeviceRead) for r in rows]


async def remove_device(conn: asyncpg.Connection, *, citizen_id: int, device_id: int) -> None:
    async with conn.transaction():
        if not await repository.delete_device(conn, citizen_id=citizen_id, device_id=device_id):
            raise NotFound(f"You have no device {device_id}.", code="device_not_found")


async def create_staff(conn: asyncpg.Connection, *, data: StaffCreate) -> StaffRead:
    """Create a staff account; an email already in use is a conflict."""
    password_hash = await asyncio.to_thread(_hasher.hash, data.password) if data.password else None
    async with conn.transaction():
        staff_id = await repository.insert_staff(
            conn,
            email=data.email,
            name=data.name,
            role=data.role.value,
            districts=data.districts,
            password_hash=password_hash,
            phone=data.phone,
        )
        if staff_id is None:
            raise Conflict(f"A staff account with email {data.email} already exists.", code="staff_email_taken")
        row = await repository.get_staff(conn, staff_id)
    assert row is not None  # written in this transaction
    return msgspec.convert(dict(row), StaffRead)


async def get_staff_by_email(conn: asyncpg.Connection, *, email: str) -> StaffRead:
    row = await repository.get_staff_by_email(conn, email.strip().lower())
    if row is None:
        raise NotFound(f"No staff account has email {email}.", code="staff_not_found")
    return msgspec.convert(dict(row), StaffRead)


async def set_staff_active(conn: asyncpg.Connection, *, email: str, active: bool) -> StaffRead:
    async with conn.transaction():
        staff_id = await repository.set_staff_active(conn, email.strip().lower(), active)
        if staff_id is None:
            raise NotFound(f"No staff account has email {email}.", code="staff_not_found")
        row = await repository.get_staff(conn, staff_id)
    assert row is not None  # written in this transaction
    return msgspec.convert(dict(row), StaffRead)


async def current_staff(conn: asyncpg.Connection, principal: Principal) -> Principal | None:
    """The staff principal as the account stands now: its role and districts, or None when deactivated or gone."""
    if principal.staff_id is None:
        return None
    row = await repository.get_staff(conn, principal.staff_id)
    if row is None or not row["active"]:
        return None
    return msgspec.structs.replace(principal, role=Role(row["role"]), districts=tuple(row["districts"]))


async def list_staff(conn: asyncpg.Connection) -> list[StaffRead]:
    return [msgspec.convert(dict(r), StaffRead) for r in await repository.list_staff(conn)]


async def list_districts(conn: asyncpg.Connection) -> list[DistrictRead]:
    return [msgspec.convert(dict(r), DistrictRead) for r in await repository.list_districts(conn)]


async def district_summary(conn: asyncpg.Connection, *, code: str) -> DistrictSummary:
    row = await repository.district_summary(conn, code)
    if row is None:
        raise NotFound(f"{code} is not one of Seoul's 25 district codes.", code="district_not_found")
    return msgspec.convert(dict(row), DistrictSummary)
