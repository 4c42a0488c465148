"""``safecity token`` and ``safecity staff``: accounts and credentials for operations and tests."""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import click
import msgspec

from api.accounts import service
from api.accounts.schemas import StaffCreate
from api.cli.common import database_url, load_settings, secret_warning
from api.platform.auth import revocations
from api.platform.auth.tokens import Principal, Role, Scope, TokenIssuer, TokenTooLong
from api.platform.errors import Problem
from api.platform.phones import normalise_phone


async def _with_connection(url: str, work):
    conn = await asyncpg.connect(url)
    try:
        return await work(conn)
    finally:
        await conn.close()


def _in_database(work):
    """Run ``work(conn)`` against the configured database and turn a Problem into a clean CLI error."""
    settings = load_settings()
    with database_url(settings) as url:
        try:
            return asyncio.run(_with_connection(url, work))
        except Problem as exc:
            raise click.ClickException(exc.detail) from exc


@click.group(invoke_without_command=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), help="Who the token is for (required to mint).")
@click.option("--phone", help="citizen: their phone; the citizen is registered if new.")
@click.option(
    "--staff", "staff_email", help="social_worker/operator: the staff account (required); role and districts are its."
)
@click.option("--subject", help="service: who the token is for, e.g. rasa-actions.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice([s.value for s in Scope]),
    help="service: what the token may do (repeatable; at least one).",
)
@click.option(
    "--sender", "senders", multiple=True, help="alerts:publish: a CAP <sender> it may speak for (repeatable)."
)
@click.option("--ttl", type=int, default=None, help="Lifetime in seconds (default: the role's usual; capped per role).")
@click.pass_context
def token(
    ctx: click.Context,
    role: str | None,
    phone: str | None,
    staff_email: str | None,
    subject: str | None,
    scopes: tuple[str, ...],
    senders: tuple[str, ...],
    ttl: int | None,
) -> None:
    """Mint a bearer token and print it alone on stdout (its jti on stderr); or ``token revoke JTI``."""
    if ctx.invoked_subcommand is not None:
        return
    if role is None and not staff_email:
        raise click.UsageError("Missing option '--role' (or --staff EMAIL for a staff token).")
    settings = load_settings()
    warning = secret_warning(settings)
    if warning:
        click.echo(warning, err=True)
    if role is None:
        principal = _staff_principal(None, staff_email=staff_email)
    elif Role(role) is Role.service:
        if staff_email:
            raise click.UsageError("--staff is for social_worker and operator tokens")
        principal = _service_principal(subject=subject, scopes=scopes, senders=senders)
    else:
        if scopes or senders:
            raise click.UsageError("--scope and --sender are for service tokens only (--role service)")
        principal = _principal(Role(role), phone=phone, staff_email=staff_email)
    lifetime = ttl or (
        settings.auth.citizen_token_ttl_s if principal.role is Role.citizen else settings.auth.staff_token_ttl_s
    )
    # The jti is chosen here so it can be told to the operator: it is what ``token revoke`` takes.
    principal = msgspec.structs.replace(principal, token_id=uuid.uuid4().hex)
    try:
        minted = TokenIssuer(settings).issue(principal, ttl_s=lifetime)
    except TokenTooLong as exc:
        raise click.BadParameter(str(exc), param_hint="--ttl") from exc
    expires = datetime.now(UTC) + timedelta(seconds=lifetime)
    # stderr, so that stdout stays the token alone for scripts.
    click.echo(f"jti {principal.token_id} expires {expires.isoformat(timespec='seconds')}", err=True)
    click.echo(minted)


@token.command("revoke")
@click.argument("jti")
@click.option("--reason", default="", help="Why, for whoever reads the list later.")
def token_revoke(jti: str, reason: str) -> None:
    """Revoke a token by its jti: the API refuses it from its next request on."""
    try:
        token_id = uuid.UUID(jti).hex
    except ValueError as exc:
        raise click.BadParameter("a jti is the 32 hex digits `safecity token` printed", param_hint="JTI") from exc
    settings = load_settings()
    now = datetime.now(UTC)
    # The jti alone does not say when its token expires; no token outlives the longest cap, so neither need this.
    expires_at = now + timedelta(seconds=settings.auth.longest_token_ttl_s)
    added = _in_database(
        lambda conn: revocations.revoke(conn, jti=token_id, expires_at=expires_at, reason=reason, now=now)
    )
    click.echo(f"revoked {token_id}" if added else f"{token_id} was already revoked", err=True)


def _principal(role: Role, *, phone: str | None, staff_email: str | None) -> Principal:
    if role is Role.citizen:
        if staff_email:
            raise click.UsageError("--staff is for social_worker and operator tokens")
        if not phone:
            raise click.UsageError("a citizen token needs --phone")
        try:
            number = normalise_phone(phone)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from exc
        citizen_id = _in_database(lambda conn: _ensure_citizen(conn, number))
        return Principal(subject=f"citizen:{citizen_id}", role=role, phone=number)
    return _staff_principal(role, staff_email=staff_email)


def _staff_principal(role: Role | None, *, staff_email: str | None) -> Principal:
    """A staff token names an account, so deactivating it ends the token, and its districts are the account's."""
    if not staff_email:
        raise click.UsageError(f"a {role and role.value} token needs --staff, the email of an active staff account")
    account = _in_database(lambda conn: service.get_staff_by_email(conn, email=staff_email))
    if not account.active:
        raise click.ClickException(f"{account.email} is deactivated")
    if role is not None and account.role.value != role.value:
        raise click.UsageError(f"{account.email} is a {account.role.value} account, not {role.value}")
    return Principal(subject=f"staff:{account.id}", role=Role(account.role.value), districts=tuple(account.districts))


def _service_principal(*, subject: str | None, scopes: tuple[str, ...], senders: tuple[str, ...]) -> Principal:
    """A service token names what it may do: a service token with no scope could do nothing, so it is refused."""
    if not scopes:
        raise click.UsageError(f"a service token needs --scope, one or more of: {', '.join(s.value for s in Scope)}")
    granted = tuple(Scope(s) for s in dict.fromkeys(scopes))
    publishes = Scope.alerts_publish in granted
    if publishes and not senders:
        raise click.UsageError("--scope alerts:publish needs --sender, a CAP <sender> it may speak for (repeatable)")
    if senders and not publishes:
        raise click.UsageError("--sender is for --scope alerts:publish")
    if any(not s.strip() or "," in s or any(c.isspace() for c in s) for s in senders):
        # CAP forbids spaces and commas in <sender>; a sender with them could never match a message.
        raise click.BadParameter("a CAP sender has no spaces or commas", param_hint="--sender")
    return Principal(
        subject=f"service:{subject or 'cli'}",
        role=Role.service,
        scopes=granted,
        cap_senders=tuple(dict.fromkeys(senders)),
    )


async def _ensure_citizen(conn: asyncpg.Connection, phone: str) -> int:
    async with conn.transaction():
        return await service.ensure_citizen(conn, phone=phone, language="ko")


@click.group()
def staff() -> None:
    """Staff accounts: social workers and operators."""


@staff.command("add")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["social_worker", "operator"]), required=True)
@click.option("--district", "districts", multiple=True, help="A district the social worker serves (repeatable).")
@click.option("--password-stdin", is_flag=True, help="Read a console password (12+ characters) from stdin.")
@click.option("--phone", default=None, help="Their mobile, for urgent cases while they are on duty.")
def staff_add(
    email: str, name: str, role: str, districts: tuple[str, ...], password_stdin: bool, phone: str | None
) -> None:
    """Create a staff account and print it as JSON."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    fields = {"email": email, "name": name, "role": role, "districts": list(districts), "password": password}
    try:
        data = msgspec.convert({**fields, "phone": phone}, StaffCreate)
    except msgspec.ValidationError as exc:
        raise click.BadParameter(str(exc)) from exc
    created = _in_database(lambda conn: service.create_staff(conn, data=data))
    click.echo(msgspec.json.encode(created).decode())


@staff.command("deactivate")
@click.argument("email")
def staff_deactivate(email: str) -> None:
    """Deactivate a staff account: its tokens stop working at once."""
    account = _in_database(lambda conn: service.set_staff_active(conn, email=email, active=False))
    click.echo(msgspec.json.encode(account).decode())


@staff.command("list")
def staff_list() -> None:
    """Print every staff account as JSON lines."""
    for account in _in_database(service.list_staff):
        click.echo(msgspec.json.encode(account).decode())
