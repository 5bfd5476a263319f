"""ICAO Doc 9303 TD3 (passport) machine readable zone: two lines of 44 characters.

Every check digit is verified (document number, birth date, expiry date, personal number and
the composite), because a misread character at the desk would otherwise create a new
pseudonymous traveller with an empty history, who would then be admitted as a first-timer.
Only what the register needs leaves this module: name and birth date are checked, not kept.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .countries import country_code

LINE_LENGTH = 44
_ALLOWED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<")
_WEIGHTS = (7, 3, 1)


class MRZError(ValueError):
    """A machine readable zone that cannot be trusted; `field` names the part that failed."""

    def __init__(self, field: str, message: str):
        super().__init__(f"MRZ {field}: {message}")
        self.field = field


def _char_value(char: str) -> int:
    if char.isdigit():
        return int(char)
    if char == "<":
        return 0
    return ord(char) - ord("A") + 10


def check_digit(data: str) -> str:
    return str(sum(_char_value(c) * _WEIGHTS[i % 3] for i, c in enumerate(data)) % 10)


@dataclass(frozen=True, slots=True)
class MRZPassport:
    issuing_state: str
    document_number: str
    nationality: str
    expires: dt.date
    passport_type: str  # ordinary, diplomatic, service, official

    def __repr__(self) -> str:  # keep the document number out of logs and tracebacks
        return f"MRZPassport(issuing_state={self.issuing_state!r}, nationality={self.nationality!r}, expires={self.expires})"


# Doc 9303 leaves the second character of the document code to the issuer; these are the
# usual meanings (PD, PS, PO), and anything else is read as an ordinary national passport.
_PASSPORT_TYPES = {"D": "diplomatic", "S": "service", "O": "official"}


def _verify(field: str, data: str, digit: str, *, filler_ok: bool = False) -> None:
    if filler_ok and digit == "<" and set(data) == {"<"}:
        return
    if not digit.isdigit():
        raise MRZError(field, f"check digit {digit!r} is not a digit")
    if check_digit(data) != digit:
        raise MRZError(field, f"check digit {digit} does not match (computed {check_digit(data)}); re-scan the passport")


def _date(field: str, text: str, *, past: bool, today: dt.date) -> dt.date:
    if not text.isdigit():
        raise MRZError(field, f"{text!r} is not a YYMMDD date")
    yy, mm, dd = int(text[:2]), int(text[2:4]), int(text[4:])
    # Two-digit years: a birth date is in the past, an expiry within the next 50 years.
    century = 2000 if (yy + 2000 <= today.year if past else yy + 2000 <= today.year + 50) else 1900
    try:
        return dt.date(century + yy, mm, dd)
    except ValueError:
        raise MRZError(field, f"{text!r} is not a real date") from None


def _country(name: str, code: str) -> str:
    try:
        return country_code(code, name)
    except ValueError as exc:
        raise MRZError(name, str(exc).split(": ", 1)[1]) from None


def parse_td3(line1: str, line2: str, today: dt.date | None = None) -> MRZPassport:
    today = today or dt.date.today()
    lines = []
    for name, line in (("line 1", line1), ("line 2", line2)):
        line = (line or "").strip().upper()
        if len(line) != LINE_LENGTH:
            raise MRZError(name, f"has {len(line)} characters, a TD3 passport line has {LINE_LENGTH}")
        bad = sorted(set(line) - _ALLOWED)
        if bad:
            raise MRZError(name, f"contains characters not allowed in an MRZ: {''.join(bad)!r}")
        lines.append(line)
    line1, line2 = lines
    if line1[0] != "P":
        raise MRZError("document code", f"{line1[:2]!r} is not a passport (TD3 documents start with 'P')")
    issuing_state = _country("issuing state", line1[2:5])

    number, number_digit = line2[0:9], line2[9]
    _verify("document number", number, number_digit)
    nationality = _country("nationality", line2[10:13])
    birth, birth_digit = line2[13:19], line2[19]
    _verify("birth date", birth, birth_digit)
    _date("birth date", birth, past=True, today=today)
    if line2[20] not in "MFX<":
        raise MRZError("sex", f"{line2[20]!r} is not M, F, X or <")
    expiry, expiry_digit = line2[21:27], line2[27]
    _verify("expiry date", expiry, expiry_digit)
    expires = _date("expiry date", expiry, past=False, today=today)
    personal, personal_digit = line2[28:42], line2[42]
    _verify("personal number", personal, personal_digit, filler_ok=True)
    composite = line2[0:10] + line2[13:20] + line2[21:43]
    _verify("composite", composite, line2[43])

    document_number = number.replace("<", "")
    if not document_number:
        raise MRZError("document number", "is empty")
    return MRZPassport(
        issuing_state=issuing_state,
        document_number=document_number,
        nationality=nationality,
        expires=expires,
        passport_type=_PASSPORT_TYPES.get(line1[1], "ordinary"),
    )


def make_td3(
    *, issuing_state: str, document_number: str, nationality: str, birth: dt.date, expires: dt.date,
    surname: str = "TRAVELLER", given: str = "TEST", sex: str = "<", personal: str = "", kind: str = "<",
) -> tuple[str, str]:
    """Two valid TD3 lines (for tests, the benchmark and the docs' examples)."""
    def pad(text: str, width: int) -> str:
        return (text + "<" * width)[:width]

    name = pad(f"{surname}<<{given.replace(' ', '<')}", 39)
    line1 = f"P{kind}{pad(issuing_state, 3)}{name}"
    number = pad(document_number, 9)
    birth_s, expiry_s = birth.strftime("%y%m%d"), expires.strftime("%y%m%d")
    personal_s = pad(personal, 14)
    personal_digit = check_digit(personal_s) if personal else "<"
    body = (
        f"{number}{check_digit(number)}{pad(nationality, 3)}{birth_s}{check_digit(birth_s)}{sex}"
        f"{expiry_s}{check_digit(expiry_s)}{personal_s}{personal_digit}"
    )
    composite = body[0:10] + body[13:20] + body[21:43]
    return line1, body + check_digit(composite)
