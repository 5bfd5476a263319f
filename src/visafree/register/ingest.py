"""Bulk ingest of crossing logs from other systems: CSV, JSON Lines or Parquet.

Every row read ends in exactly one place: stored, recognised as a duplicate (its event id is
already in the register, from an earlier run or earlier in this file), or written to the
rejects file with its line and reason; the summary says read = stored + duplicates + rejected.
Rows are committed in chunks, each chunk one transaction, so a run killed part-way keeps the
chunks it finished and a re-run stores the rest (the event id makes it idempotent).

Columns: event_id, issuing_state, document_number, nationality, direction (entry | exit),
time (ISO 8601: a local date-time, a date-time with an offset, or a date), border_post;
optional: passport_type (default ordinary), passport_expires, destination (default the
register's country). A time with an offset is converted to the destination's local date
(RULES.md "Days and time zones"). The raw document number is hashed on reading and never
written anywhere, the rejects file included.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator
from zoneinfo import ZoneInfo

from sqlalchemy import select

from . import schema as s
from .countries import country_code
from .service import PASSPORT_TYPES, TIME_ZONES, Register
from .timeline import pair

REQUIRED = ("event_id", "issuing_state", "document_number", "nationality", "direction", "time", "border_post")
OPTIONAL = ("passport_type", "passport_expires", "destination")
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


class IngestError(RuntimeError):
    """The file as a whole cannot be read (nothing in it was stored)."""


@dataclass
class Summary:
    path: str
    read: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejects_file: str | None = None
    unpaired: dict[str, int] = field(default_factory=dict)  # kind -> count, among travellers in this file

    @property
    def balanced(self) -> bool:
        return self.read == self.stored + self.duplicates + self.rejected


class RowError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


def detect_format(path: Path, given: str | None = None) -> str:
    if given:
        if given not in ("csv", "jsonl", "parquet"):
            raise IngestError(f"--format: {given!r} is not csv, jsonl or parquet")
        return given
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise IngestError(f"{path}: cannot tell the format from the extension {path.suffix!r}; give --format csv|jsonl|parquet")
    return kind


# -- reading: each source yields (line, row dict | None, error | None, bytes consumed) ----------


def _read_csv(path: Path) -> Iterator[tuple[int, dict | None, str | None, int]]:
    with open(path, "rb") as handle:
        header_raw = handle.readline()
        try:
            header_text = header_raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise IngestError(f"{path}: line 1 (header) is not UTF-8 text; convert the file to UTF-8") from None
        header = [h.strip() for h in next(csv.reader([header_text]), [])]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise IngestError(f"{path}: the header lacks the column(s) {', '.join(missing)}")
        yield 1, None, None, len(header_raw)  # header: not a row
        for line, raw in enumerate(handle, start=2):
            if not raw.strip():
                yield line, None, None, len(raw)
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield line, {}, f"encoding: byte 0x{raw[exc.start]:02x} at column {exc.start + 1} is not UTF-8", len(raw)
                continue
            values = next(csv.reader([text]), [])
            if len(values) != len(header):
                hint = " (truncated line?)" if not raw.endswith(b"\n") or len(values) < len(header) else ""
                yield line, {"event_id": values[0] if values else ""}, f"fields: {len(values)} fields, the header has {len(header)}{hint}", len(raw)
                continue
            yield line, dict(zip(header, values)), None, len(raw)


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict | None, str | None, int]]:
    with open(path, "rb") as handle:
        for line, raw in enumerate(handle, start=1):
            if not raw.strip():
                yield line, None, None, len(raw)
                continue
            try:
                text = raw.decode("utf-8-sig" if line == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                yield line, {}, f"encoding: byte 0x{raw[exc.start]:02x} at column {exc.start + 1} is not UTF-8", len(raw)
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                truncated = " (truncated line?)" if not raw.endswith(b"\n") else ""
                yield line, {}, f"json: {exc.msg} at column {exc.colno}{truncated}", len(raw)
                continue
            if not isinstance(value, dict):
                yield line, {}, f"json: a line must hold an object, not {type(value).__name__}", len(raw)
                continue
            yield line, value, None, len(raw)


def _read_parquet(path: Path) -> Iterator[tuple[int, dict | None, str | None, int]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise IngestError(f"{path}: not a complete Parquet file (truncated or another format?): {exc}") from None
    missing = [c for c in REQUIRED if c not in parquet.schema_arrow.names]
    if missing:
        raise IngestError(f"{path}: the file lacks the column(s) {', '.join(missing)}")
    line = 0
    try:
        for batch in parquet.iter_batches(batch_size=10_000):
            for row in batch.to_pylist():
                line += 1
                yield line, row, None, 1
    except (pa.ArrowInvalid, OSError) as exc:
        raise IngestError(f"{path}: unreadable after row {line} (truncated?): {exc}") from None


def parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path).metadata.num_rows
    except Exception:
        return 0


# -- one row --------------------------------------------------------------------------------


def _text(row: dict, name: str, required: bool = True) -> str:
    value = row.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise RowError(name, "missing")
        return ""
    return str(value).strip()


def _local(register: Register, value, destination: str) -> tuple[dt.date, dt.time | None]:
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        return value, None
    else:
        text = str(value).strip()
        try:
            if len(text) == 10:
                return dt.date.fromisoformat(text), None
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise RowError("time", f"{text!r} is not a real ISO 8601 date or date-time") from None
    if moment.tzinfo is not None:
        zone = TIME_ZONES.get(destination)
        if zone is None:
            raise RowError("time", f"has an offset but no time zone is known for {destination}; give the local time")
        moment = moment.astimezone(ZoneInfo(zone))
    return moment.date(), moment.time().replace(tzinfo=None)


def parse_row(register: Register, row: dict, latest: dt.date | None = None, keys: dict | None = None) -> dict:
    """The row as a crossings record, or RowError naming the field. Never echoes the document number.

    `latest` is the last date accepted (today + tolerance), `keys` a cache of pseudonyms: both
    are per-run constants that a million-row ingest should not recompute for every row.
    """
    event_id = _text(row, "event_id")
    if len(event_id) > 128:
        raise RowError("event_id", "longer than 128 characters")
    try:
        issuing = country_code(_text(row, "issuing_state"), "issuing_state")
        nationality = country_code(_text(row, "nationality"), "nationality")
        destination = country_code(_text(row, "destination", False) or register.destination, "destination")
    except ValueError as exc:
        field, message = str(exc).split(": ", 1)
        raise RowError(field, message) from None
    number = _text(row, "document_number").replace("<", "").upper()
    if not (1 <= len(number) <= 20 and number.isascii() and number.isalnum()):
        raise RowError("document_number", "must be 1 to 20 letters and digits")
    direction = _text(row, "direction").lower()
    if direction not in ("entry", "exit"):
        raise RowError("direction", f"{direction!r} is not entry or exit")
    passport_type = (_text(row, "passport_type", False) or "ordinary").lower()
    if passport_type not in PASSPORT_TYPES:
        raise RowError("passport_type", f"{passport_type!r} is not one of {', '.join(PASSPORT_TYPES)}")
    expires = row.get("passport_expires")
    if expires not in (None, "") and not isinstance(expires, dt.date):
        try:
            expires = dt.date.fromisoformat(str(expires).strip())
        except ValueError:
            raise RowError("passport_expires", f"{expires!r} is not a real date (YYYY-MM-DD)") from None
    local_date, local_time = _local(register, row.get("time") if row.get("time") not in (None, "") else _text(row, "time"), destination)
    latest = latest or register.local_today() + register.future_tolerance
    if local_date > latest:
        raise RowError("time", f"{local_date} is in the future (latest accepted {latest})")
    border_post = _text(row, "border_post")
    if len(border_post) > 64:
        raise RowError("border_post", "longer than 64 characters")
    if keys is None:
        key = register.traveller_key(issuing, number)
    else:
        key = keys.get((issuing, number))
        if key is None:
            key = keys[(issuing, number)] = register.traveller_key(issuing, number)
    return dict(
        event_id=event_id, traveller_key=key, issuing_state=issuing,
        nationality=nationality, passport_type=passport_type, passport_expires=expires or None,
        direction=direction, destination=destination, border_post=border_post, local_date=local_date,
        local_time=local_time, source="ingest", withdraws=False,
    )


# -- the run --------------------------------------------------------------------------------


def ingest(
    register: Register, path: str | Path, *, fmt: str | None = None, rejects: str | Path | None = None,
    chunk_size: int = 2000, progress: bool = False, recorded_by: str = "ingest", report_unpaired: bool = True,
) -> Summary:
    path = Path(path)
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    kind = detect_format(path, fmt)
    reader = {"csv": _read_csv, "jsonl": _read_jsonl, "parquet": _read_parquet}[kind]
    rejects_path = Path(rejects) if rejects else path.with_name(path.name + ".rejects.csv")
    summary = Summary(str(path), rejects_file=str(rejects_path))
    touched: set[str] = set()
    total = parquet_rows(path) if kind == "parquet" else path.stat().st_size

    with open(rejects_path, "w", newline="", encoding="utf-8") as rejects_handle, _progress(progress, path, total) as advance:
        rejects_writer = csv.writer(rejects_handle)
        rejects_writer.writerow(["line", "event_id", "field", "reason"])
        chunk: list[tuple[int, dict]] = []
        recorded_at = register.clock()
        latest = register.local_today() + register.future_tolerance
        keys: dict = {}

        def flush():
            stored, duplicates = _store(register, chunk, recorded_by, recorded_at)
            summary.stored += stored
            summary.duplicates += duplicates
            chunk.clear()

        for line, row, error, consumed in reader(path):
            advance(consumed)
            if row is None and error is None:
                continue  # the header or a blank line: not a row
            summary.read += 1
            if error is None:
                try:
                    record = parse_row(register, row, latest, keys)
                except RowError as exc:
                    error = str(exc)
                else:
                    chunk.append((line, record))
                    touched.add(record["traveller_key"])
                    if len(chunk) >= chunk_size:
                        flush()
                    continue
            summary.rejected += 1
            field_name = error.split(":", 1)[0]
            rejects_writer.writerow([line, _safe_event_id(row), field_name, error])
        if chunk:
            flush()
    if report_unpaired:
        summary.unpaired = _unpaired(register, touched)
    return summary


def _safe_event_id(row: dict | None) -> str:
    value = (row or {}).get("event_id")
    return str(value)[:128] if value is not None else ""


COLUMNS = ("event_id", "traveller_key", "issuing_state", "nationality", "passport_type", "passport_expires",
           "direction", "destination", "border_post", "local_date", "local_time", "source", "withdraws",
           "recorded_by", "recorded_at")


def _store(register: Register, chunk: list[tuple[int, dict]], recorded_by: str, recorded_at) -> tuple[int, int]:
    """One transaction for the chunk; returns (stored, duplicates).

    Only a conflict on event_id is skipped (never INSERT OR IGNORE, which would also hide a
    broken constraint), and the count of rows actually inserted is the database's own.
    """
    seen: set[str] = set()
    unique = []
    for _line, record in chunk:
        if record["event_id"] in seen:
            continue  # the same event twice in one file
        seen.add(record["event_id"])
        unique.append(tuple({**record, "recorded_by": recorded_by, "recorded_at": recorded_at}[c] for c in COLUMNS))
    if not unique:
        return 0, len(chunk)
    with register.engine.begin() as conn:
        raw = conn.connection.dbapi_connection
        if conn.dialect.name == "postgresql":
            stored = _store_postgresql(raw, unique)
        else:
            stored = _store_sqlite(conn.dialect, raw, unique)
    return stored, len(chunk) - stored


def _store_postgresql(raw, rows) -> int:
    # COPY into a scratch table, then one INSERT ... SELECT: the fast path PostgreSQL offers,
    # with the unique index on event_id still deciding what is new.
    names = ", ".join(COLUMNS)
    with raw.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS ingest_chunk AS SELECT {names} FROM crossings WITH NO DATA")
        cursor.execute("TRUNCATE ingest_chunk")
        with cursor.copy(f"COPY ingest_chunk ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(f"INSERT INTO crossings ({names}) SELECT {names} FROM ingest_chunk "
                       "ON CONFLICT (event_id) DO NOTHING")
        return cursor.rowcount


def _store_sqlite(dialect, raw, rows) -> int:
    # The values go through SQLAlchemy's own SQLite conversions, so reads parse them back.
    processors = [s.crossings.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in COLUMNS]
    converted = [tuple(p(v) if p and v is not None else v for p, v in zip(processors, row)) for row in rows]
    cursor = raw.cursor()
    try:
        cursor.executemany(
            f"INSERT INTO crossings ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
            "ON CONFLICT (event_id) DO NOTHING", converted)
        return cursor.rowcount  # summed over the rows by sqlite3's executemany
    finally:
        cursor.close()


def _unpaired(register: Register, keys: set[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    c = s.crossings
    ordered = sorted(keys)
    with register.engine.connect() as conn:
        for start in range(0, len(ordered), 500):
            batch = ordered[start:start + 500]
            corrected = select(c.c.corrects).where(c.c.corrects.is_not(None), c.c.traveller_key.in_(batch))
            # Rows carry every attribute pair() reads, so no objects are built for a count.
            rows = conn.execute(
                select(c.c.id, c.c.traveller_key, c.c.destination, c.c.direction, c.c.local_date, c.c.local_time,
                       s.decisions.c.outcome)
                .select_from(c.outerjoin(s.decisions, s.decisions.c.crossing_id == c.c.id))
                .where(c.c.traveller_key.in_(batch), c.c.withdraws.is_(False), c.c.id.not_in(corrected))
            ).all()
            by_key: dict[tuple[str, str], list] = {}
            for row in rows:
                by_key.setdefault((row.traveller_key, row.destination), []).append(row)
            for crossings in by_key.values():
                for stay in pair(crossings):
                    if stay.unpaired:
                        counts[stay.unpaired] = counts.get(stay.unpaired, 0) + 1
    return counts


class _progress:
    """A Rich progress bar over bytes (CSV, JSON Lines) or rows (Parquet); silent when off."""

    def __init__(self, enabled: bool, path: Path, total: int):
        self.enabled, self.path, self.total = enabled, path, total

    def __enter__(self):
        if not self.enabled:
            return lambda _n: None
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeRemainingColumn

        self._bar = Progress("[progress.description]{task.description}", BarColumn(), TaskProgressColumn(),
                             TimeRemainingColumn(), transient=False)
        self._bar.__enter__()
        task = self._bar.add_task(f"ingest {self.path.name}", total=self.total or None)
        return lambda n: self._bar.advance(task, n)

    def __exit__(self, *exc):
        if self.enabled:
            self._bar.__exit__(*exc)
        return False
