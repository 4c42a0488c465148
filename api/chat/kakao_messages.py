"""What the KakaoTalk chatbot says itself (before linking, and when care takes a message), Korean first."""

from __future__ import annotations

from notifications.templates import Template, Text, register

# The one SMS of the Kakao side: the code that links a Kakao user to the phone it was sent to.
LINK_CODE = register(
    Template(
        name="kakao.link_code",
        urgent=False,
        ko=Text(title=None, body="카카오톡 연결 인증번호 {code} ({minutes}분 안에 채팅방에 입력)"),
        en=Text(title=None, body="KakaoTalk link code {code}: type it in the chat within {minutes} min."),
    )
).name


def both(ko: str, en: str) -> str:
    """One text for someone whose language we do not know yet: Korean, then English."""
    return f"{ko}\n\n{en}"


HOW_TO_LINK = both(
    "카카오톡으로 안부 확인과 도움 요청을 하시려면 먼저 전화번호를 연결해 주세요. 휴대전화 번호(예: 010-1234-5678)를 "
    "보내 주시면 그 번호로 인증번호 6자리를 문자로 보내 드립니다. 앱을 쓰신다면 앱의 '카카오톡 연결'에서 받은 "
    "8자리 번호를 보내 주세요. 급한 일이면 119 또는 112에 전화하세요.",
    "To check in and ask for help in KakaoTalk, link your phone number first. Send your mobile number "
    "(e.g. 010-1234-5678) and we will text a 6-digit code to it. If you use the app, send the 8-digit number from "
    "its 'Link KakaoTalk' page. In an emergency call 119 or 112.",
)
CODE_SENT = both(
    "등록된 번호라면 인증번호 6자리를 문자로 보냈습니다. {minutes}분 안에 여기에 입력해 주세요.",
    "If that number is registered with us, a 6-digit code is on its way by SMS. Send it here within {minutes} minutes.",
)
TOO_MANY_CODES = both(
    "인증번호를 너무 여러 번 요청하셨습니다. 한 시간 뒤에 다시 시도해 주세요.",
    "Too many codes were asked for; please try again in an hour.",
)
BAD_CODE = both(
    "인증번호가 맞지 않거나 만료되었습니다. 다시 확인해 주시거나, 휴대전화 번호를 보내 새 번호를 받으세요.",
    "That code is wrong or has expired. Check it, or send your mobile number for a new one.",
)
LOCKED = both(
    "잘못된 인증번호가 너무 많습니다. 한 시간 뒤에 다시 시도해 주세요.",
    "Too many wrong codes; please try again in an hour.",
)
LINKED = {
    "ko": "연결되었습니다. 이제 카카오톡에서 '괜찮아요'로 안부를 전하고, '도와주세요'로 도움을 요청할 수 있어요.",
    "en": "You are linked. You can now check in by writing 'I'm OK' and ask for help with 'Help me' here.",
}
UNLINKED = {
    "ko": "카카오톡 연결을 해제했습니다. 다시 연결하려면 휴대전화 번호를 보내 주세요.",
    "en": "KakaoTalk is unlinked. Send your mobile number to link it again.",
}
TOO_LONG = both(
    "메시지가 너무 깁니다({length:,}자). 1,000자 이내로 나누어 보내 주세요.",
    "Your message is too long ({length:,} characters). Please send at most 1,000 characters at a time.",
)
EMPTY = both("메시지가 비어 있어요. 하실 말씀을 적어 주세요.", "Your message is empty; please write something.")
CHECKED_IN = {
    "ko": "안부 확인되었습니다. 오늘도 건강하세요!",
    "en": "Thank you, your check-in is recorded. Take care!",
}
HELP_OPENED = {
    "ko": "도움 요청을 받았습니다. 보호자와 담당 사회복지사에게 바로 알렸습니다. 위급하면 119에 전화하세요.",
    "en": "We got your call for help and told your guardian and social worker. In an emergency, call 119.",
}
HELP_ALREADY_OPEN = {
    "ko": "이미 담당 사회복지사에게 알려져 있어요. 곧 연락드릴 거예요. 위급하면 119에 전화하세요.",
    "en": "Your social worker already knows and will contact you soon. If it is an emergency, call 119.",
}
# While the bot is slower than Kakao's 5 seconds: the callback's placeholder, and the reply when there is no callback.
THINKING = {"ko": "답을 준비하고 있어요. 잠시만 기다려 주세요.", "en": "One moment, I'm working on your answer."}
HOLDING = {
    "ko": "지금 답이 늦어지고 있어요. 잠시 후 다시 보내 주세요. 급하면 '도와주세요'라고 보내시거나 119에 전화하세요.",
    "en": "My answer is slow right now. Please send it again in a moment. If urgent, write 'Help me' or call 119.",
}
