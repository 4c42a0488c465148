"""Importing files into the database: upsert by source id, re-imports that change nothing, the CLI, the demo set."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg
import pytest
from click.testing import CliRunner

from api.cli.evacuation import import_shelters, load_demo
from api.evacuation import demo, service
from api.evacuation.importer import parse
from api.platform.errors import Conflict
from tests.evacuation.conftest import AS_OF, FILES

HOUSING = "seoul_temp_housing_quake_dual.utf8.csv"
OUTDOOR = "seoul_earthquake_outdoor_evacuation.utf8.csv"


async def test_importing_every_real_file_loads_all_but_the_rejected_rows(conn, real_shelters):
    assert len(real_shelters) == sum(FILES.values()) - 2
    counts = dict(await conn.fetch("SELECT kind, count(*) FROM shelters WHERE active GROUP BY kind"))
    assert counts == {
        "heat_wave": 3803,
        "earthquake_outdoor": 1585,
        "earthquake_indoor": 1551,
        "temporary_housing": 819,
    }
    assert await conn.fetchval("SELECT count(DISTINCT district) FROM shelters") == 25
    assert await conn.fetchval("SELECT DISTINCT as_of FROM shelters") == AS_OF


async def test_the_report_says_what_was_loaded_and_why_rows_were_rejected(conn, parsed_files):
    report = await service.import_file(conn, parsed_files[HOUSING], file=HOUSING, source="seoul-open-data", as_of=AS_OF)
    assert (report.rows, report.loaded, report.updated, report.unchanged, report.rejected) == (821, 819, 0, 0, 2)
    assert [r.source_id for r in report.rejections] == ["551", "1654"]
    assert all(r.reason.startswith("outside Seoul") for r in report.rejections)
    assert report.kinds == ["temporary_housing"] and report.encoding == "utf-8"


async def test_a_reimport_of_the_same_file_changes_nothing(conn, parsed_files, real_shelters):
    before = await conn.fetch("SELECT * FROM shelters ORDER BY id")
    for name, parsed in parsed_files.items():
        report = await service.import_file(conn, parsed, file=name, source="seoul-open-data", as_of=AS_OF)
        assert (report.loaded, report.updated, report.deactivated) == (0, 0, 0)
        assert report.unchanged == len(parsed.rows)
    assert await conn.fetch("SELECT * FROM shelters ORDER BY id") == before


async def test_a_changed_row_is_updated_in_place_and_a_dropped_one_deactivated(conn, shelter_dir):
    original = (shelter_dir / OUTDOOR).read_text(encoding="utf-8-sig").splitlines()
    first = parse(("\n".join(original[:6]) + "\n").encode(), filename=OUTDOOR)
    await service.import_file(conn, first, file=OUTDOOR, source="seoul-open-data", as_of=AS_OF)
    ids = dict(await conn.fetch("SELECT source_id, id FROM shelters"))

    changed = original[:6]
    changed[1] = changed[1].replace("서울지방조달청 테니스장", "서울지방조달청 테니스장(개보수)")
    del changed[5]  # the fifth row is gone from the new file
    changed.append(original[6])  # and a new one has appeared
    second = parse(("\n".join(changed) + "\n").encode(), filename=OUTDOOR)
    report = await service.import_file(conn, second, file=OUTDOOR, source="seoul-open-data", as_of=date(2025, 8, 1))
    # Every kept row moves to the new as-of date; the one dropped from the file is deactivated.
    assert (report.loaded, report.updated, report.unchanged, report.deactivated) == (1, 4, 0, 1)

    rows = {r["source_id"]: r for r in await conn.fetch("SELECT * FROM shelters")}
    assert rows["185"]["id"] == ids["185"] and rows["185"]["name"] == "서울지방조달청 테니스장(개보수)"
    gone = next(sid for sid in ids if sid not in {r.source_id for r in second.rows})
    assert rows[gone]["active"] is False
    assert len(rows) == 6


async def test_keep_missing_leaves_dropped_shelters_active(conn, shelter_dir):
    lines = (shelter_dir / OUTDOOR).read_text(encoding="utf-8-sig").splitlines()
    await service.import_file(
        conn, parse(("\n".join(lines[:4]) + "\n").encode(), filename=OUTDOOR), file=OUTDOOR, source="s", as_of=AS_OF
    )
    fewer = parse(("\n".join(lines[:2]) + "\n").encode(), filename=OUTDOOR)
    report = await service.import_file(conn, fewer, file=OUTDOOR, source="s", as_of=AS_OF, deactivate_missing=False)
    assert report.deactivated == 0
    assert await conn.fetchval("SELECT count(*) FROM shelters WHERE active") == 3


async def test_a_shelter_whose_new_row_is_broken_keeps_its_last_good_version(conn, shelter_dir):
    lines = (shelter_dir / OUTDOOR).read_text(encoding="utf-8-sig").splitlines()[:4]
    await service.import_file(
        conn, parse(("\n".join(lines) + "\n").encode(), filename=OUTDOOR), file=OUTDOOR, source="s", as_of=AS_OF
    )
    lines[1] = lines[1].replace('"127.002453","37.499301"', '"","37.499301"')
    report = await service.import_file(
        conn, parse(("\n".join(lines) + "\n").encode(), filename=OUTDOOR), file=OUTDOOR, source="s", as_of=AS_OF
    )
    assert (report.rejected, report.deactivated, report.unchanged) == (1, 0, 2)
    assert await conn.fetchval("SELECT active FROM shelters WHERE source_id = '185'") is True


async def test_the_demo_set_is_labelled_and_loads_once(conn):
    report = await service.load_demo(conn)
    assert (report.loaded, report.rejected, report.source) == (15, 0, "demo")
    assert set(report.kinds) == {"heat_wave", "cold_wave", "earthquake_outdoor", "earthquake_indoor",
                                 "temporary_housing", "civil_defense"}  # fmt: skip
    rows = await conn.fetch("SELECT name, source, opening_notes, as_of FROM shelters")
    assert all(r["name"].startswith("[데모] ") and r["source"] == "demo" for r in rows)
    assert all("Demo data, not a real shelter" in r["opening_notes"] for r in rows)
    assert {r["as_of"] for r in rows} == {demo.AS_OF}

    again = await service.load_demo(conn)
    assert (again.loaded, again.updated, again.unchanged) == (0, 0, 15)


async def test_the_demo_set_loads_into_an_empty_table_only_when_asked_so(conn, parsed_files):
    await service.import_file(conn, parsed_files[HOUSING], file=HOUSING, source="seoul-open-data", as_of=AS_OF)
    assert await service.load_demo(conn, if_empty=True) is None
    assert await conn.fetchval("SELECT count(*) FROM shelters WHERE source = 'demo'") == 0


async def test_an_official_file_retires_the_demo_set_of_every_kind_in_its_transaction(conn, parsed_files, client):
    await service.load_demo(conn)
    near = {"lat": 37.5733, "lon": 126.9769, "limit": 3}  # beside the demo heat-wave shelter at Gwanghwamun
    before = (await client.get("/v1/shelters/nearest", params={**near, "hazard": "heat_wave"})).json()
    assert before["shelters"][0]["name"] == "[데모] 광화문 무더위쉼터"

    heat = "seoul_heat_shelters_2025.utf8.csv"
    report = await service.import_file(conn, parsed_files[heat], file=heat, source="seoul-open-data", as_of=AS_OF)
    assert (report.loaded, report.demo_deactivated) == (3803, 15)
    for hazard in ("heat_wave", "cold_wave", "earthquake", "air_raid"):
        body = (await client.get("/v1/shelters/nearest", params={**near, "hazard": hazard})).json()
        assert not any(s["source"] == "demo" for s in body["shelters"]), hazard
    # There is no real cold-wave file: the demo ones are not served in its place.
    cold = (await client.get("/v1/shelters/nearest", params={**near, "hazard": "cold_wave"})).json()
    assert cold["shelters"] == []
    assert await conn.fetchval("SELECT count(*) FROM shelters WHERE source = 'demo' AND active") == 0

    again = await service.import_file(conn, parsed_files[heat], file=heat, source="seoul-open-data", as_of=AS_OF)
    assert (again.demo_deactivated, again.unchanged) == (0, 3803)


async def test_a_failed_import_leaves_the_demo_set_served(conn, parsed_files):
    await service.load_demo(conn)
    await conn.execute("ALTER TABLE shelters ADD CONSTRAINT no_housing CHECK (kind <> 'temporary_housing') NOT VALID")
    with pytest.raises(asyncpg.CheckViolationError):
        await service.import_file(conn, parsed_files[HOUSING], file=HOUSING, source="seoul-open-data", as_of=AS_OF)
    assert await conn.fetchval("SELECT count(*) FROM shelters WHERE source = 'demo' AND active") == 15
    assert await conn.fetchval("SELECT count(*) FROM shelters WHERE source <> 'demo'") == 0


async def test_the_demo_set_is_not_loaded_beside_official_shelters(conn, parsed_files):
    await service.import_file(conn, parsed_files[HOUSING], file=HOUSING, source="seoul-open-data", as_of=AS_OF)
    with pytest.raises(Conflict) as refused:
        await service.load_demo(conn)
    assert refused.value.code == "official_shelters_loaded"
    assert await conn.fetchval("SELECT count(*) FROM shelters WHERE source = 'demo'") == 0


async def test_migration_0025_retires_a_demo_set_served_beside_official_shelters(conn, parsed_files):
    await service.load_demo(conn)
    await service.import_file(conn, parsed_files[HOUSING], file=HOUSING, source="seoul-open-data", as_of=AS_OF)
    await conn.execute("UPDATE shelters SET active = true WHERE source = 'demo'")  # as before the importer did it
    migration = Path(__file__).parents[2] / "migrations" / "0025_demo_shelters_leave.sql"
    await conn.execute(migration.read_text(encoding="utf-8"))
    assert await conn.fetchval("SELECT count(*) FROM shelters WHERE source = 'demo' AND active") == 0
    assert await conn.fetchval("SELECT count(*) FROM shelters WHERE source <> 'demo' AND active") == 819


async def test_migration_0025_leaves_a_demo_only_database_alone(conn):
    await service.load_demo(conn)
    migration = Path(__file__).parents[2] / "migrations" / "0025_demo_shelters_leave.sql"
    await conn.execute(migration.read_text(encoding="utf-8"))
    assert await conn.fetchval("SELECT count(*) FROM shelters WHERE source = 'demo' AND active") == 15


# The commands, as the lead wires them into `safecity`: run here through click's runner on the test database.


@pytest.fixture
def cli(database_url: str, tmp_path: Path):
    env = {"DATABASE_URL": database_url, "SAFECITY_VAR_DIR": str(tmp_path / "var")}

    def invoke(command, *args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(command, list(args), env=env, catch_exceptions=False)

    return invoke


def fetch(url: str, sql: str) -> list[asyncpg.Record]:
    async def go() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetch(sql)
        finally:
            await conn.close()

    return asyncio.run(go())


def test_import_shelters_reports_as_json_and_a_second_run_changes_nothing(cli, shelter_dir, database_url):
    first = cli(import_shelters, str(shelter_dir / HOUSING))
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert (report["loaded"], report["updated"], report["rejected"], report["kinds"]) == (
        819,
        0,
        2,
        ["temporary_housing"],
    )
    assert report["rejections"][0] == {
        "line": 55,
        "source_id": "551",
        "reason": "outside Seoul: 37.551596, 129.912131 is not within latitude 37.41–37.73, longitude 126.75–127.20",
    }
    modified = datetime.fromtimestamp(os.stat(shelter_dir / HOUSING).st_mtime, UTC).date()
    assert report["as_of"] == modified.isoformat()

    before = fetch(database_url, "SELECT * FROM shelters ORDER BY id")
    second = json.loads(cli(import_shelters, str(shelter_dir / HOUSING)).stdout)
    assert (second["loaded"], second["updated"], second["unchanged"], second["deactivated"]) == (0, 0, 819, 0)
    assert fetch(database_url, "SELECT * FROM shelters ORDER BY id") == before


def test_import_shelters_reads_a_cp949_file_with_the_kind_given(cli, shelter_dir, tmp_path, database_url):
    text = "\n".join((shelter_dir / HOUSING).read_text(encoding="utf-8-sig").splitlines()[:4]) + "\n"
    path = tmp_path / "대피소.csv"
    path.write_bytes(text.encode("cp949"))
    result = cli(import_shelters, str(path), "--kind", "temporary_housing", "--as-of", "2025-06-30")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["encoding"], report["loaded"], report["as_of"]) == ("cp949", 3, "2025-06-30")
    names = [r["name"] for r in fetch(database_url, "SELECT name FROM shelters ORDER BY source_id")]
    assert names == ["증산동주민센터", "증산초등학교 체육관", "수색초등학교"]


def test_import_shelters_refuses_a_file_it_cannot_read(cli, tmp_path):
    path = tmp_path / "shelters.csv"
    path.write_text("이름,주소\n가,나\n", encoding="utf-8")
    result = CliRunner().invoke(import_shelters, [str(path)], env={"DATABASE_URL": "postgresql://nowhere/x"})
    assert result.exit_code == 1
    assert "give --kind" in result.output
    assert CliRunner().invoke(import_shelters, [str(path), "--source", "demo"]).exit_code == 2


def test_load_demo_shelters_loads_the_demo_set_then_leaves_a_stocked_table_alone(cli, database_url):
    result = cli(load_demo, "--if-empty")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["loaded"] == 15
    again = cli(load_demo, "--if-empty")
    assert again.exit_code == 0 and again.stdout == ""
    assert "already stored" in again.stderr
    assert len(fetch(database_url, "SELECT id FROM shelters")) == 15


def test_import_shelters_reports_the_demo_set_it_retired_and_load_demo_then_refuses(cli, shelter_dir, database_url):
    assert json.loads(cli(load_demo).stdout)["loaded"] == 15
    report = json.loads(cli(import_shelters, str(shelter_dir / HOUSING)).stdout)
    assert (report["loaded"], report["demo_deactivated"]) == (819, 15)
    refused = cli(load_demo)
    assert refused.exit_code == 1
    assert "never served beside them" in refused.output
    active = fetch(database_url, "SELECT DISTINCT source FROM shelters WHERE active")
    assert [r["source"] for r in active] == ["seoul-open-data"]
