"""Bulk ingest of crossing logs from other systems: CSV, JSON Lines or Parquet.

Every row read ends in exactly one place: stored, recognised as a duplicate (its event id is
already in the register, from an earlier run or earlier in this file), or written to the
rejects file with its line and reason; the summary says read = stored + duplicates + rejected.
Rows are committed in chunks, each chunk one transaction, so a run killed part-way keeps the
chunks it finished and a re-run stores the rest (the event id makes it idempotent).

Columns: event_id, issuing_state, document_number, nationality, direction (entry | exit),
time (ISO 8601: a local date-time, a date-time with an offset, or a date), border_post;
optional: passport_type (default ordinary), passport_expires, destination (default the
register's country), and on an entry the basis it was made on (docs/basis.md), in the columns a
batch log uses: basis (visa_free, the default; visa; residence_permit; long_stay_visa),
valid_from, valid_until, visa_entries, visa_duration_days, visa_kind. A time with an offset is
converted to the destination's local date (RULES.md "Days and time zones"). The raw document
number is hashed on reading and never written anywhere, the rejects file included.
"""

from __future__ import annotations

import collections
import csv
import datetime as dt
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

from sqlalchemy import select

from visafree.engine import LongStayVisa, ResidencePermit, Visa

from . import schema as s
from .countries import country_code
from . import validate as v
from .db import chunk_transaction, same_lock, wal_barrier
from .service import PASSPORT_TYPES, Register
from .zones import zone_for
from .timeline import basis_columns, pair

REQUIRED = ("event_id", "issuing_state", "document_number", "nationality", "direction", "time", "border_post")
#: An entry's basis (issue 13, docs/basis.md), in the columns and values of a batch log (docs/batch.md).
BASIS_FIELDS = ("basis", "valid_from", "valid_until", "visa_entries", "visa_duration_days", "visa_kind")
BASIS_CODES = ("visa_free", "visa", "residence_permit", "long_stay_visa")
OPTIONAL = ("passport_type", "passport_expires", "destination") + BASIS_FIELDS
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


_EVENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:#/@+-]{0,127}")


def _plausible_event_id(value: str) -> bool:
    return _EVENT_ID.fullmatch(value) is not None


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
        try:
            header = [h.strip() for h in next(csv.reader([header_text]), [])]
        except csv.Error:
            raise IngestError(f"{path}: line 1 (header) is not a CSV header") from None
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
            try:
                values = next(csv.reader([text]), [])
            except csv.Error:  # e.g. a field over csv's limit of 131,072 characters
                yield line, {}, f"fields: a field is longer than {v.MAX_CSV_FIELD} characters or the line is not CSV", len(raw)
                continue
            if any(len(value) > v.MAX_CSV_FIELD for value in values):
                yield line, {}, f"fields: a field is longer than {v.MAX_CSV_FIELD} characters", len(raw)
                continue
            if len(values) != len(header):
                hint = " (truncated line?)" if not raw.endswith(b"\n") or len(values) < len(header) else ""
                # No column can be trusted in a row of the wrong length (the first may be a document number).
                yield line, {}, f"fields: {len(values)} fields, the header has {len(header)}{hint}", len(raw)
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
            if (raw.count(b"[") + raw.count(b"{") > v.MAX_JSON_DEPTH) and not v.json_depth_ok(raw):
                yield line, {}, f"json: nested deeper than {v.MAX_JSON_DEPTH} levels", len(raw)
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                truncated = " (truncated line?)" if not raw.endswith(b"\n") else ""
                yield line, {}, f"json: {exc.msg} at column {exc.colno}{truncated}", len(raw)
                continue
            except (ValueError, RecursionError):  # a number of thousands of digits, say
                yield line, {}, "json: a value the register cannot read (a number too long?)", len(raw)
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


def _text(row: dict, name: str, required: bool = True, limit: int | None = None) -> str:
    value = row.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise RowError(name, "missing")
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise RowError(name, f"must be text, not {type(value).__name__}")
    value = str(value)
    try:
        return v.text(value, name, limit=limit or v.LIMITS.get(name, 64))
    except v.InvalidInput as exc:
        raise RowError(name, str(exc).split(": ", 1)[1]) from None


def _local(register: Register, value, destination: str, border_post: str = "") -> tuple[dt.date, dt.time | None]:
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
        # The post's own zone where it has one (data/border_posts.toml), else the country's.
        zone = zone_for(destination, border_post)
        if zone is None:
            raise RowError("time", f"has an offset but {destination} has several time zones and the post's is not "
                                   "known; give the local time")
        moment = moment.astimezone(zone)
    return moment.date(), moment.time().replace(tzinfo=None)


def _field(row: dict, name: str, memo: dict | None, parse):
    """`parse(row)` for a column whose values repeat (a country, a post, a direction): each
    distinct raw value is checked once per run, its answer (or its refusal) remembered."""
    if memo is None:
        return parse(row)
    raw = row.get(name)
    try:
        cache_key = (name, raw)
        hit = memo.get(cache_key)
    except TypeError:  # an unhashable value (a list from JSON): no caching
        return parse(row)
    if hit is None:
        try:
            hit = (True, parse(row))
        except RowError as exc:
            hit = (False, exc)
        if len(memo) < 100_000:
            memo[cache_key] = hit
    if hit[0]:
        return hit[1]
    raise RowError(hit[1].field, str(hit[1]).split(": ", 1)[1])


def _country(name: str, default: str | None = None):
    def parse(row):
        value = _text(row, name, default is None) or default
        try:
            return country_code(value, name)
        except ValueError as exc:
            raise RowError(name, str(exc).split(": ", 1)[1]) from None
    return parse


def _direction(row) -> str:
    direction = _text(row, "direction").lower()
    if direction not in ("entry", "exit"):
        raise RowError("direction", f"{direction!r} is not entry or exit")
    return direction


def _passport_type(row) -> str:
    passport_type = (_text(row, "passport_type", False) or "ordinary").lower()
    if passport_type not in PASSPORT_TYPES:
        raise RowError("passport_type", f"{passport_type!r} is not one of {', '.join(PASSPORT_TYPES)}")
    return passport_type


def _date(row, name: str):
    """An optional date: a date, a date-time (its day) or ISO text; None when absent."""
    value = row.get(name)
    if isinstance(value, dt.datetime):
        return value.date()
    if value not in (None, "") and not isinstance(value, dt.date):
        text = _text(row, name, limit=10)
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise RowError(name, f"{text!r} is not a real date (YYYY-MM-DD)") from None
    return value or None


def _expires(row):
    return _date(row, "passport_expires")


def _days(row, name: str = "visa_duration_days"):
    """An optional whole number of days (text or a number); its range is stay_basis's to check."""
    value = row.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = _text(row, name, limit=12)
    if not text.isascii() or not text.isdigit():
        raise RowError(name, f"{text!r} is not a whole number of days")
    return int(text)


#: validate.stay_basis names the fields of its Basis; the file names them as its columns.
_BASIS_COLUMN = {"basis.valid_from": "valid_from", "basis.valid_until": "valid_until",
                 "basis.entries": "visa_entries", "basis.kind": "visa_kind", "basis.duration_days": "visa_duration_days"}


def _basis(row):
    """The basis an entry was made on (None: visa-free), checked as the desk checks one."""
    code = (_text(row, "basis", False) or "visa_free").lower()
    if code == "visa_free":
        return None
    if code == "long_stay_visa":
        basis = LongStayVisa()
    elif code == "residence_permit":
        basis = ResidencePermit(_date(row, "valid_until"))
    elif code == "visa":
        basis = Visa(_date(row, "valid_from"), _date(row, "valid_until"),
                     (_text(row, "visa_entries", False) or "multiple").lower(),
                     (_text(row, "visa_kind", False) or "short_stay").lower(), _days(row))
    else:
        raise RowError("basis", f"{code!r} is not one of {', '.join(BASIS_CODES)}")
    try:
        return v.stay_basis(basis)
    except v.InvalidInput as exc:
        raise RowError(_BASIS_COLUMN.get(exc.field, "basis"), str(exc).split(": ", 1)[1]) from None


def _post(row) -> str:
    return _text(row, "border_post")


_ISSUING, _NATIONALITY = _country("issuing_state"), _country("nationality")


def parse_row(register: Register, row: dict, latest: dt.date | None = None, keys: dict | None = None,
              memo: dict | None = None) -> dict:
    """The row as a crossings record, or RowError naming the field. Never echoes the document number.

    `latest` is the last date accepted (today + tolerance), `keys` a cache of pseudonyms and
    `memo` of checked repeating values: per-run constants that a million-row ingest should not
    recompute for every row.
    """
    event_id = _text(row, "event_id")
    issuing = _field(row, "issuing_state", memo, _ISSUING)
    nationality = _field(row, "nationality", memo, _NATIONALITY)
    destination = _field(row, "destination", memo, _country("destination", register.destination))
    number = _text(row, "document_number").replace("<", "").upper()
    if not (1 <= len(number) <= 20 and number.isascii() and number.isalnum()):
        raise RowError("document_number", "must be 1 to 20 letters and digits")
    direction = _field(row, "direction", memo, _direction)
    passport_type = _field(row, "passport_type", memo, _passport_type)
    expires = _field(row, "passport_expires", memo, _expires)
    border_post = _field(row, "border_post", memo, _post)
    moment = row.get("time")
    if not isinstance(moment, (dt.date, dt.datetime)):
        moment = _text(row, "time", limit=40)
    local_date, local_time = _local(register, moment, destination, border_post)
    latest = latest or register.local_today() + register.future_tolerance
    if local_date > latest:
        raise RowError("time", f"{local_date} is in the future (latest accepted {latest})")
    # Read on entries only, as in a batch log: an exit ends the stay its entry began.
    basis = _basis(row) if direction == "entry" else None
    if keys is None:
        key = register.traveller_key(issuing, number)
    else:
        key = keys.get((issuing, number))
        if key is None:
            key = keys[(issuing, number)] = register.traveller_key(issuing, number)
    return dict(
        event_id=event_id, traveller_key=key, issuing_state=issuing,
        nationality=nationality, passport_type=passport_type, passport_expires=expires,
        direction=direction, destination=destination, border_post=border_post, local_date=local_date,
        local_time=local_time, source="ingest", withdraws=False, **basis_columns(basis),
    )


# -- the run --------------------------------------------------------------------------------

#: What a crossing is: two rows with one event_id and these equal are the same event (a
#: duplicate); any difference is a conflict, rejected, never silently dropped (issue 10).
#: The crossing's columns of an entry's basis (stay_basis, visa_kind, basis_valid_from, ...).
STAY_BASIS_COLUMNS = tuple(basis_columns(None))
CONTENT = ("traveller_key", "issuing_state", "nationality", "passport_type", "passport_expires", "direction",
           "destination", "border_post", "local_date", "local_time") + STAY_BASIS_COLUMNS
EVENT_ID_CONFLICT = "event_id_conflict"


def ingest(
    register: Register, path: str | Path, *, fmt: str | None = None, rejects: str | Path | None = None,
    chunk_size: int = 10_000, progress: bool = False, recorded_by: str = "ingest", report_unpaired: bool = True,
    writers: int | None = None,
) -> Summary:
    """Ingest a crossing log. The file is read and every row checked first; then the rows are
    stored traveller by traveller, all of one traveller's rows in the same transaction (with
    that traveller's lock, the one the desk takes), so a desk never decides on half of the
    history this file brings. A transaction holds whole travellers, about `chunk_size` rows.

    On PostgreSQL `writers` transactions (default: one per CPU, at most 4) store chunks at once,
    on connections of their own: the server's work (parsing, index upkeep) is most of an ingest
    and one backend uses one core. Their chunks hold disjoint lock buckets (db.lock_ids), so
    they never wait on each other's locks. SQLite has one writer at a time: one there."""
    path = Path(path)
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    kind = detect_format(path, fmt)
    reader = {"csv": _read_csv, "jsonl": _read_jsonl, "parquet": _read_parquet}[kind]
    rejects_path = Path(rejects) if rejects else path.with_name(path.name + ".rejects.csv")
    summary = Summary(str(path), rejects_file=str(rejects_path))
    total = parquet_rows(path) if kind == "parquet" else path.stat().st_size

    with _open_rejects(rejects_path) as rejects_handle, _progress(progress, path, total) as advance:
        rejects_writer = csv.writer(rejects_handle)
        rejects_writer.writerow(["line", "event_id", "field", "reason"])
        recorded_at = register.clock()
        latest = register.local_today() + register.future_tolerance
        fast = None
        if kind == "parquet" and register.engine.dialect.name == "postgresql":
            fast, rows = _parquet_split(register, path, latest)
            if fast is not None:
                summary.read += fast.rows
                advance(fast.rows)
                reader = lambda _path: rows  # noqa: E731 - the rows the vectorised checks left
        keys: dict = {}
        memo: dict = {}
        by_event: dict[str, tuple] = {}  # event_id -> (line, record) of its first row in this file
        by_traveller: dict[str, list[tuple[int, tuple]]] = {}

        def reject(line, event_id, field_name, reason):
            summary.rejected += 1
            rejects_writer.writerow([line, event_id, field_name, reason])

        for line, row, error, consumed in reader(path):
            advance(consumed)
            if row is None and error is None:
                continue  # the header or a blank line: not a row
            summary.read += 1
            if error is None:
                try:
                    record = parse_row(register, row, latest, keys, memo)
                except RowError as exc:
                    error = str(exc)
                else:
                    values = tuple(record.get(c) for c in ROW_COLUMNS[:-2]) + (recorded_by, recorded_at)
                    first = by_event.get(record["event_id"])
                    if first is None:
                        by_event[record["event_id"]] = (line, values)
                        by_traveller.setdefault(record["traveller_key"], []).append((line, values))
                    elif _content(first[1]) == _content(values):
                        summary.duplicates += 1  # the same event twice in one file
                    else:
                        reject(line, record["event_id"], "event_id",
                               f"event_id: {EVENT_ID_CONFLICT}: line {first[0]} has the same event_id with other content")
                    continue
            field_name = error.split(":", 1)[0]
            reject(line, _safe_event_id(row, field_name), field_name, error)
        by_event.clear()

        def counted(result):
            stored, duplicates, conflicts = result
            summary.stored += stored
            summary.duplicates += duplicates
            for line, event_id in conflicts:
                reject(line, event_id, "event_id",
                       f"event_id: {EVENT_ID_CONFLICT}: the register holds this event_id with other content")

        fast_keys: set[str] = set()
        with _Writers(register, writers, counted) as store:
            if fast is not None:
                from .fastpath import chunks

                for rows_of_chunk in chunks(fast, chunk_size, apart=store.writers):
                    store(_store_fast, register, fast, rows_of_chunk, recorded_by, recorded_at)
                if report_unpaired:
                    fast_keys.update(fast.keys())

            # Sorted keys: each transaction takes its locks in the global order, like the desk.
            chunk: list[tuple[int, tuple]] = []
            chunk_keys: list[str] = []
            ordered = sorted(by_traveller)
            for at, key in enumerate(ordered):
                chunk.extend(by_traveller[key])
                chunk_keys.append(key)
                # A chunk ends on a lock bucket's edge, as the fast path's do (db.same_lock).
                if len(chunk) >= chunk_size and (at + 1 == len(ordered) or not same_lock(ordered[at + 1], key)):
                    store(_store, register, chunk_keys, chunk)
                    chunk, chunk_keys = [], []
            if chunk:
                store(_store, register, chunk_keys, chunk)
        # The chunks' commits did not wait for the disk (db.chunk_transaction): now everything
        # stored is, before the summary says so.
        wal_barrier(register.engine)
    if report_unpaired:
        summary.unpaired = _unpaired(register, set(by_traveller) | fast_keys)
    return summary


class _Writers:
    """Chunks stored by a few threads at once (PostgreSQL) or in turn (SQLite), their results
    counted in the calling thread in the order the chunks were given, so the rejects file and
    the summary are written by one thread only. At most two chunks per writer wait in line,
    which bounds the memory a long file takes. The first failure stops the run: chunks already
    committed stay (a re-run counts them as duplicates), the others are not started."""

    def __init__(self, register: Register, writers: int | None, counted):
        if register.engine.dialect.name != "postgresql":
            writers = 1
        elif writers is None:
            writers = max(1, min(4, os.cpu_count() or 1))
        self.writers, self.counted = writers, counted
        self.pending: collections.deque = collections.deque()
        self.pool = ThreadPoolExecutor(writers, thread_name_prefix="ingest") if writers > 1 else None

    def __enter__(self):
        return self

    def __call__(self, work, *args) -> None:
        if self.pool is None:
            self.counted(work(*args))
            return
        self.pending.append(self.pool.submit(work, *args))
        while len(self.pending) > 2 * self.writers or (self.pending and self.pending[0].done()):
            self.counted(self.pending.popleft().result())

    def __exit__(self, exc_type, *_exc) -> None:
        if self.pool is None:
            return
        try:
            if exc_type is None:
                while self.pending:
                    self.counted(self.pending.popleft().result())
        finally:
            for future in self.pending:
                future.cancel()
            self.pool.shutdown(wait=True)


def _parquet_split(register: Register, path: Path, latest: dt.date):
    """(rows stored column by column, an iterator of the other rows for the row path)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .fastpath import split

    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise IngestError(f"{path}: not a complete Parquet file (truncated or another format?): {exc}") from None
    missing = [c for c in REQUIRED if c not in table.column_names]
    if missing:
        raise IngestError(f"{path}: the file lacks the column(s) {', '.join(missing)}")
    try:
        fast, slow = split(register, table, latest)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None, None  # a type the kernels do not take: the row path reads the whole file
    if fast is None:
        return None, None

    def rows():
        for index, row in zip(slow, table.take(slow).to_pylist() if slow else []):
            yield index + 1, row, None, 1

    return fast, rows()


def _store_fast(register: Register, fast, rows, recorded_by: str, recorded_at) -> tuple[int, int, list]:
    """The rows `rows` of the table checked column by column (whole lock buckets): COPY in the
    binary format; what was there already is told apart in SQL. Taking the rows and encoding them
    are Arrow's work, done here in the writer's thread without the GIL, beside the other writers."""
    import psycopg
    import pyarrow.compute as pc

    from .fastpath import copy_binary

    names = ", ".join(COLUMNS)
    # In key order: the traveller index takes its new entries page by page, not at random. The
    # order is found on the keys alone, so the chunk's rows are taken once, already in it.
    order = pc.take(rows, pc.sort_indices(pc.take(fast.table["traveller_key"], rows)))
    piece = fast.table.take(order)
    keys = piece["traveller_key"].unique().to_pylist()
    data = copy_binary(piece, recorded_by, recorded_at)
    with chunk_transaction(register.engine, tuple(keys)) as conn:
        raw = conn.connection.dbapi_connection
        with raw.cursor() as cursor:
            # The common case, a log not seen before: the rows go straight into the table (a
            # third less work for the server than through the scratch table), with no look-up
            # first. An event id already on file (a re-run, a conflict, another traveller's
            # crossing taking one of these ids meanwhile) makes the COPY fail on the unique
            # index: back to the savepoint, and the scratch-table path below tells the rows apart.
            try:
                with raw.transaction():  # a savepoint inside the chunk's transaction
                    with cursor.copy(f"COPY crossings ({names}) FROM STDIN (FORMAT binary)") as copy:
                        copy.write(data)
                return piece.num_rows, 0, []
            except psycopg.errors.UniqueViolation:
                pass
            _scratch_table(cursor)
            with cursor.copy(f"COPY ingest_chunk ({names}) FROM STDIN (FORMAT binary)") as copy:
                copy.write(data)
            cursor.execute(f"INSERT INTO crossings ({names}) SELECT {names} FROM ingest_chunk "
                           "ON CONFLICT (event_id) DO NOTHING RETURNING event_id")
            stored = {r[0] for r in cursor.fetchall()}
            if len(stored) == piece.num_rows:
                return len(stored), 0, []
            same = ", ".join(f"c.{c}" for c in CONTENT)
            other = ", ".join(f"s.{c}" for c in CONTENT)
            cursor.execute(f"SELECT s.event_id, ({same}) IS NOT DISTINCT FROM ({other}) FROM ingest_chunk s "
                           "JOIN crossings c USING (event_id)")
            existing = {r[0]: r[1] for r in cursor.fetchall() if r[0] not in stored}
    lines = dict(zip(piece["event_id"].to_pylist(), piece["line"].to_pylist()))
    duplicates = sum(1 for same_content in existing.values() if same_content)
    conflicts = [(lines[e], e) for e, same_content in existing.items() if not same_content]
    return len(stored), duplicates, conflicts


def _content(values: tuple) -> tuple:
    return tuple(values[i] for i in _CONTENT_INDEX)


def _open_rejects(path: Path):
    """The rejects file, owner-only from its first byte (issue 10: it was 0644)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its old mode through O_CREAT
    return os.fdopen(fd, "w", newline="", encoding="utf-8")


def _safe_event_id(row: dict | None, field_name: str = "") -> str:
    """The event id for the rejects file, or nothing when it cannot be trusted to be one: a
    short or shifted row may carry another column (a document number) in its place."""
    if field_name in ("fields", "encoding", "json", "event_id"):
        return ""
    value = (row or {}).get("event_id")
    if not isinstance(value, str):
        return ""
    number = (row or {}).get("document_number")
    if isinstance(number, str) and number.strip() and number.replace("<", "").strip().upper() in value.upper():
        return ""  # the event id holds the document number: never written out
    return value[:128] if _plausible_event_id(value) else ""


#: The columns the column-by-column path (fastpath.copy_binary) writes: a visa-free crossing's.
COLUMNS = ("event_id", "traveller_key", "issuing_state", "nationality", "passport_type", "passport_expires",
           "direction", "destination", "border_post", "local_date", "local_time", "source", "withdraws",
           "recorded_by", "recorded_at")
#: The row path's: an entry's basis too (timeline.basis_columns), before the two every row shares.
ROW_COLUMNS = COLUMNS[:-2] + STAY_BASIS_COLUMNS + COLUMNS[-2:]
_CONTENT_INDEX = tuple(ROW_COLUMNS.index(c) for c in CONTENT)


def _scratch_table(cursor) -> None:
    """ingest_chunk, a session's scratch copy of the crossings' row columns, emptied by
    PostgreSQL itself at each commit (no dead rows piling up chunk after chunk)."""
    cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS ingest_chunk ON COMMIT DELETE ROWS AS "
                   f"SELECT {', '.join(ROW_COLUMNS)} FROM crossings WITH NO DATA")


def _store(register: Register, keys: list[str], chunk: list[tuple[int, tuple]]) -> tuple[int, int, list[tuple[int, str]]]:
    """One transaction for whole travellers, holding their locks; returns (stored, duplicates,
    conflicts as (line, event_id)). Only a conflict on event_id is skipped (never INSERT OR
    IGNORE, which would also hide a broken constraint), and what is stored is the database's word."""
    with chunk_transaction(register.engine, tuple(keys)) as conn:
        raw = conn.connection.dbapi_connection
        if conn.dialect.name == "postgresql":
            return _store_postgresql(raw, chunk)
        return _store_sqlite(conn, raw, chunk)


def _classify(chunk, stored_ids: set[str], existing: dict[str, tuple]) -> tuple[int, int, list[tuple[int, str]]]:
    duplicates, conflicts = 0, []
    for line, values in chunk:
        event_id = values[0]
        if event_id in stored_ids:
            continue
        other = existing.get(event_id)
        if other is not None and other == _content(values):
            duplicates += 1
        else:
            conflicts.append((line, event_id))
    return len(stored_ids), duplicates, conflicts


_PG_CONTENT_SELECT = ", ".join(f"c.{c}" for c in CONTENT)


def _store_postgresql(raw, chunk) -> tuple[int, int, list[tuple[int, str]]]:
    # COPY into a scratch table, then one set-based INSERT ... SELECT: the fast path PostgreSQL
    # offers, with the unique index on event_id still deciding what is new.
    names = ", ".join(ROW_COLUMNS)
    with raw.cursor() as cursor:
        _scratch_table(cursor)
        with cursor.copy(f"COPY ingest_chunk ({names}) FROM STDIN") as copy:
            for _line, values in chunk:
                copy.write_row(values)
        cursor.execute(f"INSERT INTO crossings ({names}) SELECT {names} FROM ingest_chunk "
                       "ON CONFLICT (event_id) DO NOTHING RETURNING event_id")
        stored = {r[0] for r in cursor.fetchall()}
        existing = {}
        if len(stored) < len(chunk):
            cursor.execute(f"SELECT c.event_id, {_PG_CONTENT_SELECT} FROM crossings c JOIN ingest_chunk s USING (event_id)")
            existing = {r[0]: tuple(r[1:]) for r in cursor.fetchall() if r[0] not in stored}
    return _classify(chunk, stored, existing)


def _store_sqlite(conn, raw, chunk) -> tuple[int, int, list[tuple[int, str]]]:
    # BEGIN IMMEDIATE (write_transaction) holds the write lock: what is read here stays true.
    dialect = conn.dialect
    ids = [values[0] for _line, values in chunk]
    existing: dict[str, tuple] = {}
    c = s.crossings
    for start in range(0, len(ids), 500):
        for row in conn.execute(select(c.c.event_id, *[c.c[name] for name in CONTENT]).where(c.c.event_id.in_(ids[start:start + 500]))):
            existing[row[0]] = tuple(row[1:])
    new = [(line, values) for line, values in chunk if values[0] not in existing]
    # The values go through SQLAlchemy's own SQLite conversions, so reads parse them back.
    processors = [s.crossings.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in ROW_COLUMNS]
    converted = [tuple(p(v) if p and v is not None else v for p, v in zip(processors, values)) for _line, values in new]
    cursor = raw.cursor()
    try:
        cursor.executemany(
            f"INSERT INTO crossings ({', '.join(ROW_COLUMNS)}) VALUES ({', '.join('?' * len(ROW_COLUMNS))})", converted)
    finally:
        cursor.close()
    return _classify(chunk, {values[0] for _line, values in new}, existing)


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
