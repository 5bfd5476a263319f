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
