"""Spark (local mode) gives exactly DuckDB's outputs, hence the engine's, on the same log."""

from __future__ import annotations

import duckdb
import pytest

from visafree.batch import oracle

from .conftest import ON, read_rows

pytestmark = pytest.mark.spark

KEY = ("regime", "traveller_id", "territory", "entry", "entry_event_id")


def _sorted(rows, key):
    return sorted(rows, key=lambda r: tuple("" if r[k] is None else str(r[k]) for k in key))


def test_spark_equals_duckdb_and_the_engine(spark_session, tmp_path):
    """One test, so that one worker runs one Spark job (a Spark run costs far more than a check),
    on a smaller population than the DuckDB tests' that still holds every edge scenario."""
    from visafree.batch import duck, spark
    from visafree.batch.generate import EDGE_SCENARIOS, generate

    from .conftest import TEST_DQ, TEST_MIX

    population = generate(tmp_path / "log", 4_000, seed=99, on=ON, chunk_rows=1_500, mix=TEST_MIX,
                          dq=TEST_DQ, threads=1, keep_truth=True)
    scenarios = duckdb.connect().execute(
        f"SELECT count(DISTINCT traveller_id % {len(EDGE_SCENARIOS)}) FROM read_parquet('{tmp_path}/log/*.parquet') "
        "WHERE profile = 'edge'").fetchone()[0]
    assert scenarios == len(EDGE_SCENARIOS)
    duck_report = duck.run([population.out_dir], tmp_path / "duck", ON, threads=1)
    spark_report = spark.run([population.out_dir], tmp_path / "spark", ON, spark=spark_session)
    assert spark_report.identity_holds
    assert spark_report.counts == duck_report.counts
    assert spark_report.data_quality == duck_report.data_quality
    for name, key in (("stays", KEY), ("travellers", ("regime", "traveller_id", "territory")),
                      ("data_quality", ("event_id", "problem")),
                      ("summary_nationality", ("nationality", "regime")),
                      ("summary_destination", ("destination", "regime")),
                      ("summary_border_post", ("border_post", "regime")),
                      ("summary_month", ("month", "regime"))):
        ours = _sorted(read_rows(f"{tmp_path}/spark/{name}.parquet/*.parquet"), key)
        theirs = _sorted(read_rows(f"{duck_report.out_dir}/{name}.parquet"), key)
        assert len(ours) == len(theirs) > 0, name
        assert ours == theirs, name
    # and so, stay by stay and traveller by traveller, the engine's answer
    stays = read_rows(f"{tmp_path}/spark/stays.parquet/*.parquet")
    travellers = read_rows(f"{tmp_path}/spark/travellers.parquet/*.parquet")
    assert oracle.differences(stays, travellers, ON, limit=10) == []
