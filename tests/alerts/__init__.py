"""Alerts: CAP and KMA in, one model, the fan-out to people, CAP and Atom out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"


def cap_xml(
    identifier: str,
    *,
    sent: datetime | None = None,
    msg_type: str = "Alert",
    status: str = "Actual",
    scope: str = "Public",
    severity: str = "Severe",
    event: str = "호우경보",
    geocodes: tuple[str, ...] = ("11680",),
    expires: datetime | None = None,
    references: tuple[tuple[str, str, datetime], ...] = (),
    sender: str = "safety@seoul.go.kr",
    instruction: str = "하천변과 지하공간에 가지 마세요.",
    polygons: tuple[str, ...] = (),
    circles: tuple[str, ...] = (),
) -> bytes:
    """A small CAP 1.2 alert over Seoul districts, in Korean and English."""
    sent = sent or datetime.now(UTC).replace(microsecond=0)
    expires = expires or sent + timedelta(hours=6)
    refs = " ".join(f"{s},{i},{t.isoformat()}" for s, i, t in references)
    codes = "".join(f"<polygon>{p}</polygon>" for p in polygons) + "".join(f"<circle>{c}</circle>" for c in circles)
    codes += "".join(f"<geocode><valueName>KR_ADMIN</valueName><value>{code}</value></geocode>" for code in geocodes)

    def info(lang: str, headline: str, text: str) -> str:
        return (
            f"<info><language>{lang}</language><category>Met</category><event>{event}</event>"
            f"<responseType>Prepare</responseType><urgency>Expected</urgency><severity>{severity}</severity>"
            f"<certainty>Likely</certainty><expires>{expires.isoformat()}</expires>"
            f"<headline>{headline}</headline><description>{headline}</description>"
            f"<instruction>{text}</instruction>"
            f"<area><areaDesc>서울 동남권</areaDesc>{codes}</area></info>"
        )

    body = (
        f'<alert xmlns="{CAP_NS}"><identifier>{identifier}</identifier><sender>{sender}</sender>'
        f"<sent>{sent.isoformat()}</sent><status>{status}</status><msgType>{msg_type}</msgType>"
        f"<scope>{scope}</scope>"
        + (f"<references>{refs}</references>" if refs else "")
        + info("ko-KR", "서울 동남권 호우경보", instruction)
        + info("en-US", "Heavy rain warning for south-east Seoul", "Keep away from rivers and basements.")
        + "</alert>"
    )
    return body.encode()
