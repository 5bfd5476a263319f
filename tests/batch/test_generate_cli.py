"""The generator is deterministic and chunked; the CLI goes from nothing to a report in two commands."""

from __future__ import annotations

import json

import duckdb
from typer.testing import CliRunner

from visafree.batch.generate import generate
from visafree.cli import app

from .conftest import ON


def _digest(path) -> tuple:
    con = duckdb.connect()
    return con.execute(
        f"SELECT count(*), sum(hash(event_id, traveller_id, direction, local_date, local_time, border_post)) "
        f"FROM read_parquet('{path}/*.parquet')").fetchone()


def test_same_seed_same_data_and_chunking_does_not_matter(tmp_path):
    a = generate(tmp_path / "a", 6_000, seed=5, on=ON, chunk_rows=1_500, threads=1)
    b = generate(tmp_path / "b", 6_000, seed=5, on=ON, chunk_rows=1_500, threads=1)
    c = generate(tmp_path / "c", 6_000, seed=6, on=ON, chunk_rows=1_500, threads=1)
    assert a.files >= 4 and len(list((tmp_path / "a").glob("part-*.parquet"))) == a.files
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")
    assert 6_000 <= a.rows < 6_000 * 1.2  # whole travellers only, so a little over
    # A traveller's crossings depend on the seed and the traveller, not on the chunk size.
    con = duckdb.connect()
    big = generate(tmp_path / "d", 6_000, seed=5, on=ON, chunk_rows=100_000, threads=1)
    q = ("SELECT sum(hash(event_id, direction, local_date, local_time)) FROM read_parquet('{}/*.parquet') "
         "WHERE traveller_id < 500")
    assert big.files < a.files
    assert con.execute(q.format(tmp_path / "a")).fetchone() == con.execute(q.format(tmp_path / "d")).fetchone()


def test_population_shape(population):
    con = duckdb.connect()
    shape = dict(con.execute(
        f"SELECT nationality || '>' || destination, count(DISTINCT traveller_id) "
        f"FROM read_parquet('{population.out_dir}/*.parquet') GROUP BY 1").fetchall())
    assert shape["KAZ>VNM"] > shape["VNM>KAZ"] > 0  # the Nha Trang tourists dominate
    posts = dict(con.execute(
        f"SELECT border_post, count(*) FROM read_parquet('{population.out_dir}/*.parquet') "
        "WHERE destination = 'VNM' GROUP BY 1").fetchall())
    assert max(posts, key=posts.get) == "CXR"  # Cam Ranh, Nha Trang's airport
    manifest = json.loads((population.out_dir / "manifest.json").read_text())
    assert manifest["rows"] == population.rows and manifest["profiles"]["edge"] > 0


def test_two_commands_from_nothing_to_a_report(tmp_path):
    runner = CliRunner()
    data, out = tmp_path / "data", tmp_path / "compliance"
    r1 = runner.invoke(app, ["batch", "generate", str(data), "--rows", "3000", "--seed", "3"])
    assert r1.exit_code == 0, r1.output
    r2 = runner.invoke(app, ["batch", "report", str(data), "--out", str(out), "--on", "2025-12-31",
                             "--memory-limit", "500MB", "--threads", "1"])
    assert r2.exit_code == 0, r2.output
    assert "travellers who overstayed" in r2.output and "holds" in r2.output
    for name in ("stays", "travellers", "data_quality", "summary_nationality", "summary_destination",
                 "summary_border_post", "summary_month"):
        assert (out / f"{name}.parquet").exists(), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["identity_holds"] and summary["counts"]["events_read"] >= 3000


def test_report_rejects_a_bad_engine(tmp_path):
    runner = CliRunner()
    generate(tmp_path / "d", 500, seed=1, on=ON, threads=1)
    r = runner.invoke(app, ["batch", "report", str(tmp_path / "d"), "--out", str(tmp_path / "o"), "--engine", "nope"])
    assert r.exit_code != 0
