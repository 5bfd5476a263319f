"""The DuckDB backend (default): embedded, out of core, one machine.

Intermediate tables live in an on-disk database under the temp directory, and DuckDB spills
sorts and hash tables there once `memory_limit` is reached, so the input may exceed memory.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import threading
import time
from contextlib import nullcontext
from pathlib import Path

from . import pipeline
from .common import OUTPUTS, RunResult, has_bases, input_files, raw_select, small_tables
from .params import RegimeTables, regime_tables


def connect(memory_limit: str = "2GB", threads: int | None = None, temp_dir: str | Path | None = None,
            database: str | Path = ":memory:"):
    import duckdb

    con = duckdb.connect(str(database))
    con.execute(f"SET memory_limit = '{memory_limit}'")
    if temp_dir is not None:
        con.execute(f"SET temp_directory = '{Path(temp_dir).as_posix()}'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    # Output order is irrelevant here; not keeping it lets DuckDB stream and spill more freely.
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")  # progress is shown by Rich, not on stderr
    return con


def _load_small_tables(con, tables: RegimeTables) -> None:
    import pyarrow as pa

    strings = {"regime", "nationality", "destination", "territory"}
    for name, (columns, rows) in small_tables(tables).items():
        # One Arrow table per table, not executemany: DuckDB inserts those row by row, 1.3 s
        # for the few thousand rows of coverage, on every run.
        schema = pa.schema([(c, pa.string() if c in strings else pa.int64()) for c in columns])
        data = pa.Table.from_arrays([pa.array([r[i] for r in rows], type=f.type) for i, f in enumerate(schema)],
                                    schema=schema)
        con.register("vf_small_input", data)
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM vf_small_input")
        con.unregister("vf_small_input")


def _dialect(con) -> pipeline.Dialect:
    """DuckDB's dialect, with the input's strings as codes of an ENUM made for this input: the
    sorts then carry one or two bytes instead of a string (pipeline.dictionary_sql)."""
    con.execute(f"CREATE OR REPLACE TYPE vf_str AS ENUM ({pipeline.dictionary_sql()})")
    size = con.execute("SELECT len(enum_range(NULL::vf_str))").fetchone()[0]
    if size >= 2**31 - 1:  # Dialect.pack keeps a code in 31 bits
        raise ValueError(f"{size:,} distinct strings in the input: more than the pipeline can code")
    return pipeline.DUCKDB.with_enum("vf_str")


def _release(con, step: pipeline.Step) -> None:
    """Drop the tables no later step reads, so that the sorts after it have their memory."""
    for name in step.release:
        con.execute(f"DROP TABLE IF EXISTS {name}")


def _run(con, sql: str, poll=None) -> None:
    """Execute, reporting DuckDB's own progress estimate while the statement runs."""
    if poll is None:
        con.execute(sql)
        return
    error: list[BaseException] = []

    def work():
        try:
            con.execute(sql)
        except BaseException as exc:  # re-raised in the caller's thread
            error.append(exc)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.2)
        try:
            poll(con.query_progress())
        except Exception:
            pass
    if error:
        raise error[0]


def run(inputs: list[str | Path], out_dir: str | Path, on: dt.date, *, memory_limit: str = "2GB",
        threads: int | None = None, temp_dir: str | Path | None = None, regimes=None,
        progress=None, write: bool = True, con=None) -> RunResult:
    """Pair the crossings into stays, apply RULES.md, write the Parquet outputs."""
    started = time.perf_counter()
    files, fmt = input_files(list(inputs))
    tables = regime_tables(on, regimes)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    own_tmp = None
    if con is None:
        own_tmp = Path(tempfile.mkdtemp(prefix="visafree-duckdb-", dir=temp_dir))
        con = connect(memory_limit, threads, own_tmp / "spill")
    try:
        _load_small_tables(con, tables)
        reader = f"read_parquet({files!r})" if fmt == "parquet" else f"read_csv({files!r}, header = true)"
        columns = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()}
        if fmt == "csv":  # "08:30" is a time of day to read as text; a CSV may have no such column
            texts = ", ".join(f"'{c}': 'VARCHAR'" for c in ("local_time", "basis", "visa_entries", "visa_kind")
                              if c in columns)
            if texts:
                reader = f"read_csv({files!r}, header = true, types = {{{texts}}})"
        con.execute(f"CREATE OR REPLACE VIEW vf_raw AS {raw_select(columns, reader)}")
        steps = pipeline.steps(_dialect(con), tables, bases=has_bases(columns))
        n_work = sum(s.materialize for s in steps) + (len(OUTPUTS) if write else 0)
        ctx = progress if progress is not None else nullcontext()
        with ctx:
            task = progress.add_task("DuckDB", total=n_work) if progress is not None else None

            def step_poll(label):
                if progress is None:
                    return None
                return lambda pct: progress.update(task, description=f"DuckDB {label} {max(pct, 0):.0f}%")

            for step in steps:
                if step.materialize:
                    _run(con, f"CREATE OR REPLACE TABLE {step.name} AS {step.sql}", step_poll(step.name))
                    _release(con, step)
                    if task is not None:
                        progress.advance(task)
                else:
                    con.execute(f"CREATE OR REPLACE VIEW {step.name} AS {step.sql}")
            con.execute("CREATE OR REPLACE VIEW data_quality AS SELECT * FROM vf_dq")
            if write:
                for name in OUTPUTS:
                    sql = _output_sql(name)
                    target = (out / f"{name}.parquet").as_posix()
                    _run(con, f"COPY ({sql}) TO '{target}' (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)",
                         step_poll(f"writing {name}"))
                    if task is not None:
                        progress.advance(task)
            if task is not None:
                progress.update(task, description="DuckDB done")
        cur = con.execute(pipeline.COUNTS_SQL)
        counts = dict(zip([d[0] for d in cur.description], cur.fetchone()))
        dq = {problem: n for problem, n in con.execute(pipeline.DQ_COUNTS_SQL).fetchall()}
        # Only the summary printed on screen is fetched back; the others are in the Parquet files.
        summaries = {"summary_nationality": fetch_dicts(con, _output_sql("summary_nationality"))}
        result = RunResult("duckdb", on, out, {k: int(v) for k, v in counts.items()}, dq,
                           time.perf_counter() - started, summaries)
        if write:
            result.write_json()
        return result
    finally:
        if own_tmp is not None:
            con.close()
            shutil.rmtree(own_tmp, ignore_errors=True)


def _output_sql(name: str) -> str:
    if name in pipeline.SUMMARIES:
        dimension, column = pipeline.SUMMARIES[name]
        return pipeline.summary_sql(pipeline.DUCKDB, dimension, column)
    table = {"stays": "vf_stays", "travellers": "vf_travellers", "data_quality": "vf_dq"}[name]
    return f"SELECT * FROM {table}"


def run_arrow(events, on: dt.date, *, con=None, regimes=None) -> tuple[RunResult, object]:
    """Run the pipeline on an in-memory Arrow table of events (tests, notebooks); nothing is
    written. Returns the result and the connection, whose vf_stays / vf_travellers / vf_dq
    tables hold the outputs."""
    started = time.perf_counter()
    con = con or connect("1GB", threads=1)
    tables = regime_tables(on, regimes)
    _load_small_tables(con, tables)
    con.register("vf_input_arrow", events)
    con.execute(f"CREATE OR REPLACE VIEW vf_raw AS {raw_select(set(events.column_names), 'vf_input_arrow')}")
    for step in pipeline.steps(_dialect(con), tables, bases=has_bases(set(events.column_names))):
        kind = "TABLE" if step.materialize else "VIEW"
        con.execute(f"CREATE OR REPLACE {kind} {step.name} AS {step.sql}")
        _release(con, step)
    cur = con.execute(pipeline.COUNTS_SQL)
    counts = dict(zip([d[0] for d in cur.description], cur.fetchone()))
    dq = {problem: n for problem, n in con.execute(pipeline.DQ_COUNTS_SQL).fetchall()}
    return RunResult("duckdb", on, Path("."), {k: int(v) for k, v in counts.items()}, dq,
                     time.perf_counter() - started), con


def fetch_dicts(con, sql: str) -> list[dict]:
    cur = con.execute(sql)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row)) for row in cur.fetchall()]
