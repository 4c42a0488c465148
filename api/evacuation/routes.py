"""Public routes: the nearest suitable shelters, a shelter, and what to do in a hazard."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import FromPath, QueryParameter

from api.evacuation import service
from api.evacuation.schemas import Guidance, Hazard, NearestShelters, ShelterRead
from api.platform.auth.guards import PUBLIC
from api.platform.db.pool import Db
from api.platform.types import Id, Language

Lat = Annotated[float, QueryParameter(description="Latitude, WGS84 degrees (Seoul: about 37.41…37.73)")]
Lon = Annotated[float, QueryParameter(description="Longitude, WGS84 degrees (Seoul: about 126.75…127.20)")]
HazardParam = Annotated[Hazard, QueryParameter(description="The hazard to shelter from")]
Limit = Annotated[int, QueryParameter(ge=1, le=20, description="How many shelters of each kind group")]


class ShelterController(Controller):
    path = "/v1/shelters"
    tags = ["evacuation"]

    @get("/nearest", opt=PUBLIC)
    async def nearest(self, db: Db, lat: Lat, lon: Lon, hazard: HazardParam, limit: Limit = 3) -> NearestShelters:
        """The nearest active shelters that suit the hazard, by great-circle distance, nearest first.

        heat_wave: heat-wave shelters; cold_wave: cold-wave shelters; earthquake: outdoor evacuation sites,
        then indoor relief shelters (up to ``limit`` of each); flooding and typhoon: temporary housing and
        indoor relief shelters; air_raid: civil-defense shelters.
        """
        return await service.nearest(db, hazard=hazard, lat=lat, lon=lon, limit=limit)

    @get("/{shelter_id:int}", opt=PUBLIC)
    async def read(self, db: Db, shelter_id: FromPath[Id]) -> ShelterRead:
        """One shelter, with its source and the date its data is as of."""
        return await service.get_shelter(db, shelter_id=shelter_id)


class GuidanceController(Controller):
    path = "/v1/guidance"
    tags = ["evacuation"]

    @get("/", opt=PUBLIC)
    async def guidance(
        self,
        db: Db,
        hazard: HazardParam,
        lat: Annotated[float | None, QueryParameter(description="Latitude, WGS84; with lon")] = None,
        lon: Annotated[float | None, QueryParameter(description="Longitude, WGS84; with lat")] = None,
        lang: Annotated[Language, QueryParameter(description="ko (default) or en")] = Language.ko,
        limit: Limit = 3,
    ) -> Guidance:
        """Short instructions for the hazard in Korean or English, and the nearest suitable shelters."""
        return await service.guide(db, hazard=hazard, language=lang, lat=lat, lon=lon, limit=limit)
