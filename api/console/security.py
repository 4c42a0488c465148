"""A staff member's own security notices: wrong passwords tried for their account, and operators' unlocks.

Staff have no SMS or push channel, so the console is how they are told: right after their next sign-in, and
in a banner on every page until they say they have read them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from api.console import lockout
from api.console.pages import page, safe_next
from api.console.sessions import PostedForm, Session
from api.platform.db.pool import Db

NextParam = Annotated[str | None, QueryParameter(name="next")]


def slow_down_notice(t: Callable[..., str], seconds: int) -> str:
    """What the sign-in page says to a source that must wait, in seconds or, past two minutes, minutes."""
    if seconds < 120:
        return t("signin.slowed_s", seconds=seconds)
    return t("signin.slowed_m", minutes=-(-seconds // 60))


def _staff_id(session: Session) -> int:
    return int(session.principal.subject.removeprefix("staff:"))


class SecurityController(Controller):
    path = "/security"

    @get("/", name="console.security")
    async def notices(self, request: Request, db: Db, session: Session, next_: NextParam = None) -> Template:
        """What happened to this account that its owner has not read yet."""
        items = await lockout.notices(db, staff_id=_staff_id(session))
        return page(request, session, "security.html", items=items, next=safe_next(next_))

    @post("/seen", name="console.security_seen")
    async def seen(self, db: Db, session: Session, form: PostedForm) -> Redirect:
        await lockout.mark_seen(db, staff_id=_staff_id(session), now=datetime.now(UTC))
        return Redirect(safe_next(str(form.get("next") or "")), status_code=303)
