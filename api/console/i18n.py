"""What the console says, in Korean (the default) and English, and how it shows times: Asia/Seoul."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from api.platform.districts import DISTRICTS

SEOUL = ZoneInfo("Asia/Seoul")
LANGUAGES = ("ko", "en")

# key: (Korean, English)
_STRINGS: dict[str, tuple[str, str]] = {
    "app.title": ("안심돌봄 상황판", "Safe care console"),
    "nav.queue": ("사례 대기열", "Case queue"),
    "nav.people": ("돌봄 대상자", "People"),
    "nav.operators": ("운영 현황", "Operators"),
    "nav.sign_out": ("로그아웃", "Sign out"),
    "nav.language": ("English", "한국어"),
    "signin.title": ("로그인", "Sign in"),
    "signin.email": ("이메일", "Email"),
    "signin.password": ("비밀번호", "Password"),
    "signin.submit": ("로그인", "Sign in"),
    "signin.bad": ("이메일 또는 비밀번호가 올바르지 않습니다.", "The email or password is not right."),
    "signin.slowed_s": (
        "이 주소에서 로그인 실패가 많아 기다려야 합니다. {seconds}초 뒤에 다시 시도하세요.",
        "Too many failed sign-ins from this address: try again in {seconds} seconds.",
    ),
    "signin.slowed_m": (
        "이 주소에서 로그인 실패가 많아 기다려야 합니다. {minutes}분 뒤에 다시 시도하세요.",
        "Too many failed sign-ins from this address: try again in {minutes} minutes.",
    ),
    "signin.expired": ("다시 로그인해 주세요.", "Please sign in again."),
    "signin.signed_out": ("로그아웃되었습니다.", "You are signed out."),
    "queue.title": ("사례 대기열", "Case queue"),
    "queue.empty": ("처리할 사례가 없습니다.", "No cases need you."),
    "queue.live": ("자동 새로고침 중", "Updating live"),
    "queue.opened": ("발생", "Opened"),
    "queue.elapsed": ("경과", "Elapsed"),
    "queue.sla_due": ("처리 기한", "Due by"),
    "queue.overdue": ("기한 초과", "Overdue"),
    "filter.district": ("자치구", "District"),
    "filter.priority": ("긴급도", "Priority"),
    "filter.state": ("상태", "Status"),
    "filter.all": ("전체", "All"),
    "filter.unresolved": ("미해결", "Unresolved"),
    "filter.apply": ("적용", "Apply"),
    "case.title": ("사례 #{id}", "Case #{id}"),
    "case.person": ("대상자", "Person"),
    "case.name": ("이름", "Name"),
    "case.age": ("나이", "Age"),
    "case.age_value": ("{age}세", "{age}"),
    "case.address": ("주소", "Address"),
    "case.phone": ("전화", "Phone"),
    "case.guardians": ("보호자", "Guardians"),
    "case.plan": ("안부 확인 계획", "Check-in plan"),
    "case.why": ("사례가 열린 이유", "Why this case opened"),
    "case.steps": ("단계", "Steps"),
    "case.messages": ("보낸 메시지", "Messages sent"),
    "case.checkins": ("최근 안부·신호", "Recent check-ins and signals"),
    "case.notes": ("메모", "Notes"),
    "case.calls": ("통화 기록", "Call log"),
    "case.none": ("없음", "None"),
    "case.message": ("메시지", "Message"),
    "case.actions": ("조치", "Actions"),
    "case.reason": ("사유", "Reason"),
    "case.all_clear": ("안부 확인됨", "Checked in since"),
    "case.acknowledged": ("접수", "Acknowledged"),
    "case.resolved": ("종결", "Resolved"),
    "action.acknowledge": ("접수하기", "Acknowledge"),
    "action.note": ("메모 추가", "Add note"),
    "action.call": ("통화 기록 추가", "Log call"),
    "action.resolve": ("종결하기", "Resolve"),
    "field.note": ("메모", "Note"),
    "field.callee": ("통화 상대", "Called"),
    "field.call_phone": ("전화번호", "Number"),
    "field.result": ("결과", "Result"),
    "field.outcome": ("결과", "Outcome"),
    "field.resolve_note": ("종결 메모 (선택)", "Closing note (optional)"),
    "people.title": ("돌봄 대상자", "People"),
    "people.search": ("이름·전화·주소 검색", "Search name, phone, address"),
    "people.new": ("새 대상자 등록", "Enrol someone"),
    "people.empty": ("등록된 대상자가 없습니다.", "No one found."),
    "people.open_cases": ("진행 중 사례", "Open cases"),
    "people.next": ("다음 확인", "Next check-in"),
    "people.last_contact": ("마지막 연락", "Last contact"),
    "people.home": ("집 위치", "Home"),
    "people.paused": ("일시 중지", "Paused"),
    "people.active": ("진행 중", "Active"),
    "people.enrol": ("등록", "Enrol"),
    "people.save_plan": ("계획 저장", "Save plan"),
    "people.edit": ("정보 수정", "Edit details"),
    "people.save": ("저장", "Save"),
    "people.cancel": ("취소", "Cancel"),
    "people.edit_plan": ("계획 수정", "Edit plan"),
    "people.pause": ("일시 중지", "Pause"),
    "people.pause_until": ("중지 종료일", "Paused until"),
    "people.pause_reason": ("사유", "Reason"),
    "people.resume": ("다시 시작", "Resume"),
    "people.saved": ("저장되었습니다.", "Saved."),
    "people.fix": ("표시된 항목을 고쳐 주세요.", "Please fix the fields marked."),
    "form.name": ("이름", "Name"),
    "form.birth_date": ("생년월일", "Date of birth"),
    "form.phone": ("휴대전화", "Mobile phone"),
    "form.district": ("자치구", "District"),
    "form.address": ("주소", "Address"),
    "form.language": ("언어", "Language"),
    "form.contact_by": ("연락 방법", "Contact by"),
    "form.consent_by": ("동의자", "Consent given by"),
    "form.home_dong": ("집 위치: 동 고르기", "Home: pick its dong"),
    "form.home_none": ("— 고르지 않음 —", "— none —"),
    "form.home_point": ("집 위치: 위도, 경도", "Home: latitude, longitude"),
    "form.guardian_name": ("보호자 이름", "Guardian's name"),
    "form.guardian_phone": ("보호자 휴대전화", "Guardian's mobile"),
    "form.guardian_relation": ("관계", "Relation"),
    "form.times": ("확인 시각 (쉼표로 구분)", "Check-in times (comma-separated)"),
    "form.days": ("요일", "Days"),
    "form.window": ("응답 대기 (분)", "Answer window (minutes)"),
    "form.quiet_start": ("방해 금지 시작", "Quiet hours from"),
    "form.quiet_end": ("방해 금지 끝", "Quiet hours until"),
    "err.required": ("필수 항목입니다.", "Required."),
    "err.too_long": ("{max}자 이하로 적어 주세요.", "At most {max} characters."),
    "err.phone": ("휴대전화 번호가 아닙니다 (예: 010-1234-5678).", "Not a mobile number (e.g. 010-1234-5678)."),
    "err.phone_taken": ("이미 등록된 번호입니다.", "This number is enrolled already."),
    "err.same_phone": ("보호자 번호가 본인 번호와 같습니다.", "The guardian's number is the person's own."),
    "err.district": ("담당 자치구가 아닙니다.", "You do not serve this district."),
    "err.date": ("날짜가 올바르지 않습니다 (예: 1941-03-05).", "Not a date (e.g. 1941-03-05)."),
    "err.future": ("앞으로의 날짜여야 합니다.", "Must be in the future."),
    "err.birth_range": (
        "1900-01-01부터 오늘까지의 날짜여야 합니다.",
        "Must be a date from 1900-01-01 to today.",
    ),
    "err.point": (
        "위도, 경도로 적어 주세요 (예: 37.5740, 126.9850).",
        "Give latitude, longitude (e.g. 37.5740, 126.9850).",
    ),
    "err.home_outside": (
        "서울 안의 위치여야 합니다 (위도, 경도 순서로).",
        "Must be a point in Seoul (latitude, then longitude).",
    ),
    "err.home_either": (
        "동을 고르거나 위치를 적거나, 하나만 하세요.",
        "Pick a dong or give a point, not both.",
    ),
    "err.times": ("시각은 HH:MM 형식입니다 (예: 09:00, 19:00).", "Times are HH:MM (e.g. 09:00, 19:00)."),
    "err.days": ("요일을 하나 이상 고르세요.", "Pick at least one day."),
    "err.window": ("10에서 720 사이의 숫자입니다.", "A number from 10 to 720."),
    "err.window_gap": ("응답 대기가 확인 시각 간격보다 깁니다.", "The window is longer than the gap between times."),
    "err.quiet": ("확인 시각이 방해 금지 시간에 있습니다.", "A check-in time falls in the quiet hours."),
    "err.quiet_pair": ("시작과 끝을 모두 적거나 모두 비우세요.", "Give both start and end, or neither."),
    "err.guardian": ("보호자 이름·번호·관계를 모두 적어 주세요.", "Give the guardian's name, number and relation."),
    "err.choice": ("목록에서 고르세요.", "Pick one from the list."),
    "err.resolved": ("이미 종결된 사례입니다. 메모만 남길 수 있습니다.", "This case is resolved; add a note."),
    "error.title": ("요청을 처리할 수 없습니다", "Cannot do that"),
    "error.forbidden": ("이 페이지를 볼 권한이 없습니다.", "You may not see this page."),
    "error.not_found": ("찾을 수 없습니다.", "Not found."),
    "error.csrf": (
        "보안 토큰이 맞지 않습니다. 페이지를 새로 고친 뒤 다시 시도하세요.",
        "The form's security token did not match. Reload the page and try again.",
    ),
    "error.back": ("대기열로 돌아가기", "Back to the queue"),
    "security.title": ("내 계정 보안 알림", "Security notices for your account"),
    "security.banner": (
        "내 계정 보안 알림 {count}건을 확인하세요.",
        "Please read {count} security notices for your account.",
    ),
    "security.slowed_new": (
        "로그인한 적 없는 주소(참조 {label})에서 내 계정 비밀번호가 {failures}번 틀렸습니다. "
        "그 주소는 이제 시도할 때마다 기다려야 합니다.",
        "Your password was typed wrong {failures} times from an address you never signed in from (ref {label}); "
        "it must now wait before each try.",
    ),
    "security.slowed_known": (
        "로그인한 적 있는 주소(참조 {label})에서 내 계정 비밀번호가 {failures}번 틀렸습니다.",
        "Your password was typed wrong {failures} times from an address you signed in from before (ref {label}).",
    ),
    "security.unlocked": (
        "운영자 {actor}님이 내 계정의 로그인 대기를 해제했습니다.",
        "An operator, {actor}, lifted a sign-in wait on your account.",
    ),
    "security.advice": ("본인이 아니라면 운영자에게 알리세요.", "If this was not you, tell an operator."),
    "security.none": ("새 보안 알림이 없습니다.", "No new security notices."),
    "security.seen": ("확인했습니다", "I have read these"),
    "ops.sign_in": ("로그인 대기 중인 주소", "Sign-in sources made to wait"),
    "ops.sign_in_source": ("주소 (참조)", "Source (ref)"),
    "ops.sign_in_email": ("계정", "Account"),
    "ops.sign_in_failures": ("실패 (이 계정 / 주소 전체)", "Failures (this account / all from the source)"),
    "ops.sign_in_last": ("마지막 실패", "Last failure"),
    "ops.sign_in_retry": ("다음 시도 가능", "May try again"),
    "ops.sign_in_now": ("지금", "now"),
    "ops.sign_in_no_account": ("없는 계정", "no such account"),
    "ops.sign_in_none": ("기다리는 주소가 없습니다.", "No source is waiting."),
    "ops.budget": ("인증번호 발송 한도 초과 (최근 24시간)", "Sign-in code budgets spent (last 24 hours)"),
    "ops.budget_which": ("한도", "Budget"),
    "ops.budget_global": ("전체", "city-wide"),
    "ops.budget_hour": ("시간대", "Hour"),
    "ops.budget_refused": ("보내지 않은 인증번호", "Codes not sent"),
    "ops.budget_last": ("마지막", "Last"),
    "ops.budget_none": ("한도를 넘은 적이 없습니다.", "No budget was spent."),
    "ops.ack": ("긴급 사례 확인까지 걸린 시간 (최근 8주)", "Time to acknowledge urgent cases (last 8 weeks)"),
    "ops.ack_week": ("주 (월요일)", "Week (Monday)"),
    "ops.ack_district": ("자치구", "District"),
    "ops.ack_cases": ("사례", "Cases"),
    "ops.ack_within": ("60초 안에 확인", "Acknowledged within 60 s"),
    "ops.ack_target": (
        "기준: 영국 원격돌봄 표준(TSA)은 경보의 97.5 %를 60초 안에 응답하도록 합니다.",
        "Standard: the UK telecare standard (TSA) asks for 97.5 % of alarm calls answered within 60 s.",
    ),
    "ops.ack_none": ("당직자에게 알린 긴급 사례가 없습니다.", "No urgent case was told to anyone on duty."),
    "ops.rota_link": ("당직표 편집 (자치구별, 야간 당직실)", "Edit the rotas (by district, and the night desk)"),
    "rota.title": ("당직표", "Rota"),
    "rota.which": ("당직표", "Rota of"),
    "rota.desk": ("서울시 야간 당직실", "City night desk"),
    "rota.show": ("보기", "Show"),
    "rota.how": (
        "한 줄에 한 근무: 시작 - 끝: 직원 번호 (서울 시각, 한 주 전체를 빈틈없이, 겹치지 않게)."
        " 예: mon 09:00 - mon 18:00: 3, 4",
        "One shift a line: start - end: staff ids (Seoul time, the whole week, no gap, no overlap)."
        " E.g. mon 09:00 - mon 18:00: 3, 4",
    ),
    "rota.save": ("저장", "Save"),
    "rota.saved": ("당직표를 저장했습니다.", "The rota is saved."),
    "rota.staff": ("당직에 넣을 수 있는 직원 (휴대전화 등록)", "Staff who can be on duty (with a mobile phone)"),
    "rota.staff_name": ("이름", "Name"),
    "rota.staff_phone": ("휴대전화", "Mobile"),
    "ops.unlock": ("해제", "Unlock"),
    "ops.unlock_source": ("이 주소의 모든 계정 해제", "Unlock this source for every account"),
    "ops.unlock_account": ("계정 해제 (모든 주소)", "Unlock an account (every source)"),
    "ops.unlocked": ("로그인 대기를 해제했습니다.", "The wait is lifted."),
    "ops.title": ("운영 현황", "Operations"),
    "ops.delivery": ("발송 현황 (최근 24시간)", "Delivery health (last 24 hours)"),
    "ops.channel": ("채널", "Channel"),
    "ops.total": ("합계", "Total"),
    "ops.none": ("최근 24시간 동안 보낸 메시지가 없습니다.", "Nothing was sent in the last 24 hours."),
    "ops.alerts": ("발효 중인 특보", "Warnings in force"),
    "ops.alerts_none": ("발효 중인 특보가 없습니다.", "No warning is in force."),
    "ops.alert_headline": ("특보", "Warning"),
    "ops.alert_severity": ("심각도", "Severity"),
    "ops.alert_districts": ("지역", "Districts"),
    "ops.alert_sent": ("발표", "Issued"),
    "ops.alert_expires": ("만료", "Expires"),
    "ops.alert_source": ("출처", "Source"),
    "reason.missed_checkin": ("안부 미응답", "Missed check-in"),
    "reason.help_request": ("도움 요청", "Asked for help"),
    "reason.safety_check": ("특보 중 안전 확인 무응답", "No answer to a warning's safety check"),
    "case.alert": ("특보", "Warning"),
    "case.asked": ("안전 확인 질문", "Asked if safe"),
    "case.safety_step": ("안전 확인 단계", "Safety check step"),
    "priority.urgent": ("긴급", "Urgent"),
    "priority.high": ("높음", "High"),
    "priority.normal": ("보통", "Normal"),
    "state.open": ("접수 대기", "Open"),
    "state.acknowledged": ("처리 중", "Acknowledged"),
    "state.resolved": ("종결", "Resolved"),
    "outcome.reached_by_phone": ("전화로 확인", "Reached by phone"),
    "outcome.visited": ("방문 확인", "Visited"),
    "outcome.hospitalised": ("입원", "Hospitalised"),
    "outcome.false_alarm": ("오경보", "False alarm"),
    "outcome.no_answer_escalated_119_112": ("무응답, 119·112 신고", "No answer; 119/112 called"),
    "callee.person": ("본인", "The person"),
    "callee.guardian": ("보호자", "A guardian"),
    "callee.emergency": ("119·112", "119/112"),
    "callee.other": ("기타", "Other"),
    "result.reached": ("통화됨", "Reached"),
    "result.no_answer": ("받지 않음", "No answer"),
    "result.busy": ("통화 중", "Busy"),
    "result.wrong_number": ("잘못된 번호", "Wrong number"),
    "result.voicemail": ("음성사서함", "Voicemail"),
    "step.1": ("1단계: 본인에게 알림", "Step 1: reminder to the person"),
    "step.2": ("2단계: 다시 알림", "Step 2: second reminder"),
    "step.3": ("3단계: 보호자에게 알림", "Step 3: guardian told"),
    "step.4": ("4단계: 사례 접수", "Step 4: case opened"),
    "step.5": ("5단계: 긴급, 모든 보호자에게", "Step 5: urgent, every guardian told"),
    "template.care.reminder": ("안부 확인 알림", "Check-in reminder"),
    "template.care.reminder_again": ("안부 확인 재알림", "Second reminder"),
    "template.care.guardian_alert": ("보호자 알림", "Guardian alert"),
    "template.care.guardian_urgent": ("보호자 긴급 알림", "Guardian urgent alert"),
    "template.care.all_clear": ("안부 확인 안내", "All clear"),
    "template.care.help_received": ("도움 요청 접수 안내", "Help request received"),
    "template.care.guardian_help": ("보호자에게 도움 요청 알림", "Guardian told of help request"),
    "template.care.voice_checkin": ("안부 전화", "Check-in call"),
    "template.alerts.are_you_safe": ("특보: 안전 확인 질문", "Warning: are you safe?"),
    "template.alerts.personal": ("특보 안내", "Warning"),
    "template.alerts.all_clear": ("특보 해제 안내", "Warning lifted"),
    "template.safety.ask_again": ("안전 확인 재질문", "Asked again if safe"),
    "template.safety.guardian_silent": ("보호자에게 무응답 알림", "Guardian told of no answer"),
    "template.safety.guardian_urgent": ("보호자 긴급 알림 (특보)", "Guardian urgent alert (warning)"),
    "template.safety.guardian_safe": ("보호자에게 안전 확인 알림", "Guardian told they are safe"),
    "delivery.pending": ("대기", "Pending"),
    "delivery.sending": ("발송 중", "Sending"),
    "delivery.sent": ("발송됨", "Sent"),
    "delivery.delivered": ("전달됨", "Delivered"),
    "delivery.failed": ("실패", "Failed"),
    "delivery.unknown": ("결과 불명 (재발송 안 함)", "Outcome unknown (not resent)"),
    "delivery.cancelled": ("취소", "Cancelled"),
    "delivery.suppressed": ("수신거부로 보류", "Suppressed (opted out)"),
    "channel.sms": ("문자", "SMS"),
    "channel.push": ("앱 알림", "Push"),
    "channel.app": ("앱", "App"),
    "channel.chat": ("챗봇", "Chatbot"),
    "channel.sensor": ("센서", "Sensor"),
    "channel.staff": ("직원", "Staff"),
    "channel.voice": ("전화", "Call"),
    "call.checkin": ("전화 응답: 괜찮음", "Answered: fine"),
    "call.help": ("전화 응답: 도움 요청", "Answered: asked for help"),
    "call.heard": ("전화 받음", "Taken"),
    "call.no_answer": ("응답 없음", "No answer"),
    "call.busy": ("통화 중", "Busy"),
    "call.machine": ("음성사서함", "Voicemail"),
    "call.failed": ("연결 실패", "Failed"),
    "call.canceled": ("취소됨", "Cancelled"),
    "call.hung_up": ("응답 전에 끊음", "Hung up before answering"),
    "kind.checkin": ("안부 응답", "Check-in"),
    "kind.message": ("메시지", "Message"),
    "kind.signal": ("생활 신호", "Signal"),
    "kind.help": ("도움 요청", "Help"),
    "lang.ko": ("한국어", "Korean"),
    "lang.en": ("영어", "English"),
    "contact.sms": ("문자", "SMS"),
    "contact.app": ("앱", "App"),
    "contact.both": ("앱과 문자", "App and SMS"),
    "contact.voice": ("전화", "Phone call"),
    "contact.sms+voice": ("문자, 답이 없으면 전화", "SMS, then a call"),
    "day.1": ("월", "Mon"),
    "day.2": ("화", "Tue"),
    "day.3": ("수", "Wed"),
    "day.4": ("목", "Thu"),
    "day.5": ("금", "Fri"),
    "day.6": ("토", "Sat"),
    "day.7": ("일", "Sun"),
}


def language_of(raw: str | None) -> str:
    return raw if raw in LANGUAGES else "ko"


def translator(language: str) -> Callable[..., str]:
    """``t(key, **params)`` in this language; an unknown key shows as itself, so a gap is visible, not fatal."""
    index = LANGUAGES.index(language)

    def t(key: str, **params: object) -> str:
        text = _STRINGS[key][index] if key in _STRINGS else key
        return text.format(**params) if params else text

    return t


def district_name(code: str, language: str) -> str:
    district = DISTRICTS.get(code)
    if district is None:
        return code
    return district.name_ko if language == "ko" else district.name_en


def seoul(at: datetime | None, fmt: str = "%m/%d %H:%M") -> str:
    """A moment as people in Seoul read it."""
    return at.astimezone(SEOUL).strftime(fmt) if at else ""


def phone(e164: str | None) -> str:
    """A Korean mobile number as people write it (010-1234-5678); any other number as stored."""
    if e164 and e164.startswith("+8210") and len(e164) == 13:
        local = "0" + e164[3:]
        return f"{local[:3]}-{local[3:7]}-{local[7:]}"
    return e164 or ""


def age(birth: date | None, now: datetime) -> int | None:
    if birth is None:
        return None
    today = now.astimezone(SEOUL).date()
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
