"""Public routes: the nearest suitable shelters, a shelter, and what to do in a hazard."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import FromPath, QueryParameter

from api.evacuation import service
from api.evacuation.schemas import Guidance, Hazard, NearestShelters, ShelterRead
from api.platform.auth.guards import PUBLIC
from api.platform.db.pool import Db
from api.platform.errors import Problem
from api.platform.query import declared_query_only
from api.platform.types import Id, Language

Lat = Annotated[
    float | None, QueryParameter(description="Latitude, WGS84 degrees (Seoul: about 37.41…37.73); with lon")
]
Lon = Annotated[
    float | None, QueryParameter(description="Longitude, WGS84 degrees (Seoul: about 126.75…127.20); with lat")
]
District = Annotated[
    str | None,
    QueryParameter(
        pattern=r"^11[0-9]{3}$",
        description="Instead of lat and lon, when only the district is known: distances are then measured from its "
        "office (구청), and no walking time is given",
    ),
]
HazardParam = Annotated[Hazard, QueryParameter(description="The hazard to shelter from")]
Limit = Annotated[int, QueryParameter(ge=1, le=20, description="How many shelters of each kind group")]


class ShelterController(Controller):
    path = "/v1/shelters"
    tags = ["evacuation"]

    @get("/nearest", opt=PUBLIC, guards=[declared_query_only])
    async def nearest(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        hazard: HazardParam,
        lat: Lat = None,
        lon: Lon = None,
        district: District = None,
        limit: Limit = 3,
    ) -> NearestShelters:
        """The nearest active shelters that suit the hazard, by great-circle distance, nearest first.

        From a point (lat and lon), or from a district's office (district). heat_wave: heat-wave shelters;
        cold_wave: cold-wave shelters; earthquake: outdoor evacuation sites, then indoor relief shelters (up to
        ``limit`` of each); flooding and typhoon: temporary housing and indoor relief shelters; air_raid:
        civil-defense shelters. Only shelters within the distance cap count as nearby; with none, the nearest
        is given, marked ``far``, and ``nothing_nearby`` is true.
        """
        at = service.locate(lat=lat, lon=lon, district=district)
        if at is None:
            raise Problem("Give lat and lon, or a district.", code="incomplete_location")
        return await service.nearest(db, hazard=hazard, at=at, limit=limit, cap_m=_cap_m(request))

    @get("/{shelter_id:int}", opt=PUBLIC)
    async def read(self, db: Db, shelter_id: FromPath[Id]) -> ShelterRead:
        """One shelter, with its source and the date its data is as of."""
        return await service.get_shelter(db, shelter_id=shelter_id)


class GuidanceController(Controller):
    path = "/v1/guidance"
    tags = ["evacuation"]

    @get("/", opt=PUBLIC, guards=[declared_query_only])
    async def guidance(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        hazard: HazardParam,
        lat: Lat = None,
        lon: Lon = None,
        district: District = None,
        lang: Annotated[Language, QueryParameter(description="ko (default) or en")] = Language.ko,
        limit: Limit = 3,
    ) -> Guidance:
        """Short instructions for the hazard in Korean or English, and the nearest suitable shelters.

        The shelters come when a point (lat and lon) or a district is given, with a note on what their
        distances mean.
        """
        at = service.locate(lat=lat, lon=lon, district=district)
        return await service.guide(db, hazard=hazard, language=lang, at=at, limit=limit, cap_m=_cap_m(request))


def _cap_m(request: Request[Any, Any, Any]) -> float:
    return request.app.state.settings.evacuation.distance_cap_m
