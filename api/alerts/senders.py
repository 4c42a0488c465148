"""Who may speak as a CAP sender: a service token for the senders it names, and only for their own alerts.

An operator may post as any sender and Update or Cancel any alert: that is their job. A service token (a
partner agency's gateway) speaks only as the ``<sender>`` values its token lists, and refers only to alerts of
the sender it speaks as, since a reference is how an Update or a Cancel takes an alert's place. The check needs
no database: a reference names its alert by (sender, identifier), and that pair is how alerts are stored.
"""

from __future__ import annotations

from api.alerts.cap import CapAlert
from api.platform.auth.tokens import Principal, Role
from api.platform.errors import Forbidden


def check_may_send(principal: Principal, cap: CapAlert) -> None:
    """Refuse (403) a message this caller may not send; operators may send anything."""
    if principal.role is not Role.service:
        return
    if cap.sender not in principal.cap_senders:
        held = ", ".join(principal.cap_senders) or "none"
        raise Forbidden(
            f"This token may not send as {cap.sender!r}; the senders it may speak for: {held}.",
            code="cap_sender_not_allowed",
        )
    others = sorted({f"{r.sender},{r.identifier}" for r in cap.references if r.sender != cap.sender})
    if others:
        raise Forbidden(
            f"Only an alert's own sender (or an operator) may update or cancel it; {cap.sender!r} refers to "
            f"another sender's alerts: {'; '.join(others)}.",
            code="cap_not_original_sender",
        )
