"""The evacuation API contract, and the rows the importer hands to the service."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from api.platform.types import Language, Output


class ShelterKind(StrEnum):
    heat_wave = "heat_wave"  # 무더위쉼터
    cold_wave = "cold_wave"  # 한파쉼터
    earthquake_outdoor = "earthquake_outdoor"  # 지진옥외대피장소
    earthquake_indoor = "earthquake_indoor"  # 지진실내구호소
    temporary_housing = "temporary_housing"  # 이재민임시주거시설
    civil_defense = "civil_defense"  # 민방위대피시설


class Hazard(StrEnum):
    heat_wave = "heat_wave"
    cold_wave = "cold_wave"
    earthquake = "earthquake"
    flooding = "flooding"
    typhoon = "typhoon"
    air_raid = "air_raid"


class MeasuredFrom(StrEnum):
    """Where an answer's distances are measured from."""

    point = "point"  # the latitude and longitude given
    home = "home"  # the person's recorded home
    district_office = "district_office"  # only the district is known: its office (구청) stands in for the person


class ShelterRow(Output, frozen=True):
    """One shelter as a source file (or the demo set) describes it, checked and ready to store."""

    kind: ShelterKind
    source_id: str
    name: str
    address: str | None
    district: str | None
    lat: float
    lon: float
    capacity_people: int | None = None
    area_m2: float | None = None
    facility_type: str | None = None
    opening_notes: str | None = None
    contact: str | None = None
    wheelchair_accessible: bool | None = None


class ShelterRead(Output, frozen=True):
    id: int
    name: str
    # The name and address in Latin letters (Revised Romanization), for answers in English.
    name_romanised: str
    kind: ShelterKind
    address: str | None
    address_romanised: str | None
    district: str | None
    lat: float
    lon: float
    capacity_people: int | None
    area_m2: float | None
    facility_type: str | None
    opening_notes: str | None
    contact: str | None
    wheelchair_accessible: bool | None
    active: bool
    source: str
    as_of: date


class NearbyShelter(Output, frozen=True):
    id: int
    name: str
    # The name and address in Latin letters (Revised Romanization), for answers in English.
    name_romanised: str
    kind: ShelterKind
    address: str | None
    address_romanised: str | None
    district: str | None
    lat: float
    lon: float
    distance_m: float
    # None when measured from the district office: the person is not there, so their walk is not known.
    walking_minutes: int | None
    # Beyond the distance cap (SHELTER_DISTANCE_CAP_M): offered only because no suitable shelter is nearer.
    far: bool
    capacity_people: int | None
    area_m2: float | None
    opening_notes: str | None
    contact: str | None
    wheelchair_accessible: bool | None
    source: str
    as_of: date


class Origin(Output, frozen=True):
    lat: float
    lon: float


class NearestShelters(Output, frozen=True):
    hazard: Hazard
    origin: Origin
    measured_from: MeasuredFrom
    # The kinds that suit the hazard, in the order they are offered (earthquake: outdoor sites, then indoor).
    kinds: list[ShelterKind]
    distance_cap_m: float
    # No suitable shelter within the cap: the shelters are the nearest there are, each marked far.
    nothing_nearby: bool
    shelters: list[NearbyShelter]


class Guidance(Output, frozen=True):
    hazard: Hazard
    language: Language
    title: str
    instructions: list[str]
    # Where to go, in words; the shelters themselves follow when a location was given.
    shelter_advice: str
    origin: Origin | None
    measured_from: MeasuredFrom | None
    # What the distances below mean, in words: where they are measured from, and whether anything is nearby.
    shelter_note: str | None
    nothing_nearby: bool
    shelters: list[NearbyShelter]


class Rejection(Output, frozen=True):
    line: int
    source_id: str | None
    reason: str


class ImportReport(Output, frozen=True):
    file: str
    kinds: list[ShelterKind]
    encoding: str
    source: str
    as_of: date
    rows: int
    loaded: int
    updated: int
    unchanged: int
    deactivated: int
    # Demo shelters (source "demo", of any kind) retired because real ones are now served.
    demo_deactivated: int
    rejected: int
    rejections: list[Rejection]
