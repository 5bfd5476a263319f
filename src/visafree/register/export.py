"""CSV export of the overstayers list (shared by the CLI and the API)."""

from __future__ import annotations

import csv
import io

COLUMNS = ("traveller_key", "nationality", "entry", "border_post", "permitted_end", "days_past_end", "basis", "stay_basis")


#: A cell starting with one of these is a formula to a spreadsheet (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """A text cell a spreadsheet will show as text: a leading apostrophe before a formula
    prefix (issue 10: a border post of =HYPERLINK(...) reached overstayers.csv as it was)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def overstayers_csv(found) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for o in found:
        writer.writerow([neutralise(getattr(o, c)) for c in COLUMNS])
    return buffer.getvalue()
