"""`visafree batch ...`: compliance for a whole log of border crossings (DuckDB or Spark).

    visafree batch generate data/ --rows 1000000
    visafree batch report data/ --out compliance/ --on 2025-12-31

DuckDB and PySpark are imported inside the commands, so the rest of the CLI stays light.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

batch_app = typer.Typer(
    name="batch", no_args_is_help=True,
    help="Compliance at national scale: a log of crossings in, overstays and summaries out (Parquet).",
)
console = Console()


def _progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                    MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=False)


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date YYYY-MM-DD") from None


@batch_app.command("generate")
def generate_cmd(
    out_dir: Path = typer.Argument(..., help="directory for the Parquet files (part-*.parquet)"),
    rows: int = typer.Option(100_000, "--rows", "-n", help="about this many crossing events"),
    seed: int = typer.Option(42, help="same seed, same data"),
    on: str = typer.Option("2025-12-31", help="reference date: the log ends on this day"),
    chunk_rows: int = typer.Option(2_000_000, help="events per Parquet file"),
    memory_limit: str = typer.Option("2GB", "--memory-limit", help="DuckDB memory limit while generating"),
) -> None:
    """Write a synthetic, realistic log of crossings (with known overstayers and data problems)."""
    from visafree.batch.generate import generate

    with _progress() as progress:
        result = generate(out_dir, rows, seed=seed, on=_date(on), chunk_rows=chunk_rows,
                          progress=progress, memory_limit=memory_limit)
    console.print(f"[green]wrote {result.rows:,} crossings of {result.travellers:,} travellers "
                  f"in {result.files} file(s) under {result.out_dir}[/green] (manifest.json: profiles, injected problems)")
    console.print(f"next: [bold]visafree batch report {out_dir} --out compliance --on {on}[/bold]")


@batch_app.command("report")
def report_cmd(
    inputs: List[Path] = typer.Argument(None, help="crossing events: Parquet or CSV files or directories"),
    out_dir: Path = typer.Option(Path("compliance"), "--out", "-o", help="directory for the Parquet outputs"),
    on: str = typer.Option("2025-12-31", help="reference date (open stays run to it)"),
    engine: str = typer.Option("duckdb", help="duckdb (one machine, out of core) or spark (local mode here)"),
    memory_limit: str = typer.Option("2GB", "--memory-limit", help="DuckDB memory limit; beyond it DuckDB spills to disk"),
    temp_dir: Optional[Path] = typer.Option(None, "--temp-dir", help="where DuckDB spills (default: system temp)"),
    threads: Optional[int] = typer.Option(None, help="DuckDB threads (default: all cores)"),
    register: bool = typer.Option(False, "--register", help="also read the border register "
                                  "($VISAFREE_DATABASE_URL, else ./var/register.sqlite); audited as one export"),
) -> None:
    """Pair crossings into stays, apply R3/R4 per stay and traveller, write Parquet and print a summary."""
    sources = list(inputs or [])
    when = _date(on)
    if register:
        sources.append(_export_register(out_dir))
    if not sources:
        raise typer.BadParameter("give crossing files or directories, or --register")
    with _progress() as progress:
        if engine == "duckdb":
            from visafree.batch import duck

            result = duck.run(sources, out_dir, when, memory_limit=memory_limit, threads=threads,
                              temp_dir=temp_dir, progress=progress)
        elif engine == "spark":
            from visafree.batch import spark

            result = spark.run(sources, out_dir, when, progress=progress)
        else:
            raise typer.BadParameter("engine must be duckdb or spark")
    print_summary(result)
    if not result.identity_holds:
        raise typer.Exit(1)


def _export_register(out_dir: Path) -> Path:
    """The register's crossings as one Parquet log beside the outputs (the batch reads files)."""
    import getpass

    from visafree.register import open_register

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "register_crossings.parquet"
    written = open_register().export_crossings(path, actor=f"batch:{getpass.getuser()}")
    console.print(f"read {written:,} crossings from the register into {path}")
    return path


def print_summary(result) -> None:
    c = result.counts
    head = Table(title=f"Compliance on {result.on} ({result.engine}, {result.seconds:.1f} s)", show_header=False)
    head.add_column(style="bold")
    head.add_column(justify="right")
    rows = [
        ("crossings read", c["events_read"]),
        ("stays (closed + open)", f"{c['closed_stays']:,} + {c['open_stays']:,}"),
        ("crossings set aside (data quality)", c["events_dropped"]),
        ("travellers", c["travellers"]),
        ("travellers who overstayed", c["travellers_overstaying"]),
        ("days of overstay (R3, R4 or a fixed period)", c["overstay_days"]),
        ("stays breaking R3 first (per stay)", c["stays_per_stay_limit"]),
        ("stays breaking R4 first (window)", c["stays_window_limit"]),
        ("stays breaking a fixed period first", c.get("stays_period_limit", 0)),
        ("stays under a rule the batch does not compute", c.get("stays_unsupported_rule_kind", 0)),
        ("in the country on the reference date", c["in_country"]),
        ("of whom past their permitted end", c["past_permitted_end"]),
    ]
    for label, value in rows:
        head.add_row(label, f"{value:,}" if isinstance(value, int) else str(value))
    console.print(head)
    ok = "[green]holds[/green]" if result.identity_holds else "[red]BROKEN[/red]"
    console.print(f"read {c['events_read']:,} = in stays {result.events_in_stays:,} "
                  f"+ set aside {c['events_dropped']:,}: {ok}")
    if result.data_quality:
        dq = Table(title="Data quality")
        dq.add_column("problem")
        dq.add_column("crossings", justify="right")
        dq.add_column("what was done")
        for problem, n in sorted(result.data_quality.items()):
            done = "paired after sorting" if problem == "out_of_order" else "set aside"
            dq.add_row(problem, f"{n:,}", done)
        console.print(dq)
    nat = result.summaries.get("summary_nationality", [])
    if nat:
        t = Table(title="By nationality")
        for col in ("nationality", "regime", "stays", "travellers", "in breach", "overstay days", "open"):
            t.add_column(col, justify="left" if col in ("nationality", "regime") else "right", no_wrap=True)
        for r in nat:
            t.add_row(*(f"{r[k]:,}" if isinstance(r[k], int) else str(r[k]) for k in
                        ("nationality", "regime", "stays", "travellers", "stays_with_violation", "overstay_days", "open_stays")))
        console.print(t)
    console.print(f"outputs in {result.out_dir}: stays, travellers, data_quality, summary_* (.parquet), summary.json")


def install(app: typer.Typer) -> None:
    app.add_typer(batch_app, name="batch")
