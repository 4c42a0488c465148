"""Open311 service attributes: the questions some categories ask besides the description ("is it blocking
the road?"), in Korean and English, and the check of a client's answers (``attribute[code]=key``)."""

from __future__ import annotations

from typing import Any, NamedTuple

from api.platform.errors import Problem


class Choice(NamedTuple):
    key: str
    ko: str
    en: str


class Attribute(NamedTuple):
    code: str
    ko: str
    en: str
    values: tuple[Choice, ...]
    categories: frozenset[str]


_YES_NO = (Choice("yes", "예", "Yes"), Choice("no", "아니요", "No"))
ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute(
        "blocking_road",
        "도로나 보도를 막고 있나요?",
        "Is it blocking the road or pavement?",
        _YES_NO,
        frozenset(
            {"sinkhole", "road_damage", "fallen_tree", "flooding", "landslide_risk", "icy_road", "damaged_structure"}
        ),
    ),
    Attribute(
        "water_depth",
        "물 깊이는 어느 정도인가요?",
        "How deep is the water?",
        (
            Choice("ankle", "발목", "Ankle"),
            Choice("knee", "무릎", "Knee"),
            Choice("waist", "허리 이상", "Waist or more"),
        ),
        frozenset({"flooding"}),
    ),
    Attribute(
        "people_inside",
        "건물 안에 사람이 있나요?",
        "Are there people inside the building?",
        (*_YES_NO, Choice("unknown", "모름", "Don't know")),
        frozenset({"gas_smell", "fire_smoke"}),
    ),
)


def of(category: str) -> list[Attribute]:
    return [a for a in ATTRIBUTES if category in a.categories]


def definition(category: str, language: str) -> list[dict[str, Any]]:
    """The service definition's attributes, as GeoReport v2 lists them."""
    en = language == "en"
    return [
        {
            "variable": True,
            "code": a.code,
            "datatype": "singlevaluelist",
            "required": False,
            "datatype_description": None,
            "order": order,
            "description": a.en if en else a.ko,
            "values": [{"key": c.key, "name": c.en if en else c.ko} for c in a.values],
        }
        for order, a in enumerate(of(category), start=1)
    ]


def read(category: str, given: dict[str, str]) -> dict[str, str]:
    """The client's answers, checked against the category's questions; a Problem lists what is allowed."""
    questions = {a.code: a for a in of(category)}
    answers = {}
    for code, value in given.items():
        question = questions.get(code)
        if question is None:
            allowed = ", ".join(questions) or "none"
            raise Problem(f"attribute[{code}] is not asked of {category}; its attributes: {allowed}.")
        keys = [c.key for c in question.values]
        if value not in keys:
            raise Problem(f"attribute[{code}] {value!r} is not one of: {', '.join(keys)}.")
        answers[code] = value
    return answers
