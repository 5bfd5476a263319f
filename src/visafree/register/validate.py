"""One validation at the register's boundary (issue 10, item 3): every text, number and
structure that comes in, from the desk (CLI, HTTP) or an ingest file, is checked here before
it reaches the database, so bad input is refused by name and never crashes.

- text: no NUL or other control characters (PostgreSQL refuses NUL outright, and a control
  character in a border post ends up in CSV exports and logs), and never longer than the
  column that stores it;
- numbers: within a 64-bit column;
- structure: JSON nested no deeper than a crossing record needs, CSV fields no longer than a
  line of a crossing log can be.

Messages name the field and the limit, never the value (it may be personal data).
"""

from __future__ import annotations

import re

#: Column lengths (schema.py) and limits for free text stored as TEXT.
LIMITS = {
    "event_id": 128, "border_post": 64, "officer": 128, "actor": 128, "label": 64, "reason": 1000,
    "legal_basis": 1000, "refuse_basis": 1000, "note": 1000, "passport_type": 16,
}
INT64_MAX = 2**63 - 1
MAX_JSON_DEPTH = 8  # a crossing record is flat; the API's deepest body (passport.mrz[0]) is 3
MAX_CSV_FIELD = 4096  # far beyond any column; csv's own limit (131,072) raised an error mid-file


class InvalidInput(ValueError):
    """Refused input; `field` names it, `code` says why (v1 error codes)."""

    def __init__(self, field: str, message: str, code: str = "invalid_text"):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.code = code


# C0 and C1 controls (NUL, tab, line breaks, ESC, DEL...), the Unicode line and paragraph
# separators, the BOM, and lone surrogates: one compiled search, fast enough for every cell of
# a million-row ingest.
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff]")


def bad_character(value: str) -> str | None:
    """A description of the first forbidden character, or None. Tabs and line breaks count:
    a one-line field never needs one and they break CSV rows and log lines."""
    found = _FORBIDDEN.search(value)
    if found is None:
        return None
    ch, position = found.group(), found.start() + 1
    if ch == "\x00":
        return f"a NUL character at position {position}"
    return f"a control character (U+{ord(ch):04X}) at position {position}"


def text(value, field: str, *, required: bool = True, limit: int | None = None, strip: bool = True) -> str | None:
    """A one-line text field: str, no control characters, at most `limit` characters."""
    if value is None:
        if required:
            raise InvalidInput(field, "missing", "missing")
        return None
    if not isinstance(value, str):
        raise InvalidInput(field, f"must be text, not {type(value).__name__}", "invalid_type")
    if strip:
        value = value.strip()
    if required and not value:
        raise InvalidInput(field, "missing", "missing")
    limit = limit or LIMITS.get(field)
    if limit is not None and len(value) > limit:
        raise InvalidInput(field, f"longer than {limit} characters ({len(value)})", "too_long")
    problem = bad_character(value)
    if problem:
        raise InvalidInput(field, f"holds {problem}", "invalid_text")
    return value


def integer(value, field: str, *, minimum: int = 1, maximum: int = INT64_MAX) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field, "must be a whole number", "invalid_type")
    if not minimum <= value <= maximum:
        raise InvalidInput(field, f"must be between {minimum} and {maximum}", "out_of_range")
    return value


def json_depth_ok(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Is the JSON text nested no deeper than `limit`? Counted on the bytes, before parsing,
    so a body nested 100,000 deep never reaches the (recursive) parser."""
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return False
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return True


def stay_basis(basis):
    """The basis of an entry (issue 13, docs/basis.md): None (visa-free), a Visa, a
    ResidencePermit or a LongStayVisa of the engine, each field checked and named
    (`basis.valid_until`, `basis.entries`...) like every other field at the boundary."""
    import datetime as dt

    from visafree.engine import VISA_ENTRIES, VISA_KINDS, LongStayVisa, ResidencePermit, Visa

    if basis is None or isinstance(basis, LongStayVisa):
        return basis
    if isinstance(basis, ResidencePermit):
        if not isinstance(basis.valid_until, dt.date):
            raise InvalidInput("basis.valid_until", "a date is required (YYYY-MM-DD)", "missing")
        return basis
    if not isinstance(basis, Visa):
        raise InvalidInput("basis", "not a visa, a residence permit or a long-stay visa", "invalid_type")
    for name in ("valid_from", "valid_until"):
        if not isinstance(getattr(basis, name), dt.date):
            raise InvalidInput(f"basis.{name}", "a date is required (YYYY-MM-DD)", "missing")
    if basis.valid_until < basis.valid_from:
        raise InvalidInput("basis.valid_until", f"{basis.valid_until} is before valid_from {basis.valid_from}",
                           "invalid_basis")
    if basis.entries not in VISA_ENTRIES:
        raise InvalidInput("basis.entries", f"not one of {', '.join(VISA_ENTRIES)}", "invalid_basis")
    if basis.kind not in VISA_KINDS:
        raise InvalidInput("basis.kind", f"not one of {', '.join(VISA_KINDS)}", "invalid_basis")
    if basis.duration_days is not None:
        integer(basis.duration_days, "basis.duration_days", minimum=1, maximum=100_000)
    return basis


def visa_from_mrz(lines, *, nationality: str, reference_date, valid_from, entries: str = "multiple",
                  kind: str = "short_stay", duration_days=None):
    """A Visa from the visa's MRZ (ICAO 9303 Part 7, MRV-A or MRV-B: every check digit verified by
    read_mrz) and what the MRZ does not carry, typed by the officer: valid_from, entries, kind,
    duration. The visa must be for the passport's nationality (`visa_mrz.nationality`). Errors
    name the field, never the value (mrz.py)."""
    import datetime as dt

    from visafree.engine import Visa

    from .mrz import VISA_LAYOUTS, MRZError, read_mrz

    if not isinstance(lines, (list, tuple)) or len(lines) != 2:
        raise InvalidInput("visa_mrz", "give the visa's two MRZ lines", "missing")
    try:
        visa = read_mrz(list(lines), reference_date=reference_date, layouts=VISA_LAYOUTS)
    except MRZError as exc:
        raise InvalidInput("visa_" + exc.field, str(exc), exc.code) from None
    if valid_from is not None and not isinstance(valid_from, dt.date):
        raise InvalidInput("basis.valid_from", "a date is required (YYYY-MM-DD)", "invalid_type")
    if visa.nationality != nationality:
        raise InvalidInput("visa_mrz.nationality", "the visa is for another nationality than the passport's",
                           "visa_nationality")
    if valid_from is None:
        raise InvalidInput("basis.valid_from", "the visa's MRZ has no valid-from date: type it", "missing")
    return stay_basis(Visa(valid_from, visa.expires, entries, kind, duration_days))
