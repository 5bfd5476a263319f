"""The Apache Spark backend: the same relational pipeline as DuckDB, as Spark SQL jobs.

Runs in local mode for tests and on a cluster with spark-submit (docs/batch.md):

    spark-submit --master yarn --deploy-mode cluster \\
        --py-files visafree-0.1.0-py3-none-any.whl src/visafree/batch/spark_submit.py \\
        s3a://bucket/crossings/ s3a://bucket/compliance/ --on 2025-12-31

Every step is partitioned by traveller, so Spark shuffles the crossings once by traveller
and the windows of R4 run per partition with no data exchanged between travellers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from pathlib import Path

from . import pipeline
from .common import OUTPUTS, SMALL_TYPES, RunResult, has_bases, raw_select, small_tables
from .params import regime_tables


def local_session(app: str = "visafree-batch", cores: int = 1, shuffle_partitions: int = 4, memory: str = "2g"):
    """A local SparkSession sized for one machine (tests, benchmarks)."""
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master(f"local[{cores}]").appName(app)
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", memory)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.ansi.enabled", "false")
        .getOrCreate()
    )


def _register_small_tables(spark, tables) -> None:
    for name, (columns, rows) in small_tables(tables).items():
        schema = ", ".join(f"{c} {SMALL_TYPES[c]}" for c in columns)
        spark.createDataFrame(rows, schema=schema).createOrReplaceTempView(name)


def _read(spark, inputs: list[str]):
    paths = [str(p) for p in inputs]
    if all(p.endswith(".csv") for p in paths) or any(Path(p).is_dir() and any(Path(p).rglob("*.csv"))
                                                     and not any(Path(p).rglob("*.parquet")) for p in paths):
        return spark.read.option("header", True).option("inferSchema", True).csv(paths)
    return (spark.read.option("recursiveFileLookup", True).option("pathGlobFilter", "*.parquet")
            .parquet(*paths))


def run(inputs: list[str | Path], out_dir: str | Path, on: dt.date, *, spark=None, regimes=None,
        write: bool = True, progress=None) -> RunResult:
    started = time.perf_counter()
    own = spark is None
    if spark is None:  # local mode on every core of this machine
        cores = os.cpu_count() or 1
        spark = local_session(cores=cores, shuffle_partitions=2 * cores)
    tables = regime_tables(on, regimes)
    out = str(out_dir)
    # The steps that later ones reuse are written once under the output and read back: that
    # stores them (spilled, as any Parquet) and cuts the query plan there. Cached views
    # (persist) kept the whole plan, and Catalyst re-planned it for every later query: 8 s per
    # step and 10 s per output on a log of 4,000 rows, 150 s in all (32 s this way).
    # localCheckpoint cuts it too but fails inside Spark 4.3 on these plans (key not found).
    scratch = f"{out.rstrip('/')}/_scratch"
    try:
        _register_small_tables(spark, tables)
        raw = _read(spark, list(inputs))
        raw.createOrReplaceTempView("vf_input")
        spark.sql(raw_select(set(raw.columns), "vf_input")).createOrReplaceTempView("vf_raw")
        steps = pipeline.steps(pipeline.SPARK, tables, bases=has_bases(set(raw.columns)))
        task = progress.add_task("Spark", total=len(OUTPUTS)) if progress is not None else None
        for step in steps:
            df = spark.sql(step.sql)
            if step.materialize:
                df.write.mode("overwrite").parquet(f"{scratch}/{step.name}")
                df = spark.read.parquet(f"{scratch}/{step.name}")
            df.createOrReplaceTempView(step.name)
        if write:
            for name in OUTPUTS:
                _output(spark, name).write.mode("overwrite").parquet(f"{out}/{name}.parquet")
                if task is not None:
                    progress.advance(task)
        row = spark.sql(pipeline.COUNTS_SQL).collect()[0].asDict()
        dq = {r["problem"]: r["events"] for r in spark.sql(pipeline.DQ_COUNTS_SQL).collect()}
        # Only the summary printed on screen is fetched back; the others are in the Parquet files.
        summaries = {"summary_nationality": [r.asDict() for r in _output(spark, "summary_nationality").collect()]}
        result = RunResult("spark", on, Path(out), {k: int(v) for k, v in row.items()}, dq,
                           time.perf_counter() - started, summaries)
        if write and not out.startswith(("s3", "hdfs", "gs:", "abfs")):
            result.write_json()
        return result
    finally:
        _delete(spark, scratch)
        if own:
            spark.stop()


def _delete(spark, path: str) -> None:
    """Remove a directory on whatever file system Spark writes to (local, HDFS, S3)."""
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).delete(hadoop_path, True)


def _output(spark, name: str):
    if name in pipeline.SUMMARIES:
        dimension, column = pipeline.SUMMARIES[name]
        return spark.sql(pipeline.summary_sql(pipeline.SPARK, dimension, column))
    table = {"stays": "vf_stays", "travellers": "vf_travellers", "data_quality": "vf_dq"}[name]
    return spark.table(table)


def main(argv: list[str] | None = None) -> None:
    """Entry point for spark-submit: the session comes from spark-submit's configuration."""
    parser = argparse.ArgumentParser(prog="visafree.batch.spark", description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="+", help="crossing events: Parquet or CSV files or directories")
    parser.add_argument("output", help="directory for the Parquet outputs")
    parser.add_argument("--on", required=True, type=dt.date.fromisoformat, help="reference date YYYY-MM-DD")
    args = parser.parse_args(argv)
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("visafree-batch").getOrCreate()
    result = run(args.inputs, args.output, args.on, spark=spark)
    print({"counts": result.counts, "data_quality": result.data_quality,
           "identity_holds": result.identity_holds, "seconds": round(result.seconds, 1)})
    spark.stop()


if __name__ == "__main__":
    main()
