"""What both backends share: the input's columns, the regime tables, the run's counts."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from .params import RegimeTables

#: Columns of a crossing event (docs/batch.md). local_time ("HH:MM", optional) orders the
#: crossings of one day; regime is optional and then taken from the regime that covers the
#: nationality and destination.
EVENT_COLUMNS = ("event_id", "traveller_id", "nationality", "destination", "border_post",
                 "direction", "local_date", "local_time", "regime")
REQUIRED_COLUMNS = ("event_id", "traveller_id", "nationality", "destination", "direction", "local_date")
#: Optional columns of an entry on a visa or a permit (docs/basis.md, docs/batch.md): `basis`
#: (visa_free, visa, residence_permit, long_stay_visa; empty: visa_free), the validity of the visa
#: or permit, and the visa's entries, duration of stay and kind. With no `basis` column the
#: pipeline is the visa-free one, unchanged.
BASIS_COLUMNS = ("basis", "valid_from", "valid_until", "visa_entries", "visa_duration_days", "visa_kind")


def has_bases(columns: set[str]) -> bool:
    return "basis" in columns

OUTPUTS = ("stays", "travellers", "data_quality", "summary_nationality", "summary_destination",
           "summary_border_post", "summary_month")


def raw_select(columns: set[str], source: str) -> str:
    """SELECT normalising an input with the event columns (some optional) into vf_raw."""
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise ValueError(f"input lacks required column(s): {', '.join(missing)}")

    def col(name: str, cast: str = "STRING") -> str:
        return f"CAST(e.{name} AS {cast})" if name in columns else f"CAST(NULL AS {cast})"

    regime = (col("regime") if "regime" in columns else
              "(SELECT min(c.regime) FROM vf_resolved c WHERE c.nationality = e.nationality "
              "AND c.destination = e.destination)")
    bases = ""
    if has_bases(columns):
        bases = (f", {col('basis')} AS basis, {col('valid_from', 'DATE')} AS valid_from, "
                 f"{col('valid_until', 'DATE')} AS valid_until, {col('visa_entries')} AS visa_entries, "
                 f"{col('visa_duration_days', 'BIGINT')} AS visa_duration_days, {col('visa_kind')} AS visa_kind")
    return f"""
SELECT e.event_id, e.traveller_id, CAST(e.nationality AS STRING) AS nationality,
  CAST(e.destination AS STRING) AS destination, {col('border_post')} AS border_post,
  CAST(e.direction AS STRING) AS direction, CAST(e.local_date AS DATE) AS local_date,
  {col('local_time')} AS local_time, {regime} AS regime{bases}
FROM {source} e
"""


def small_tables(t: RegimeTables) -> dict[str, tuple[list[str], list[tuple]]]:
    return {
        "vf_rules": (
            ["regime", "window_days", "window_max_days", "per_stay_last_offset", "day_offset", "window_gap",
             "counts_visa", "counts_permit", "counts_long", "limits_visa"],
            [(r.regime, r.window_days, r.window_max_days, r.per_stay_last_offset, r.day_offset, r.window_gap,
              r.counts_visa, r.counts_permit, r.counts_long, r.limits_visa)
             for r in t.rules],
        ),
        "vf_coverage": (["regime", "nationality", "destination"], list(t.coverage)),
        "vf_resolved": (["nationality", "destination", "regime"], list(t.resolved)),
        "vf_in_force": (["regime", "since", "until"], list(t.in_force)),
        "vf_territory": (["regime", "destination", "territory"], list(t.territory)),
    }


SMALL_TYPES = {
    "regime": "STRING", "nationality": "STRING", "destination": "STRING", "territory": "STRING",
    "window_days": "BIGINT", "window_max_days": "BIGINT", "per_stay_last_offset": "BIGINT",
    "day_offset": "BIGINT", "window_gap": "BIGINT", "since": "BIGINT", "until": "BIGINT",
    "counts_visa": "BIGINT", "counts_permit": "BIGINT", "counts_long": "BIGINT", "limits_visa": "BIGINT",
}


@dataclass
class RunResult:
    engine: str
    on: dt.date
    out_dir: Path
    counts: dict
    data_quality: dict
    seconds: float
    summaries: dict = field(default_factory=dict)  # name -> list of row dicts

    @property
    def events_in_stays(self) -> int:
        return 2 * self.counts["closed_stays"] + self.counts["open_stays"]

    @property
    def identity_holds(self) -> bool:
        # Never silently dropped: every event read is in a stay or a (dropped) data-quality row.
        return self.counts["events_read"] == self.events_in_stays + self.counts["events_dropped"]

    def write_json(self) -> None:
        doc = {
            "engine": self.engine, "on": self.on.isoformat(), "seconds": round(self.seconds, 3),
            "counts": self.counts, "data_quality": self.data_quality,
            "events_in_stays": self.events_in_stays, "identity_holds": self.identity_holds,
        }
        (self.out_dir / "summary.json").write_text(json.dumps(doc, indent=2, default=str) + "\n")


def input_files(paths: list[str | Path]) -> tuple[list[str], str]:
    """Expand directories into their Parquet (or CSV) files; return (files, format)."""
    files: list[str] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(p.rglob("*.parquet")) or sorted(p.rglob("*.csv"))
            if not found:
                raise FileNotFoundError(f"{p}: no .parquet or .csv files")
            files.extend(str(f) for f in found)
        elif p.exists():
            files.append(str(p))
        else:
            raise FileNotFoundError(f"{p}: no such file or directory")
    kinds = {Path(f).suffix.lower() for f in files}
    if kinds <= {".parquet"}:
        return files, "parquet"
    if kinds <= {".csv"}:
        return files, "csv"
    raise ValueError(f"mixed or unknown input formats: {sorted(kinds)}")
