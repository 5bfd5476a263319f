"""The basis of a stay: visa-free, a visa, a residence permit or a long-stay visa (docs/basis.md).

Plain frozen values, like the rest of the engine. A stay without a basis is visa-free and is
judged by the regime's rules (R3, R4); a stay on a visa is judged by its visa (its dates, its
duration, its entries); days under a residence permit or a long-stay visa are left out of the
window where the regime's `counted_bases` says so (RULES.md §2).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Union

VISA_FREE = "visa_free"
#: Every basis, in the order the contract lists them (engine/regime.py's BASES is the same list).
VISA = "visa"
RESIDENCE_PERMIT = "residence_permit"
LONG_STAY_VISA = "long_stay_visa"
BASES = (VISA_FREE, "visa", "residence_permit", LONG_STAY_VISA)

#: Kinds of visa a traveller may give (what the visa is called on its sticker or e-visa page).
VISA_KINDS = ("short_stay", "e_visa", "transit", "on_arrival", "other")
#: Entries a visa allows; None: no limit.
VISA_ENTRIES: dict[str, int | None] = {"single": 1, "double": 2, "multiple": None}

# Violation and reason codes of a stay on a visa or a permit (the check contract, v1).
VISA_VALIDITY = "visa_validity"  # a day outside valid_from..valid_until
VISA_DURATION = "visa_duration"  # a day past the visa's duration of stay
VISA_NO_ENTRIES = "visa_entries"  # an entry beyond the entries the visa allows
PERMIT_VALIDITY = "permit_validity"  # a day after the residence permit's valid_until


@dataclass(frozen=True, slots=True)
class Visa:
    """A visa. Two stays on equal Visa values are two entries on the same visa."""

    valid_from: dt.date
    valid_until: dt.date
    entries: str = "multiple"  # single | double | multiple
    kind: str = "short_stay"
    duration_days: int | None = None  # the longest stay the visa allows; None: its validity only

    @property
    def code(self) -> str:
        return VISA

    @property
    def max_entries(self) -> int | None:
        return VISA_ENTRIES.get(self.entries)


@dataclass(frozen=True, slots=True)
class ResidencePermit:
    valid_until: dt.date

    @property
    def code(self) -> str:
        return RESIDENCE_PERMIT


@dataclass(frozen=True, slots=True)
class LongStayVisa:
    @property
    def code(self) -> str:
        return LONG_STAY_VISA


Basis = Union[Visa, ResidencePermit, LongStayVisa]


def basis_code(basis: Basis | None) -> str:
    return VISA_FREE if basis is None else basis.code


def visa_last_day(visa: Visa, entry: int, entry_day_counts: bool) -> int:
    """The last day (ordinal) a stay entering on `entry` may last on `visa`: its validity and its
    duration, counted by the regime's convention like R3 (RULES.md §2)."""
    last = visa.valid_until.toordinal()
    if visa.duration_days is not None:
        last = min(last, entry + visa.duration_days - (1 if entry_day_counts else 0))
    return last
