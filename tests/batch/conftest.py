"""Shared fixtures: one small generated population per worker, one local SparkSession."""

from __future__ import annotations

import datetime as dt

import pytest

ON = dt.date(2025, 12, 31)
# Many edge travellers, so that every scenario of RULES.md §2 is present several times.
TEST_MIX = {"tourist": 0.35, "business": 0.15, "border_run": 0.1, "r3_overstay": 0.08,
            "r4_overstay": 0.08, "schengen": 0.12, "edge": 0.12}
TEST_DQ = {"duplicate": 0.02, "missing_entry": 0.01, "missing_exit": 0.01, "swap": 0.02}


@pytest.fixture(scope="session")
def on() -> dt.date:
    return ON


@pytest.fixture(scope="session")
def population(tmp_path_factory):
    """About 12,000 crossings in several Parquet files, with the generator's ground truth."""
    from visafree.batch.generate import generate

    out = tmp_path_factory.mktemp("population")
    result = generate(out, 12_000, seed=2025, on=ON, chunk_rows=5_000, mix=TEST_MIX, dq=TEST_DQ,
                      keep_truth=True, threads=1)
    return result


@pytest.fixture(scope="session")
def duck_report(population, tmp_path_factory):
    from visafree.batch import duck

    out = tmp_path_factory.mktemp("duck_report")
    return duck.run([population.out_dir], out, ON, memory_limit="1GB", threads=1)


@pytest.fixture(scope="module")
def con():
    """One small DuckDB connection per test module, reused across hypothesis examples."""
    from visafree.batch import duck

    c = duck.connect("512MB", threads=1)
    yield c
    c.close()


@pytest.fixture(scope="session")
def spark_session():
    pytest.importorskip("pyspark")
    from visafree.batch.spark import local_session

    session = local_session("visafree-tests", cores=1, shuffle_partitions=1, memory="1g")
    session.sparkContext.setLogLevel("ERROR")
    # Tiny data: adaptive re-planning only adds stages here (it stays on for real runs).
    session.conf.set("spark.sql.adaptive.enabled", "false")
    yield session
    session.stop()


def read_rows(path_glob: str) -> list[dict]:
    import duckdb

    con = duckdb.connect()
    cur = con.execute(f"SELECT * FROM read_parquet('{path_glob}')")
    cols = [d[0] for d in cur.description]
    rows = [dict(zip(cols, r)) for r in cur.fetchall()]
    con.close()
    return rows
