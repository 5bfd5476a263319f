"""Bulk ingest of Parquet logs, column by column (issue 10, item 6: PostgreSQL ingest at least
5x faster). The rows whose every field passes the same checks as `ingest.parse_row`, computed
with Arrow's vectorised kernels, are stored without a Python object per row: PostgreSQL gets
them through COPY in its binary format. Every other row, and every row of a traveller who has one, or
of an event id seen twice in the file, takes the row-by-row path, which names its reason; so
the result is the same, row for row, as the row path alone (tests/register/test_ingest.py
compares the two)."""

from __future__ import annotations

import array
import contextlib
import datetime as dt
import struct
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from .countries import KNOWN_CODES
from .db import lock_bucket
from .service import PASSPORT_TYPES, Register
from .zones import default_zone

# RE2 syntax (Arrow's kernels): the characters validate.py forbids.
FORBIDDEN = "[\\x{00}-\\x{1f}\\x{7f}-\\x{9f}\\x{2028}\\x{2029}\\x{feff}]"


def _clean_text(column: pa.ChunkedArray, limit: int) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    """(stripped text, ok mask): present, not blank, within `limit` (forbidden characters:
    _no_forbidden)."""
    text = pc.utf8_trim_whitespace(column)
    length = pc.utf8_length(text)
    ok = pc.and_(pc.is_valid(text), pc.and_(pc.greater(length, 0), pc.less_equal(length, limit)))
    return text, pc.fill_null(ok, False)


def _no_forbidden(column: pa.ChunkedArray) -> pa.Array:
    """Per row: no FORBIDDEN character in the column (a null counts as clean: each column's own
    checks reject a missing value). Printable ASCII, nearly every value, is cleared by a byte
    test: within ASCII the forbidden characters are exactly the unprintable ones (0x00-0x1f,
    0x7f). Only the other values, with a control character or beyond ASCII, go through the
    regular expression: a pass of RE2 over every column was a third of the checks' time."""
    printable = _one_array(pc.fill_null(pc.ascii_is_printable(column), True))
    doubtful = pc.invert(printable)
    others = pc.filter(column, doubtful)
    if len(others) == 0:
        return printable
    return pc.replace_with_mask(printable, doubtful, _one_array(pc.invert(pc.match_substring_regex(others, FORBIDDEN))))


def _one_array(values):
    """A chunked array as one array (replace_with_mask takes no chunks)."""
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _number_form_ok(number: pa.ChunkedArray) -> pa.ChunkedArray:
    """An upper-cased document number's form, ^[A-Z0-9]{1,20}$, without a regular expression:
    non-empty ASCII letters and digits (no lower case survives the upper-casing), 20 at most."""
    return pc.and_(pc.ascii_is_alnum(number), pc.less_equal(pc.binary_length(number), 20))


class Checked(NamedTuple):
    """The file checked column by column: `table` holds every row in the crossings' columns plus
    `line` and the lock `bucket`, but only the rows whose indexes are in `ready` are valid."""

    table: pa.Table
    ready: pa.Array

    @property
    def rows(self) -> int:
        return len(self.ready)

    def keys(self) -> list[str]:
        """The ready rows' travellers."""
        return pc.unique(pc.take(self.table["traveller_key"], self.ready)).to_pylist()


def split(register: Register, table: pa.Table, latest: dt.date) -> tuple[Checked | None, list[int]]:
    """(the rows ready to store; the 0-based indexes of the rows for the row-by-row path). None
    when the file's types do not suit the vectorised checks: then every row takes the row path."""
    with _system_memory():
        return _split(register, table, latest)


@contextlib.contextmanager
def _system_memory():
    """The checks' arrays allocated by the C library's malloc: with pyarrow's default pool
    (mimalloc) the one pass an ingest makes over a file took twice as long (0.35 s against
    0.17 s for bench_register's 200,000 rows), its first use of fresh memory being the slow
    part. The pool is process-wide, so it is set back at once; each array remembers its pool."""
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


def _split(register: Register, table: pa.Table, latest: dt.date) -> tuple[Checked | None, list[int]]:
    names = set(table.column_names)
    string = pa.string()
    needed = ("event_id", "issuing_state", "document_number", "nationality", "direction", "border_post")
    if any(table.schema.field(n).type not in (string, pa.large_string()) for n in needed):
        return None, list(range(table.num_rows))
    time_type = table.schema.field("time").type
    if not ((pa.types.is_timestamp(time_type) and time_type.tz is None) or pa.types.is_date(time_type)):
        return None, list(range(table.num_rows))  # offsets or text times: the row path converts them
    for optional in ("destination", "passport_type", "basis"):
        if optional in names and table.schema.field(optional).type not in (string, pa.large_string()):
            return None, list(range(table.num_rows))
    if "passport_expires" in names and not pa.types.is_date(table.schema.field("passport_expires").type) \
            and not pa.types.is_timestamp(table.schema.field("passport_expires").type):
        return None, list(range(table.num_rows))
    if "destination" in names or default_zone(register.destination) is None:
        return None, list(range(table.num_rows))  # one destination, the register's: the common case

    n = table.num_rows
    codes = pa.array(sorted(KNOWN_CODES))
    norm = {}
    for name in ("issuing_state", "nationality"):
        norm[name] = pc.utf8_upper(pc.replace_substring(pc.utf8_trim_whitespace(table[name]), "<", ""))
    number = pc.utf8_upper(pc.replace_substring(pc.utf8_trim_whitespace(table["document_number"]), "<", ""))
    # The documents first: their pseudonyms (one HMAC per document, in Python, holding the GIL)
    # are made in a thread while the checks below run in Arrow's kernels, which release it.
    raw_key = pc.binary_join_element_wise(pc.fill_null(norm["issuing_state"], ""), pc.fill_null(number, ""), "\x1f")
    document_ok = pc.fill_null(pc.and_(pc.is_in(norm["issuing_state"], value_set=codes), _number_form_ok(number)),
                               False)
    documents = pc.unique(pc.filter(raw_key, document_ok))
    with ThreadPoolExecutor(1, thread_name_prefix="pseudonyms") as pool:
        keyed = pool.submit(_pseudonyms, register, documents)
        ok = document_ok
        event_id, good = _clean_text(table["event_id"], 128)
        ok = pc.and_(ok, good)
        ok = pc.and_(ok, pc.fill_null(pc.is_in(norm["nationality"], value_set=codes), False))
        direction = pc.utf8_lower(pc.utf8_trim_whitespace(table["direction"]))
        ok = pc.and_(ok, pc.fill_null(pc.is_in(direction, value_set=pa.array(["entry", "exit"])), False))
        post, good = _clean_text(table["border_post"], 64)
        ok = pc.and_(ok, good)
        for name in ("event_id", "issuing_state", "nationality", "document_number", "direction", "border_post",
                     "passport_type", "basis"):
            if name in names:
                ok = pc.and_(ok, _no_forbidden(table[name]))
        if "basis" in names:
            # Visa-free crossings only (no basis, or visa_free): a visa's or a permit's entry, and
            # its traveller, take the row path, which reads and checks the basis's columns.
            basis = pc.utf8_lower(pc.utf8_trim_whitespace(table["basis"]))
            ok = pc.and_(ok, pc.or_(pc.is_null(basis), pc.is_in(basis, value_set=pa.array(["", "visa_free"]))))
        if "passport_type" in names:
            kind = pc.utf8_lower(pc.utf8_trim_whitespace(table["passport_type"]))
            blank = pc.or_(pc.is_null(kind), pc.equal(pc.utf8_length(kind), 0))
            kind = pc.if_else(blank, "ordinary", kind)
            ok = pc.and_(ok, pc.fill_null(pc.is_in(kind, value_set=pa.array(list(PASSPORT_TYPES))), False))
        else:
            kind = pa.repeat("ordinary", n)
        expires = pc.cast(table["passport_expires"], pa.date32()) if "passport_expires" in names else pa.nulls(n, pa.date32())
        moment = table["time"]
        ok = pc.and_(ok, pc.is_valid(moment))
        local_date = pc.cast(moment, pa.date32())  # the day (of a timestamp: floored, before 1970 too)
        local_time = (pc.cast(moment, pa.time64("us")) if pa.types.is_timestamp(time_type)  # the time of day
                      else pa.nulls(n, pa.time64("us")))  # a log of dates: no time
        ok = pc.and_(ok, pc.fill_null(pc.less_equal(local_date, pa.scalar(latest, pa.date32())), False))
        # An event id twice in the file: duplicates or conflicts, which the row path tells apart.
        if len(pc.unique(event_id)) < n:  # the counts only when there is a repeat (cheaper)
            counts = pc.value_counts(event_id)
            repeated = counts.filter(pc.greater(counts.field("counts"), 1)).field("values")
            ok = pc.and_(ok, pc.invert(pc.fill_null(pc.is_in(event_id, value_set=repeated), False)))
        ok = pc.fill_null(ok, False)
        # A traveller with any row for the row path goes there whole (their rows commit together).
        slow_keys = pc.unique(pc.filter(raw_key, pc.invert(ok)))
        ok = pc.and_(ok, pc.invert(pc.is_in(raw_key, value_set=slow_keys)))
        ready = pc.indices_nonzero(ok)
        slow = pc.indices_nonzero(pc.invert(ok)).to_pylist()
        pseudonyms, buckets = keyed.result()
    if len(ready) == 0:
        return None, slow

    # Every row of the file, in the crossings' columns: only `ready`'s are stored, each writer
    # taking its chunk's rows (ingest._store_fast), so no copy of the ready rows is made here.
    of_row = pc.index_in(raw_key, value_set=documents)
    checked = pa.table({
        "event_id": event_id, "traveller_key": pc.take(pseudonyms, of_row),
        "issuing_state": norm["issuing_state"], "nationality": norm["nationality"], "passport_type": kind,
        "passport_expires": expires, "direction": direction, "destination": pa.repeat(register.destination, n),
        "border_post": post, "local_date": local_date, "local_time": local_time,
        "line": pa.arange(1, n + 1),
        # The traveller's lock bucket (db.lock_bucket), by which chunks() groups the rows.
        "bucket": pc.take(buckets, of_row),
    })
    return Checked(checked, ready), slow


#: Documents per slice of _pseudonyms, about a millisecond of HMACs.
_PSEUDONYM_SLICE = 1_000


def _pseudonyms(register: Register, documents: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(each document's pseudonym, its lock bucket), in the order of `documents`. In slices,
    giving up the GIL after each: the checks in the other thread need it back at the end of every
    kernel, and a thread that never lets go hands it over only at the switch interval (5 ms), so
    the checks waited there at every step (0.15 s for bench_register's 200,000 rows, 0.11 s so)."""
    documents = documents.to_pylist()
    keys: list[str] = []
    for start in range(0, len(documents), _PSEUDONYM_SLICE):
        keys += register.traveller_keys(documents[start:start + _PSEUDONYM_SLICE])
        time.sleep(0)  # lets a thread waiting for the GIL take it
    return pa.array(keys, pa.string()), pa.array([lock_bucket(key) for key in keys], pa.int16())


def chunks(checked: Checked, size: int, apart: int = 1) -> list[pa.Array]:
    """The row indexes (into checked.table) of slices of about `size` ready rows that never
    split a lock bucket (so never a traveller, and two writers' chunks never wait for each
    other). A small sort of bucket numbers, not of keys; each writer takes its own rows
    (ingest._store_fast), in parallel.

    In `apart` interleaved runs through the bucket order (with 2: the first chunk, the one
    half-way, the second, the one after half-way...), so that the chunks `apart` writers store at
    once lie far apart in the key space: each writer's inserts then land in its own part of
    the traveller index rather than in the pages beside another's (bench_register, 2 writers:
    4.5% more rows/s, medians of 12 fresh-process ingests). Every transaction takes its own
    locks in the one global order, so the chunks' order does not matter for deadlocks."""
    buckets = pc.take(checked.table["bucket"], checked.ready)
    order = pc.take(checked.ready, pc.sort_indices(buckets))
    counts = pc.value_counts(buckets)
    per_bucket = dict(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()))
    slices, start, end = [], 0, 0
    for bucket in sorted(per_bucket):
        end += per_bucket[bucket]
        if end - start >= size:
            slices.append(order.slice(start, end - start))
            start = end
    if end > start:
        slices.append(order.slice(start, end - start))
    step = -(-len(slices) // max(1, apart))  # ceil: the length of each run
    return [slices[i] for first in range(step) for i in range(first, len(slices), step)]


# PostgreSQL's binary COPY format (the COPY page of its manual, "Binary Format"): a signature,
# flags and header extension; per row the field count (int16), then per field its length
# (int32, -1 for NULL) and its bytes; a trailer of -1. Binary fields spare the server parsing
# text (a fifth of its work in an ingest: bench_register's COPY of 200,000 rows took 0.87 s
# binary, 1.12 s as CSV). Integers are big-endian; dates count days, times and timestamps
# microseconds, from 2000-01-01.
_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_TRAILER = struct.pack(">h", -1)
_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
_EPOCH_DAYS = (_EPOCH.date() - dt.date(1970, 1, 1)).days
#: The columns of the table, in ingest.COLUMNS' order before the four that every row of an
#: ingest shares (source, withdraws, recorded_by, recorded_at).
_VARYING = ("event_id", "traveller_key", "issuing_state", "nationality", "passport_type", "passport_expires",
            "direction", "destination", "border_post", "local_date", "local_time")


def _big_endian(values: pa.Array) -> pa.Array:
    """32- or 64-bit integers as big-endian bytes, with their nulls."""
    code = {pa.int32(): "i", pa.int64(): "q"}[values.type]
    width = array.array(code).itemsize
    data = array.array(code)
    data.frombytes(memoryview(values.buffers()[1])[values.offset * width:(values.offset + len(values)) * width])
    if sys.byteorder == "little":
        data.byteswap()
    fixed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), len(values), [None, pa.py_buffer(data.tobytes())])
    fixed = fixed.cast(pa.large_binary())
    return fixed if values.null_count == 0 else pc.if_else(pc.is_valid(values), fixed, pa.scalar(None, pa.large_binary()))


def _length(payload: pa.Array) -> pa.Array:
    """Each field's length as COPY puts it before the field: -1 for NULL."""
    return _big_endian(pc.fill_null(pc.binary_length(payload), -1).cast(pa.int32()))


def _constant(value: bytes) -> bytes:
    return struct.pack(">i", len(value)) + value


def _bytes(value: bytes) -> pa.Scalar:
    # large_binary throughout: a chunk of millions of rows may pass binary's 2 GiB offsets.
    return pa.scalar(value, pa.large_binary())


def copy_binary(table: pa.Table, recorded_by: str, recorded_at: dt.datetime) -> bytes:
    """The rows for COPY ... (FORMAT binary), columns in ingest.COLUMNS' order, built column by
    column: each column's lengths and payloads, joined row by row into one array whose data
    buffer is the COPY data."""
    columns = {name: table[name].combine_chunks() for name in _VARYING}
    micros = (recorded_at - _EPOCH) // dt.timedelta(microseconds=1)
    shared = (_constant(b"ingest") + _constant(b"\x00") + _constant(recorded_by.encode())
              + _constant(struct.pack(">q", micros)))
    parts = [_bytes(struct.pack(">h", len(_VARYING) + 4))]
    for name in _VARYING:
        column = columns[name]
        if pa.types.is_date32(column.type):
            payload = _big_endian(pc.subtract(column.cast(pa.int32()), pa.scalar(_EPOCH_DAYS, pa.int32())))
        elif pa.types.is_time64(column.type):
            payload = _big_endian(column.cast(pa.int64()))
        else:
            payload = column.cast(pa.large_binary())
        parts += [_length(payload), payload]
    parts.append(_bytes(shared))
    # A NULL field is its length (-1) alone: the NULL payload joins as nothing.
    rows = pc.binary_join_element_wise(*parts, _bytes(b""), null_handling="replace", null_replacement=b"")
    _validity, offsets, data = rows.buffers()
    offsets = memoryview(offsets).cast("q")  # large_binary's int64 offsets
    return _HEADER + data[offsets[rows.offset]:offsets[rows.offset + len(rows)]].to_pybytes() + _TRAILER
