"""The console's forms: read field by field, so each mistake is told beside its own field, in the reader's language.

Valid forms become the care and cases API's own structs; their rules stay the one source of truth, and anything
they still refuse is mapped back to the field it concerns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from typing import Any, NamedTuple

import msgspec

from api.console.i18n import SEOUL
from api.platform import boundaries
from api.platform.errors import Unprocessable
from api.platform.phones import normalise_phone
from care.cases.schemas import CaseResolve, NoteCreate, Outcome
from care.details import check_birth_date, locate_home
from care.schemas import (
    DEFAULT_CONTACT,
    ContactBy,
    GuardianIn,
    Home,
    Ladder,
    LadderSteps,
    PauseIn,
    PlanIn,
    RecipientCreate,
)
from care.steps import AskBy, GuardianBy, UrgentBy

Errors = dict[str, str]
_TIME = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")
# A point as a map app copies it: "37.5740, 126.9850" (a comma, spaces, or both between).
_POINT = re.compile(r"^(-?[0-9]{1,3}(?:\.[0-9]+)?)\s*[,\s]\s*(-?[0-9]{1,3}(?:\.[0-9]+)?)$")
CALLEES = ("person", "guardian", "emergency", "other")
CALL_RESULTS = ("reached", "no_answer", "busy", "wrong_number", "voicemail")
# The plan form's step selects (step_first_ask …) and the ways each may take; "" follows contact_by.
STEP_CHOICES: dict[str, tuple[str, ...]] = {
    "first_ask": tuple(b.value for b in AskBy),
    "ask_again": tuple(b.value for b in AskBy),
    "guardian": tuple(b.value for b in GuardianBy),
    "urgent": tuple(b.value for b in UrgentBy),
}


class Form:
    """Values as typed (to show again) and the errors found, keyed by field name."""

    def __init__(self, raw: Mapping[str, Any], t: Callable[..., str]) -> None:
        self.raw = raw
        self.t = t
        self.values: dict[str, Any] = {}
        self.errors: Errors = {}

    def text(self, name: str, *, required: bool = True, max_length: int = 100) -> str | None:
        value = str(self.raw.get(name) or "").strip()
        self.values[name] = value
        if not value:
            if required:
                self.errors[name] = self.t("err.required")
            return None
        if len(value) > max_length:
            self.errors[name] = self.t("err.too_long", max=max_length)
            return None
        return value

    def phone(self, name: str, *, required: bool = True) -> str | None:
        value = self.text(name, required=required, max_length=32)
        if value is None:
            return None
        try:
            return normalise_phone(value)
        except ValueError:
            self.errors[name] = self.t("err.phone")
            return None

    def choice(self, name: str, options: tuple[str, ...], *, default: str | None = None) -> str | None:
        value = str(self.raw.get(name) or default or "")
        self.values[name] = value
        if value not in options:
            self.errors[name] = self.t("err.choice")
            return None
        return value

    def day(self, name: str, *, required: bool) -> date | None:
        value = self.text(name, required=required, max_length=10)
        if value is None:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.errors[name] = self.t("err.date")
            return None

    def error(self, name: str, key: str) -> None:
        self.errors.setdefault(name, self.t(key))


def _times(form: Form) -> list[str] | None:
    raw = str(form.raw.get("times") or "").strip()
    form.values["times"] = raw
    parts = [p for p in re.split(r"[,\s]+", raw) if p]
    matches = [_TIME.match(p) for p in parts]
    if not parts or not all(matches):
        form.error("times", "err.times")
        return None
    return [f"{int(m.group(1)):02d}:{m.group(2)}" for m in matches if m]


def _days(form: Form) -> list[int] | None:
    getall = getattr(form.raw, "getall", None)
    try:
        raw = getall("days") if getall else form.raw.get("days", [])
    except KeyError:  # no box ticked: the browser sends no field at all
        raw = []
    days = sorted({int(d) for d in raw if str(d) in {"1", "2", "3", "4", "5", "6", "7"}})
    form.values["days"] = days
    if not days:
        form.error("days", "err.days")
        return None
    return days


def _window(form: Form) -> int | None:
    raw = str(form.raw.get("window_minutes") or "").strip()
    form.values["window_minutes"] = raw
    if not raw.isdigit() or not 10 <= int(raw) <= 720:
        form.error("window_minutes", "err.window")
        return None
    return int(raw)


def _quiet(form: Form) -> tuple[dict[str, str] | None, bool]:
    start = str(form.raw.get("quiet_start") or "").strip()
    end = str(form.raw.get("quiet_end") or "").strip()
    form.values.update(quiet_start=start, quiet_end=end)
    if not start and not end:
        return None, True
    if not start or not end:
        form.error("quiet_start", "err.quiet_pair")
        return None, False
    if not _TIME.match(start) or not _TIME.match(end):
        form.error("quiet_start", "err.times")
        return None, False
    return {"start": _hhmm(start), "end": _hhmm(end)}, True


def _hhmm(value: str) -> str:
    return time.fromisoformat(value.zfill(5)).strftime("%H:%M")


def _steps(form: Form, carried: LadderSteps) -> dict[str, str | None] | None:
    """How each step reaches someone, as picked; a select the form did not send keeps the plan's own."""
    steps: dict[str, str | None] = {}
    for name, options in STEP_CHOICES.items():
        field = f"step_{name}"
        if field not in form.raw:
            kept = getattr(carried, name)
            steps[name] = kept.value if kept is not None else None
        else:
            steps[name] = str(form.raw.get(field) or "") or None
            if steps[name] is not None and steps[name] not in options:
                form.error(field, "err.choice")
        form.values[field] = steps[name] or ""
    return None if any(f"step_{name}" in form.errors for name in STEP_CHOICES) else steps


def _plan_fields(
    form: Form, *, ladder: Ladder | None, accept_signals: bool, inactivity_hours: int = 24
) -> dict[str, Any] | None:
    times, days, window = _times(form), _days(form), _window(form)
    quiet, quiet_ok = _quiet(form)
    ladder = ladder or Ladder()
    steps = _steps(form, ladder.steps)
    if times is None or days is None or window is None or not quiet_ok or steps is None:
        return None
    return {
        "times": times,
        "days": days,
        "window_minutes": window,
        "quiet_hours": quiet,
        "ladder": {**msgspec.to_builtins(ladder), "steps": steps},
        "accept_signals": accept_signals,
        "inactivity_hours": inactivity_hours,
    }


def _plan_error(form: Form, exc: msgspec.ValidationError) -> None:
    """The plan's own cross-field rules, told beside the field they concern."""
    message = str(exc)
    if "quiet" in message:
        form.error("quiet_start", "err.quiet")
    elif "window" in message:
        form.error("window_minutes", "err.window_gap")
    elif "guardian" in message:
        form.error("guardian_phone", "err.same_phone")
    else:
        form.errors.setdefault("_", message)


def read_plan(
    form: Form, *, ladder: Ladder | None = None, accept_signals: bool = True, inactivity_hours: int = 24
) -> PlanIn | None:
    """The plan fields (times, days, window, quiet hours, each step's way); the ladder's delays, signals and
    inactivity limit carry over as given."""
    fields = _plan_fields(form, ladder=ladder, accept_signals=accept_signals, inactivity_hours=inactivity_hours)
    if fields is None:
        return None
    try:
        return msgspec.convert(fields, PlanIn)
    except msgspec.ValidationError as exc:
        _plan_error(form, exc)
        return None


GUARDIAN_ROWS = ("", "_2", "_3")  # the form's guardian rows: guardian_name, guardian_name_2, …


class PersonFields(NamedTuple):
    """What enrolment and the details' edit share: the plain fields, the date of birth and the home."""

    fields: dict[str, Any]
    born: date | None
    home: Home | None


def _person_fields(form: Form, *, now: datetime) -> PersonFields:
    person = {
        "name": form.text("name"),
        "address": form.text("address", max_length=300),
        "language": form.choice("language", ("ko", "en"), default="ko"),
        "contact_by": form.choice("contact_by", tuple(c.value for c in ContactBy), default=DEFAULT_CONTACT.value),
    }
    return PersonFields(person, _birth_date(form, now=now), _home(form))


def _birth_date(form: Form, *, now: datetime) -> date | None:
    born = form.day("birth_date", required=False)
    try:
        return check_birth_date(born, now=now)
    except Unprocessable:
        form.error("birth_date", "err.birth_range")
        return None


def _home(form: Form) -> Home | None:
    """A home picked from the list of dongs, or typed (or pasted from a map) as a point; neither is no home."""
    dong = str(form.raw.get("home_dong") or "").strip()
    point = str(form.raw.get("home_point") or "").strip()
    form.values.update(home_dong=dong, home_point=point)
    if dong and point:
        form.error("home_point", "err.home_either")
        return None
    if dong:
        if dong not in boundaries.dongs():
            form.error("home_dong", "err.choice")
            return None
        return Home(dong=dong)
    if not point:
        return None
    match = _POINT.match(point)
    if match is None:
        form.error("home_point", "err.point")
        return None
    try:
        home = msgspec.convert({"lat": float(match[1]), "lon": float(match[2])}, Home)
        locate_home(home)
    except (msgspec.ValidationError, Unprocessable):
        form.error("home_point", "err.home_outside")
        return None
    return home


def read_enrolment(form: Form, *, districts: tuple[str, ...], now: datetime) -> RecipientCreate | None:
    """A new person with up to three guardians and their plan; None while any field is wrong."""
    person, born, home = _person_fields(form, now=now)
    person["phone"] = form.phone("phone")
    person["district"] = form.choice("district", districts)
    person["consent"] = {"by": form.text("consent_by", required=False) or "self"}
    guardians = read_guardians(form, phone=person["phone"])
    plan = _plan_fields(form, ladder=None, accept_signals=True)
    if form.errors or plan is None or guardians is None:
        return None
    fields = {**person, "birth_date": born, "guardians": guardians, "plan": plan}
    try:
        return msgspec.convert({**fields, "home": msgspec.to_builtins(home)}, RecipientCreate)
    except msgspec.ValidationError as exc:
        _plan_error(form, exc)
        return None


def read_details(form: Form, *, phone: str, now: datetime) -> PersonFields | None:
    """An edit of a person's details and guardians (the phone stays: it is how their texts are matched)."""
    person, born, home = _person_fields(form, now=now)
    guardians = read_guardians(form, phone=phone)
    if form.errors or guardians is None:
        return None
    try:
        parsed = [msgspec.convert(g, GuardianIn) for g in guardians]
    except msgspec.ValidationError:
        form.error("guardian_phone", "err.phone")
        return None
    return PersonFields({**person, "guardians": parsed}, born, home)


def read_guardians(form: Form, *, phone: str | None) -> list[dict[str, str]] | None:
    """The filled guardian rows, in order; a half-filled row is told beside its blanks."""
    guardians: list[dict[str, str]] = []
    for suffix in GUARDIAN_ROWS:
        names = (f"guardian_name{suffix}", f"guardian_phone{suffix}", f"guardian_relation{suffix}")
        name = form.text(names[0], required=False)
        number = form.phone(names[1], required=False)
        relation = form.text(names[2], required=False, max_length=50)
        given = [form.values[f] for f in names]
        if not any(given):
            continue
        for field, value in zip(names, given, strict=True):
            if not value:
                form.error(field, "err.guardian")
        if number is not None and number == phone:
            form.error(names[1], "err.same_phone")
        if name and number and relation:
            guardians.append({"name": name, "phone": number, "relation": relation})
    return None if any(k.startswith("guardian_") for k in form.errors) else guardians


def read_pause(form: Form, *, now: datetime) -> PauseIn | None:
    """Paused until the start of the given day, Seoul time, for a reason."""
    until = form.day("until", required=True)
    reason = form.text("reason", max_length=500)
    if until is None or reason is None:
        return None
    start = datetime.combine(until, time(0), tzinfo=SEOUL)
    if start <= now:
        form.error("until", "err.future")
        return None
    return PauseIn(reason=reason, until=start)


def read_note(form: Form) -> NoteCreate | None:
    body = form.text("body", max_length=4000)
    return NoteCreate(body=body) if body else None


def read_resolve(form: Form) -> CaseResolve | None:
    outcome = form.choice("outcome", tuple(o.value for o in Outcome))
    note = form.text("note", required=False, max_length=4000)
    return CaseResolve(outcome=Outcome(outcome), note=note) if outcome and not form.errors else None


def read_call(form: Form) -> dict[str, Any] | None:
    callee = form.choice("callee", CALLEES)
    result = form.choice("result", CALL_RESULTS)
    phone = form.text("call_phone", required=False, max_length=32)
    body = form.text("call_note", required=False, max_length=4000)
    if form.errors:
        return None
    return {"callee": callee, "result": result, "phone": phone, "body": body}
