"""Bulk ingest of Parquet logs, column by column (issue 10, item 6: PostgreSQL ingest at least
5x faster). The rows whose every field passes the same checks as `ingest.parse_row`, computed
with Arrow's vectorised kernels, are stored without a Python object per row: PostgreSQL gets
them as CSV text through COPY. Every other row, and every row of a traveller who has one, or
of an event id seen twice in the file, takes the row-by-row path, which names its reason; so
the result is the same, row for row, as the row path alone (tests/register/test_ingest.py
compares the two)."""

from __future__ import annotations

import datetime as dt
import io

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .countries import KNOWN_CODES
from .db import lock_bucket
from .service import PASSPORT_TYPES, Register
from .zones import default_zone

# RE2 syntax (Arrow's kernels): the characters validate.py forbids.
FORBIDDEN = "[\\x{00}-\\x{1f}\\x{7f}-\\x{9f}\\x{2028}\\x{2029}\\x{feff}]"


def _clean_text(column: pa.ChunkedArray, limit: int) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    """(stripped text, ok mask): present, not blank, no control character, within `limit`."""
    text = pc.utf8_trim_whitespace(column)
    ok = pc.and_(pc.is_valid(text), pc.greater(pc.utf8_length(text), 0))
    ok = pc.and_(ok, pc.less_equal(pc.utf8_length(text), limit))
    ok = pc.and_(ok, pc.invert(pc.match_substring_regex(column, FORBIDDEN)))
    return text, pc.fill_null(ok, False)


def split(register: Register, table: pa.Table, latest: dt.date) -> tuple[pa.Table | None, list[int]]:
    """(the rows ready to store, as a table of the crossings' columns plus `line` and the lock
    `bucket`; the 0-based indexes of the rows for the row-by-row path). None when the
    file's types do not suit the vectorised checks: then every row takes the row path."""
    names = set(table.column_names)
    string = pa.string()
    needed = ("event_id", "issuing_state", "document_number", "nationality", "direction", "border_post")
    if any(table.schema.field(n).type not in (string, pa.large_string()) for n in needed):
        return None, list(range(table.num_rows))
    time_type = table.schema.field("time").type
    if not ((pa.types.is_timestamp(time_type) and time_type.tz is None) or pa.types.is_date(time_type)):
        return None, list(range(table.num_rows))  # offsets or text times: the row path converts them
    for optional in ("destination", "passport_type", "passport_expires"):
        if optional in names and optional != "passport_expires" and table.schema.field(optional).type not in (string, pa.large_string()):
            return None, list(range(table.num_rows))
    if "passport_expires" in names and not pa.types.is_date(table.schema.field("passport_expires").type) \
            and not pa.types.is_timestamp(table.schema.field("passport_expires").type):
        return None, list(range(table.num_rows))
    if "destination" in names or default_zone(register.destination) is None:
        return None, list(range(table.num_rows))  # one destination, the register's: the common case

    n = table.num_rows
    ok = pa.chunked_array([pa.array([True] * n)])
    event_id, good = _clean_text(table["event_id"], 128)
    ok = pc.and_(ok, good)
    codes = pa.array(sorted(KNOWN_CODES))
    norm = {}
    for name in ("issuing_state", "nationality"):
        value = pc.utf8_upper(pc.replace_substring(pc.utf8_trim_whitespace(table[name]), "<", ""))
        norm[name] = value
        ok = pc.and_(ok, pc.fill_null(pc.is_in(value, value_set=codes), False))
        ok = pc.and_(ok, pc.fill_null(pc.invert(pc.match_substring_regex(table[name], FORBIDDEN)), False))
    number = pc.utf8_upper(pc.replace_substring(pc.utf8_trim_whitespace(table["document_number"]), "<", ""))
    ok = pc.and_(ok, pc.fill_null(pc.match_substring_regex(number, "^[A-Z0-9]{1,20}$"), False))
    ok = pc.and_(ok, pc.fill_null(pc.invert(pc.match_substring_regex(table["document_number"], FORBIDDEN)), False))
    direction = pc.utf8_lower(pc.utf8_trim_whitespace(table["direction"]))
    ok = pc.and_(ok, pc.fill_null(pc.is_in(direction, value_set=pa.array(["entry", "exit"])), False))
    ok = pc.and_(ok, pc.fill_null(pc.invert(pc.match_substring_regex(table["direction"], FORBIDDEN)), False))
    post, good = _clean_text(table["border_post"], 64)
    ok = pc.and_(ok, good)
    if "passport_type" in names:
        kind = pc.utf8_lower(pc.utf8_trim_whitespace(table["passport_type"]))
        blank = pc.or_(pc.is_null(kind), pc.equal(pc.utf8_length(kind), 0))
        kind = pc.if_else(blank, "ordinary", kind)
        ok = pc.and_(ok, pc.fill_null(pc.is_in(kind, value_set=pa.array(list(PASSPORT_TYPES))), False))
        ok = pc.and_(ok, pc.fill_null(pc.invert(pc.match_substring_regex(table["passport_type"], FORBIDDEN)), True))
    else:
        kind = pa.chunked_array([pa.array(["ordinary"] * n)])
    expires = (pc.cast(table["passport_expires"], pa.date32()) if "passport_expires" in names
               else pa.chunked_array([pa.nulls(n, pa.date32())]))
    moment = table["time"]
    ok = pc.and_(ok, pc.is_valid(moment))
    if pa.types.is_timestamp(time_type):
        local_date = pc.cast(pc.floor_temporal(moment, unit="day"), pa.date32())
        local_time = pc.cast(pc.cast(pc.subtract(moment, pc.floor_temporal(moment, unit="day")), pa.duration("us")),
                             pa.int64())
        local_time = pc.cast(pc.cast(local_time, pa.time64("us")), pa.string())
    else:
        local_date = pc.cast(moment, pa.date32())
        local_time = pa.chunked_array([pa.nulls(n, pa.string())])
    ok = pc.and_(ok, pc.fill_null(pc.less_equal(local_date, pa.scalar(latest, pa.date32())), False))
    # An event id twice in the file: duplicates or conflicts, which the row path tells apart.
    counts = pc.value_counts(event_id.combine_chunks() if isinstance(event_id, pa.ChunkedArray) else event_id)
    repeated = counts.filter(pc.greater(counts.field("counts"), 1)).field("values")
    ok = pc.and_(ok, pc.invert(pc.fill_null(pc.is_in(event_id, value_set=repeated), False)))
    ok = pc.fill_null(ok, False)
    # A traveller with any row for the row path goes there whole (their rows commit together).
    raw_key = pc.binary_join_element_wise(pc.fill_null(norm["issuing_state"], ""), pc.fill_null(number, ""), "\x1f")
    slow_keys = pc.unique(pc.filter(raw_key, pc.invert(ok)))
    ok = pc.and_(ok, pc.invert(pc.is_in(raw_key, value_set=slow_keys)))
    fast_index = pc.indices_nonzero(ok)
    slow = pc.indices_nonzero(pc.invert(ok)).to_pylist()
    if len(fast_index) == 0:
        return None, slow

    pick = lambda column: pc.take(column, fast_index)  # noqa: E731
    # One pseudonym per document, not per row (a traveller has several crossings in a log);
    # each row then takes its document's by index, without a Python step per row.
    documents = pick(raw_key)
    distinct = pc.unique(documents)
    pseudonyms = register.traveller_keys(distinct.to_pylist())
    of_row = pc.index_in(documents, value_set=distinct)
    out = pa.table({
        "event_id": pick(event_id), "traveller_key": pc.take(pa.array(pseudonyms, pa.string()), of_row),
        "issuing_state": pick(norm["issuing_state"]),
        "nationality": pick(norm["nationality"]), "passport_type": pick(kind), "passport_expires": pick(expires),
        "direction": pick(direction), "destination": pa.array([register.destination] * len(fast_index), pa.string()),
        "border_post": pick(post), "local_date": pick(local_date), "local_time": pick(local_time),
        "line": pc.add(fast_index, 1),
        # The traveller's lock bucket (db.lock_bucket), by which chunks() groups the rows.
        "bucket": pc.take(pa.array([lock_bucket(key) for key in pseudonyms], pa.int16()), of_row),
    })
    return out, slow


def chunks(table: pa.Table, size: int):
    """The row indexes of slices of about `size` rows that never split a lock bucket (so never a
    traveller, and two writers' chunks never wait for each other), in bucket order: the global
    order of the locks. A small sort of bucket numbers, not of keys; each writer takes its own
    rows (ingest._store_fast), in parallel."""
    order = pc.sort_indices(table["bucket"])
    counts = pc.value_counts(table["bucket"])
    per_bucket = dict(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()))
    start = end = 0
    for bucket in sorted(per_bucket):
        end += per_bucket[bucket]
        if end - start >= size:
            yield order.slice(start, end - start)
            start = end
    if end > start:
        yield order.slice(start, end - start)


def copy_text(table: pa.Table, recorded_by: str, recorded_at: dt.datetime) -> bytes:
    """The slice as CSV for COPY ... (FORMAT csv), columns in ingest.COLUMNS' order."""
    n = table.num_rows
    full = table.drop_columns(["line", "bucket"]).append_column("source", pa.array(["ingest"] * n)) \
        .append_column("withdraws", pa.array(["false"] * n)) \
        .append_column("recorded_by", pa.array([recorded_by] * n)) \
        .append_column("recorded_at", pa.array([recorded_at.isoformat()] * n))
    buffer = io.BytesIO()
    pacsv.write_csv(full, buffer, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    return buffer.getvalue()
