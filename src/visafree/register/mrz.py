"""ICAO Doc 9303 machine readable zones: passports (TD3), ID cards (TD1, TD2) and visas (MRV-A, MRV-B).

    read_mrz(["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
              "L898902C36UTO7408122F1204159ZE184226B<<<<<10"], reference_date=date(2025, 6, 1),
             countries=KNOWN_CODES | {"UTO"})
    -> MRZDocument(layout='TD3', kind='passport', issuing_state='UTO', nationality='UTO', ...)

Why strict. A misread character at the desk would otherwise create a new pseudonymous traveller
with an empty history, admitted as a first-timer; so every check digit the layout has is
verified (document number, birth date, expiry or valid-until date, TD3's personal number, and
the composite where the layout has one: MRV-A and MRV-B have none), and the characters are
checked *before* anything else touches the text. Only ASCII A-Z, 0-9 and the filler `<` are
allowed, at the layout's exact line length: nothing is case-folded or stripped (`"ß".upper()`
is `"SS"`, which once made a 43-character line pass as 44). Lower-case letters are refused with
their own code, so a shell can tell an officer to type capitals.

Why quiet. An error names the field (`mrz.line2.birth_date`) and a code (`mrz_check_digit`),
never the value: an MRZ is personal data, and error messages end up in logs and HTTP answers.
The document number, birth date, sex and optional data are kept out of `repr` for the same
reason. The holder's name is checked (letters and fillers only) and not returned.

No clock: two-digit years are resolved against the reference date the caller passes (a birth
date is the latest such date not after it; an expiry within 50 years either side of it).

The layouts (positions are Doc 9303's, 1-based; see docs/mrz.md for the sources):

    TD3   2x44  Part 4  line 2: number 1-9, check 10, nationality 11-13, birth 14-19, check 20,
                        sex 21, expiry 22-27, check 28, personal number 29-42, check 43,
                        composite 44 over 1-10, 14-20, 22-43
    TD2   2x36  Part 6  line 2: as TD3 to position 28, optional data 29-35, composite 36 over
                        1-10, 14-20, 22-35
    TD1   3x30  Part 5  line 1: code 1-2, state 3-5, number 6-14, check 15, optional 16-30;
                        line 2: birth 1-6, check 7, sex 8, expiry 9-14, check 15, nationality
                        16-18, optional 19-29, composite 30 over line 1 6-30 and line 2 1-7,
                        9-15, 19-29; line 3: name
    MRV-A 2x44  Part 7  line 2: as TD3 to position 28 (22-27 is "valid until"), optional data
                        29-44, no composite
    MRV-B 2x36  Part 7  as MRV-A, optional data 29-36

TD1 and TD2 document numbers longer than nine characters (Parts 5 and 6): a filler replaces the
check digit, and the rest of the number, its check digit and a filler open the optional data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from .countries import KNOWN_CODES

TD1, TD2, TD3, MRV_A, MRV_B = "TD1", "TD2", "TD3", "MRV-A", "MRV-B"
ALL_LAYOUTS = frozenset({TD1, TD2, TD3, MRV_A, MRV_B})
#: Travel documents a traveller is identified by; visas are read alongside one of these.
IDENTITY_LAYOUTS = frozenset({TD1, TD2, TD3})
VISA_LAYOUTS = frozenset({MRV_A, MRV_B})

#: (lines, characters per line) of each layout.
SHAPES = {TD1: (3, 30), TD2: (2, 36), TD3: (2, 44), MRV_A: (2, 44), MRV_B: (2, 36)}
#: Doc 9303's names for what a layout holds: a machine readable passport, a machine readable
#: official travel document (ID cards and the like), a machine readable visa.
KINDS = {TD3: "passport", TD1: "official_travel_document", TD2: "official_travel_document",
         MRV_A: "visa", MRV_B: "visa"}
#: The first character of the document code each layout allows.
FIRST_CODE_CHARACTERS = {TD3: "P", TD1: "ACI", TD2: "ACI", MRV_A: "V", MRV_B: "V"}

LINE_LENGTH = 44  # TD3; kept for callers of the passport-only reader
FILLER = "<"
_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DIGITS = frozenset("0123456789")
_ALLOWED = _LETTERS | _DIGITS | {FILLER}
_WEIGHTS = (7, 3, 1)

# Doc 9303 leaves the second character of a passport's document code to the issuer; these are
# the usual meanings (PD, PS, PO), and anything else is read as an ordinary national passport.
_PASSPORT_TYPES = {"D": "diplomatic", "S": "service", "O": "official"}

#: English message of each error code; `{label}` is the field in words (LABELS), the other
#: placeholders are counts and positions. None of them is ever a value read from the MRZ.
MRZ_ERRORS = {
    "mrz_input": "MRZ: give the lines of the machine readable zone as text",
    "mrz_lines": "MRZ: {got} lines given; a machine readable zone has 2 lines (3 on a TD1 card)",
    "mrz_layout": "MRZ: lines of {got} characters match no Doc 9303 layout "
                  "(TD1 3x30, TD2 2x36, TD3 2x44, MRV-A 2x44, MRV-B 2x36)",
    "mrz_length": "MRZ line {line}: {got} characters; this layout has {expected}",
    "mrz_lower_case": "MRZ line {line}: the letter at position {position} is lower case; an MRZ is written in capitals",
    "mrz_character": "MRZ line {line}: the character at position {position} is not A-Z, 0-9 or <",
    "mrz_layout_not_accepted": "MRZ: a {layout} document is not accepted here (accepted: {accepted})",
    "mrz_document_code": "MRZ {label}: a {layout} document code starts with {allowed}",
    "mrz_format": "MRZ {label}: has characters this field cannot hold",
    "mrz_check_digit": "MRZ {label}: check digit does not match; re-scan the document or type its data",
    "mrz_date": "MRZ {label}: not a real date (YYMMDD)",
    "mrz_country": "MRZ {label}: not an ISO 3166-1 alpha-3 or Doc 9303 country code",
    "mrz_sex": "MRZ {label}: not F, M, X or <",
    "mrz_empty": "MRZ {label}: empty",
}

#: Field names (the last part of `MRZError.field`) in words, for messages.
LABELS = {
    "document_code": "document code", "issuing_state": "issuing state", "name": "name",
    "document_number": "document number", "nationality": "nationality", "birth_date": "birth date",
    "sex": "sex", "expiry_date": "expiry date", "valid_until": "valid until date",
    "personal_number": "personal number", "optional_data": "optional data", "composite": "composite check digit",
}


class MRZError(ValueError):
    """A machine readable zone that cannot be trusted.

    `field` is where it failed (`mrz`, `mrz.line2`, `mrz.line2.birth_date`), `code` a key of
    MRZ_ERRORS, `template` its English message and `params` the values filled in (counts,
    positions, layout names; never anything read from the document). str() is the message.
    """

    def __init__(self, field: str, code: str, **params: Any):
        part = field.rsplit(".", 1)[-1]
        self.field = field
        self.code = code
        self.template = MRZ_ERRORS[code]
        self.params: dict[str, Any] = {"label": LABELS.get(part, part), **params}
        self.message = self.template.format(**self.params)
        super().__init__(self.message)


def _char_value(char: str) -> int:
    if char in _DIGITS:
        return ord(char) - ord("0")
    if char == FILLER:
        return 0
    return ord(char) - ord("A") + 10


def check_digit(data: str) -> str:
    """Doc 9303 Part 3 check digit: values 0-9, A-Z = 10-35, `<` = 0, weights 7 3 1, modulo 10."""
    return str(sum(_char_value(c) * _WEIGHTS[i % 3] for i, c in enumerate(data)) % 10)


@dataclass(frozen=True, slots=True)
class MRZDocument:
    """What the register may use from an MRZ, as plain values.

    `expires` is the date of expiry of a passport or card and the "valid until" date of a visa.
    The MRZ of a visa carries no valid-from date, number of entries or duration of stay (Doc
    9303 Part 7 puts them in the visual zone only): the officer types those. `optional_data`
    holds the layout's optional fields in order (TD3: the personal number; TD1: line 1's, then
    line 2's; TD2, MRV-A, MRV-B: one), trailing fillers removed; Doc 9303 leaves their meaning
    to the issuing State, so they are passed on unread.
    """

    layout: str  # TD1, TD2, TD3, MRV-A or MRV-B
    document_code: str  # the two characters as printed: "P<", "PD", "ID", "V<"...
    issuing_state: str
    nationality: str
    expires: dt.date
    document_number: str = field(repr=False)
    birth_date: dt.date | None = field(repr=False)  # None where Doc 9303's fillers say unknown
    sex: str | None = field(repr=False)  # "F", "M", "X", or None for the filler (unspecified)
    optional_data: tuple[str, ...] = field(repr=False, default=())

    @property
    def kind(self) -> str:
        """passport, official_travel_document or visa (Doc 9303's terms)."""
        return KINDS[self.layout]

    @property
    def is_visa(self) -> bool:
        return self.layout in VISA_LAYOUTS

    @property
    def passport_type(self) -> str | None:
        """ordinary, diplomatic, service or official for a passport (TD3); None otherwise."""
        if self.layout != TD3:
            return None
        return _PASSPORT_TYPES.get(self.document_code[1], "ordinary")


#: The name the passport-only reader has always returned.
MRZPassport = MRZDocument


def split_mrz(text: str) -> list[str]:
    """The lines of a pasted or scanned MRZ block: split on line breaks, ASCII blanks at the
    ends of each line removed, empty lines dropped. Nothing else is changed: read_mrz judges."""
    if not isinstance(text, str):
        raise MRZError("mrz", "mrz_input")
    return [line.strip(" \t\r") for line in text.split("\n") if line.strip(" \t\r")]


def _lines(lines: object) -> tuple[str, ...]:
    if isinstance(lines, str):
        lines = split_mrz(lines)
    if not isinstance(lines, (list, tuple)):
        raise MRZError("mrz", "mrz_input")
    if len(lines) not in (2, 3):
        raise MRZError("mrz", "mrz_lines", got=len(lines))
    for number, line in enumerate(lines, 1):
        if not isinstance(line, str):
            raise MRZError(f"mrz.line{number}", "mrz_input")
    return tuple(lines)


def _layout(lines: tuple[str, ...]) -> str:
    first = lines[0]
    if len(lines) == 3:
        layout = TD1
    elif len(first) == 44:
        layout = MRV_A if first[:1] == "V" else TD3
    elif len(first) == 36:
        layout = MRV_B if first[:1] == "V" else TD2
    else:
        raise MRZError("mrz.line1", "mrz_layout", got=len(first))
    expected = SHAPES[layout][1]
    # Lengths first (len() is O(1), so a huge line costs nothing), then characters.
    for number, line in enumerate(lines, 1):
        if len(line) != expected:
            raise MRZError(f"mrz.line{number}", "mrz_length", line=number, got=len(line), expected=expected)
    for number, line in enumerate(lines, 1):
        for position, char in enumerate(line, 1):
            if char not in _ALLOWED:
                code = "mrz_lower_case" if "a" <= char <= "z" else "mrz_character"
                raise MRZError(f"mrz.line{number}", code, line=number, position=position)
    return layout


class _Reader:
    """Field checks over lines already known to be A-Z, 0-9 and `<` at the right lengths."""

    def __init__(self, lines: tuple[str, ...], reference_date: dt.date, countries: Collection[str]):
        self.lines = lines
        self.reference_date = reference_date
        self.countries = countries

    def text(self, line: int, start: int, end: int) -> str:
        """Doc 9303 positions `start`..`end` (1-based, inclusive) of line `line`."""
        return self.lines[line - 1][start - 1:end]

    def verify(self, where: str, data: str, digit: str) -> None:
        if digit not in _DIGITS or check_digit(data) != digit:
            raise MRZError(where, "mrz_check_digit")

    def document_code(self, layout: str) -> str:
        code = self.text(1, 1, 2)
        allowed = FIRST_CODE_CHARACTERS[layout]
        if code[0] not in allowed or code[1] in _DIGITS:
            raise MRZError("mrz.line1.document_code", "mrz_document_code", layout=layout,
                           allowed=" or ".join(allowed))
        return code

    def country(self, where: str, raw: str) -> str:
        code = raw.rstrip(FILLER)
        # Letters, then fillers only at the end ("D<<" is Germany); anything else is a misread.
        if not code or not set(code) <= _LETTERS:
            raise MRZError(where, "mrz_format" if code else "mrz_empty")
        if code not in self.countries:
            raise MRZError(where, "mrz_country")
        return code

    def name(self, where: str, raw: str) -> None:
        # Names are transliterated to A-Z with `<` between parts (Doc 9303 Part 3): a digit is a
        # misread, and the name is the one field no check digit covers.
        if not set(raw) <= _LETTERS | {FILLER}:
            raise MRZError(where, "mrz_format")
        if set(raw) == {FILLER}:
            raise MRZError(where, "mrz_empty")

    def number(self, where: str, raw: str) -> str:
        number = raw.replace(FILLER, "")
        if not number:
            raise MRZError(where, "mrz_empty")
        return number

    def long_number(self, where: str, principal: str, digit: str, optional: str) -> tuple[str, str]:
        """TD1/TD2 document number and what remains of the optional data (Parts 5 and 6)."""
        if digit != FILLER:
            self.verify(where, principal, digit)
            return self.number(where, principal), optional
        # A filler instead of the check digit: the number goes on in the optional data, then
        # its check digit (over the whole number), then a filler.
        end = optional.find(FILLER)
        if FILLER in principal or end < 2:
            raise MRZError(where, "mrz_format")
        rest, digit = optional[:end - 1], optional[end - 1]
        self.verify(where, principal + rest, digit)
        return principal + rest, optional[end + 1:]

    def birth_date(self, where: str, raw: str) -> dt.date | None:
        """The latest date with these digits not after the reference date; None when unknown."""
        # Doc 9303 Part 3: the unknown parts of a birth date are fillers: YYMM<<, YY<<<<, <<<<<<.
        known = raw.rstrip(FILLER)
        if len(known) in (0, 2, 4) and set(known) <= _DIGITS:
            return None
        century = self.reference_date.year // 100 * 100
        return self._date(where, raw, (century, century - 100), not_after=self.reference_date)

    def expiry_date(self, where: str, raw: str) -> dt.date:
        """Within 50 years either side of the reference date (Doc 9303 writes no century)."""
        year = self.reference_date.year
        yy = int(raw[:2]) if set(raw[:2]) <= _DIGITS else 0
        centuries = tuple(c for c in (year // 100 * 100 + k for k in (-100, 0, 100)) if year - 50 <= c + yy < year + 50)
        return self._date(where, raw, centuries, not_after=None)

    def _date(self, where: str, raw: str, centuries: tuple[int, ...], not_after: dt.date | None) -> dt.date:
        if not set(raw) <= _DIGITS:
            raise MRZError(where, "mrz_format")
        yy, mm, dd = int(raw[:2]), int(raw[2:4]), int(raw[4:])
        for century in centuries:
            try:
                day = dt.date(century + yy, mm, dd)
            except ValueError:
                continue
            if not_after is None or day <= not_after:
                return day
        raise MRZError(where, "mrz_date")

    def sex(self, where: str, char: str) -> str | None:
        if char not in "MFX<":
            raise MRZError(where, "mrz_sex")
        return None if char == FILLER else char


def read_mrz(
    lines: Sequence[str] | str, *, reference_date: dt.date,
    layouts: Collection[str] = ALL_LAYOUTS, countries: Collection[str] = KNOWN_CODES,
) -> MRZDocument:
    """Read and verify one machine readable zone, or raise MRZError naming the field.

    `lines`: the MRZ's lines (2, or 3 for a TD1 card), each exactly as printed; a single string
    is split into lines with split_mrz. The layout is told by the number of lines, their length
    and the first character (V: visa). `layouts` limits what is accepted here (e.g.
    IDENTITY_LAYOUTS at a desk reading the traveller's document, VISA_LAYOUTS for the visa);
    `countries` the issuing state and nationality codes (Doc 9303's fictional "UTO" of the
    specimens is not in the default set).
    """
    text = _lines(lines)
    layout = _layout(text)
    if layout not in layouts:
        raise MRZError("mrz", "mrz_layout_not_accepted", layout=layout, accepted=", ".join(sorted(layouts)))
    r = _Reader(text, reference_date, countries)
    code = r.document_code(layout)
    issuing_state = r.country("mrz.line1.issuing_state", r.text(1, 3, 5))
    if layout == TD1:
        return _read_td1(r, code, issuing_state)
    width = SHAPES[layout][1]
    r.name("mrz.line1.name", r.text(1, 6, width))
    expiry_name = "valid_until" if layout in VISA_LAYOUTS else "expiry_date"
    principal, number_digit = r.text(2, 1, 9), r.text(2, 10, 10)
    # TD3: the personal number (its check digit is position 43); TD2: 29-35; visas: to the end.
    optional_raw = r.text(2, 29, {TD3: 42, TD2: 35}.get(layout, width))
    optional_where = "mrz.line2.personal_number" if layout == TD3 else "mrz.line2.optional_data"
    if layout == TD2:
        number, optional_raw = r.long_number("mrz.line2.document_number", principal, number_digit, optional_raw)
    else:
        r.verify("mrz.line2.document_number", principal, number_digit)
        number = r.number("mrz.line2.document_number", principal)
    nationality = r.country("mrz.line2.nationality", r.text(2, 11, 13))
    birth_raw = r.text(2, 14, 19)
    r.verify("mrz.line2.birth_date", birth_raw, r.text(2, 20, 20))
    birth = r.birth_date("mrz.line2.birth_date", birth_raw)
    sex = r.sex("mrz.line2.sex", r.text(2, 21, 21))
    expiry_raw = r.text(2, 22, 27)
    r.verify(f"mrz.line2.{expiry_name}", expiry_raw, r.text(2, 28, 28))
    expires = r.expiry_date(f"mrz.line2.{expiry_name}", expiry_raw)
    if layout == TD3:
        personal, personal_digit = r.text(2, 29, 42), r.text(2, 43, 43)
        # Part 4: an unused personal number (all fillers) may have `<` or 0 as its check digit.
        if not (personal_digit == FILLER and set(personal) == {FILLER}):
            r.verify(optional_where, personal, personal_digit)
    if layout in (TD3, TD2):
        composite = r.text(2, 1, 10) + r.text(2, 14, 20) + r.text(2, 22, width - 1)
        r.verify("mrz.line2.composite", composite, r.text(2, width, width))
    return MRZDocument(
        layout=layout, document_code=code, issuing_state=issuing_state, nationality=nationality,
        expires=expires, document_number=number, birth_date=birth, sex=sex,
        optional_data=(optional_raw.rstrip(FILLER),),
    )


def _read_td1(r: _Reader, code: str, issuing_state: str) -> MRZDocument:
    number, optional1 = r.long_number("mrz.line1.document_number", r.text(1, 6, 14), r.text(1, 15, 15),
                                      r.text(1, 16, 30))
    birth_raw = r.text(2, 1, 6)
    r.verify("mrz.line2.birth_date", birth_raw, r.text(2, 7, 7))
    birth = r.birth_date("mrz.line2.birth_date", birth_raw)
    sex = r.sex("mrz.line2.sex", r.text(2, 8, 8))
    expiry_raw = r.text(2, 9, 14)
    r.verify("mrz.line2.expiry_date", expiry_raw, r.text(2, 15, 15))
    expires = r.expiry_date("mrz.line2.expiry_date", expiry_raw)
    nationality = r.country("mrz.line2.nationality", r.text(2, 16, 18))
    composite = r.text(1, 6, 30) + r.text(2, 1, 7) + r.text(2, 9, 15) + r.text(2, 19, 29)
    r.verify("mrz.line2.composite", composite, r.text(2, 30, 30))
    r.name("mrz.line3.name", r.text(3, 1, 30))
    return MRZDocument(
        layout=TD1, document_code=code, issuing_state=issuing_state, nationality=nationality,
        expires=expires, document_number=number, birth_date=birth, sex=sex,
        optional_data=(optional1.rstrip(FILLER), r.text(2, 19, 29).rstrip(FILLER)),
    )


def parse_td3(line1: str, line2: str, today: dt.date) -> MRZDocument:
    """A passport's two lines (TD3 only), as the register has always read them.

    ASCII blanks around each line are removed (a pasted line often ends in one); everything else
    is as read_mrz. Prefer read_mrz, which also reads ID cards and visas.
    """
    lines = [line.strip(" \t\r\n") if isinstance(line, str) else line for line in (line1, line2)]
    return read_mrz(lines, reference_date=today, layouts={TD3})


def _pad(text: str, width: int) -> str:
    return (text + FILLER * width)[:width]


def _yymmdd(day: dt.date | str | None) -> str:
    if day is None:
        return FILLER * 6
    return day if isinstance(day, str) else day.strftime("%y%m%d")


def format_mrz(
    layout: str, *, issuing_state: str, document_number: str, nationality: str,
    birth_date: dt.date | str | None, expires: dt.date | str, sex: str | None = None,
    document_code: str | None = None, optional_data: Sequence[str] = (), name: str = "TRAVELLER<<TEST",
) -> tuple[str, ...]:
    """The lines of a valid MRZ in `layout`, every check digit computed (tests, benchmarks, docs).

    The inverse of read_mrz: read_mrz(format_mrz(layout, **fields)) gives the fields back.
    `birth_date` may be a YYMMDD string with Doc 9303's fillers for unknown parts ("74<<<<").
    """
    width = SHAPES[layout][1]
    code = _pad(document_code or {TD3: "P", TD1: "I", TD2: "I"}.get(layout, "V"), 2)
    state, nation = _pad(issuing_state, 3), _pad(nationality, 3)
    birth, expiry, sex_char = _yymmdd(birth_date), _yymmdd(expires), sex or FILLER
    optional = list(optional_data)

    def number_field(room: int) -> tuple[str, str, str]:
        """(9 characters, check digit or filler, optional data prefix) for TD1/TD2 overflow."""
        if len(document_number) <= 9:
            principal = _pad(document_number, 9)
            return principal, check_digit(principal), ""
        overflow = document_number[9:] + check_digit(document_number) + FILLER
        if len(overflow) + len(optional[0] if optional else "") > room:
            raise ValueError(f"a {layout} document number has at most {room + 7} characters with this optional data")
        return document_number[:9], FILLER, overflow

    if layout == TD1:
        principal, digit, overflow = number_field(15)
        first = (overflow + (optional[0] if optional else ""))
        line1 = f"{code}{state}{principal}{digit}{_pad(first, 15)}"
        upper = (f"{birth}{check_digit(birth)}{sex_char}{expiry}{check_digit(expiry)}{nation}"
                 f"{_pad(optional[1] if len(optional) > 1 else '', 11)}")
        composite = line1[5:30] + upper[0:7] + upper[8:15] + upper[18:29]
        return line1, upper + check_digit(composite), _pad(name, 30)

    line1 = f"{code}{state}{_pad(name, width - 5)}"
    if layout == TD2:
        principal, digit, overflow = number_field(7)
        number, opt = principal + digit, _pad(overflow + (optional[0] if optional else ""), 7)
    else:
        principal = _pad(document_number, 9)
        number = principal + check_digit(principal)
        opt = optional[0] if optional else ""
    body = f"{number}{nation}{birth}{check_digit(birth)}{sex_char}{expiry}{check_digit(expiry)}"
    if layout == TD3:
        personal = _pad(opt, 14)
        body += personal + (check_digit(personal) if opt else FILLER)
    elif layout == TD2:
        body += opt
    else:
        return line1, body + _pad(opt, width - 28)
    composite = body[0:10] + body[13:20] + body[21:width - 1]
    return line1, body + check_digit(composite)


def make_td3(
    *, issuing_state: str, document_number: str, nationality: str, birth: dt.date, expires: dt.date,
    surname: str = "TRAVELLER", given: str = "TEST", sex: str = "<", personal: str = "", kind: str = "<",
) -> tuple[str, str]:
    """Two valid TD3 lines (for tests, the benchmark and the docs' examples)."""
    line1, line2 = format_mrz(
        TD3, issuing_state=issuing_state, document_number=document_number, nationality=nationality,
        birth_date=birth, expires=expires, sex=None if sex == FILLER else sex, document_code="P" + kind,
        optional_data=(personal,) if personal else (), name=f"{surname}<<{given.replace(' ', '<')}",
    )
    return line1, line2
