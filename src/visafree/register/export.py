"""CSV export of the overstayers list (shared by the CLI and the API)."""

from __future__ import annotations

import csv
import io

COLUMNS = ("traveller_key", "nationality", "entry", "border_post", "permitted_end", "days_past_end", "basis")


def overstayers_csv(found) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for o in found:
        writer.writerow([getattr(o, c) for c in COLUMNS])
    return buffer.getvalue()
