"""The pure core of visafree: standard library only, no I/O, no clock, no globals.

Installed with a C compiler at hand, the same source runs compiled by mypyc (see setup.py and
`COMPILED`); the answers are the same, tests/engine/test_build.py checks both.

    from visafree.engine import Question, Stay, check
    answer = check(Question(regime, "KAZ", "VNM", on=date(2024, 8, 15), stays=(Stay(...),)))
"""

from .check import (
    ENTRY_REASONS, NATIONALITY, NOT_IN_FORCE, PASSPORT_TYPE, PASSPORT_VALIDITY, PER_STAY_LIMIT,
    WINDOW_LIMIT, PASSPORT_REASONS, Answer, CurrentStay, EarliestEntry, EntryVerdict, InputError, Passport, Question,
    Stay, StayReport, Violation, add_months, check, earliest_entry, input_error, judge_entry,
)
from .forecast import HORIZON_DAYS, Forecast, forecast
from .basis import (
    BASES, LONG_STAY_VISA, PERMIT_VALIDITY, RESIDENCE_PERMIT, VISA, VISA_DURATION, VISA_ENTRIES, VISA_FREE,
    VISA_KINDS, VISA_NO_ENTRIES, VISA_VALIDITY, Basis, LongStayVisa, ResidencePermit, Visa, basis_code,
)
from .explain import COUNTS, ERRORS, MESSAGES, Note
from .presence import Presence
from .regime import Regime, RegimeError, RuleSet, parse_regime
from .resolve import NO_REGIME, Judged, Resolution, applicable, preference, resolve
from . import presence as _presence_module

#: True when this engine runs as mypyc-compiled C (setup.py), False for the pure-Python source.
#: The build compiles all of the engine or none of it, so one module tells.
COMPILED: bool = not (_presence_module.__file__ or "").endswith(".py")

__all__ = [
    "COMPILED", "COUNTS", "ENTRY_REASONS", "ERRORS", "NATIONALITY", "NOT_IN_FORCE", "PASSPORT_TYPE", "PASSPORT_VALIDITY",
    "PER_STAY_LIMIT", "WINDOW_LIMIT", "Answer", "CurrentStay", "EarliestEntry", "EntryVerdict", "Forecast", "HORIZON_DAYS", "forecast",
    "InputError", "MESSAGES", "Note", "Passport", "Presence", "Question", "Regime", "RegimeError",
    "RuleSet", "Stay", "StayReport", "Violation", "add_months", "check", "earliest_entry",
    "input_error", "judge_entry", "parse_regime", "NO_REGIME", "Judged", "Resolution", "applicable", "preference",
    "resolve", "BASES", "LONG_STAY_VISA", "PERMIT_VALIDITY", "RESIDENCE_PERMIT", "VISA", "VISA_DURATION",
    "VISA_ENTRIES", "VISA_FREE", "VISA_KINDS", "VISA_NO_ENTRIES", "VISA_VALIDITY", "Basis", "LongStayVisa",
    "ResidencePermit", "Visa", "basis_code", "PASSPORT_REASONS",
]
