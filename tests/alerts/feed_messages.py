"""CAP messages for the feed tests: a Seoul alert built from the model, and the broken kinds feeds carry."""

from __future__ import annotations

from datetime import datetime, timedelta

from api.alerts.cap import (
    CapAlert,
    CapArea,
    CapInfo,
    Category,
    Certainty,
    MsgType,
    Scope,
    Severity,
    Status,
    Urgency,
)
from api.alerts.cap_render import render_cap

SENDER = "alerts@safekorea.test"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol3;</identifier></alert>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<feed xmlns="http://www.w3.org/2005/Atom"><title>&xxe;</title></feed>"""


def seoul_alert(identifier: str, *, now: datetime, expires_in: timedelta = timedelta(hours=6)) -> CapAlert:
    """An Actual, Public flood alert for 강남구 (by its district geocode), in force from ``now``."""
    return CapAlert(
        identifier=identifier,
        sender=SENDER,
        sent=now,
        status=Status.actual,
        msg_type=MsgType.alert,
        scope=Scope.public,
        infos=[
            CapInfo(
                language="ko-KR",
                categories=[Category.met],
                event="홍수경보",
                urgency=Urgency.immediate,
                severity=Severity.severe,
                certainty=Certainty.likely,
                onset=now,
                expires=now + expires_in,
                headline="탄천 홍수경보",
                description="탄천 대곡교 지점의 수위가 홍수경보 기준을 넘었습니다.",
                instruction="하천변 산책로와 저지대에서 즉시 벗어나세요.",
                areas=[CapArea(area_desc="강남구", geocodes=[("KR_ADMIN", "11680")])],
            )
        ],
    )


def seoul_message(identifier: str, *, now: datetime, expires_in: timedelta = timedelta(hours=6)) -> bytes:
    return render_cap(seoul_alert(identifier, now=now, expires_in=expires_in))


def unknown_severity(identifier: str, *, now: datetime) -> bytes:
    return seoul_message(identifier, now=now).replace(b"<severity>Severe</severity>", b"<severity>Awful</severity>")
