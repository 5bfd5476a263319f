"""Properties of the MRZ reader over generated documents of every layout.

1. Round trip: fields -> format_mrz (every check digit computed) -> read_mrz gives the fields
   back. format_mrz itself is pinned to Doc 9303's specimens in test_mrz.py.
2. One character changed anywhere a check digit covers is refused, or reads as a different
   document: never silently the same one. (Doc 9303's 7-3-1 digits cannot see every change:
   `<` and `0` both count 0, and `0`/`A`/`K`/`U` differ by multiples of 10; such a change gives
   another document number, which this test accepts and docs/mrz.md states.)
3. Any text at all: a document or an MRZError, never another exception, and no error message
   carries the document number.
"""

from __future__ import annotations

import datetime as dt
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from visafree.register.countries import KNOWN_CODES
from visafree.register.mrz import ALL_LAYOUTS, MRV_A, MRV_B, SHAPES, TD1, TD2, TD3, MRZDocument, MRZError, format_mrz, read_mrz

PROFILE = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])
ALPHANUMERIC = string.ascii_uppercase + string.digits
MRZ_ALPHABET = ALPHANUMERIC + "<"
COUNTRIES = sorted(KNOWN_CODES)
# Room for optional data per layout (TD1: line 1's, then line 2's).
OPTIONAL_ROOM = {TD3: (14,), TD2: (7,), TD1: (15, 11), MRV_A: (16,), MRV_B: (8,)}


def alphanumeric(min_size: int, max_size: int):
    return st.text(alphabet=ALPHANUMERIC, min_size=min_size, max_size=max_size)


@st.composite
def documents(draw, layouts=tuple(sorted(ALL_LAYOUTS))):
    """(reference date, layout, the fields format_mrz takes, the MRZDocument they must give)."""
    layout = draw(st.sampled_from(layouts))
    reference = draw(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2090, 12, 31)))
    rooms = list(OPTIONAL_ROOM[layout])
    # Document numbers longer than 9 exist on TD1 and TD2 only; they take room from line 1's
    # (TD1) or the only (TD2) optional data: the rest, a check digit and a filler.
    longest = 9 + (rooms[0] - 2 if layout in (TD1, TD2) else 0)
    number = draw(alphanumeric(1, longest))
    if len(number) > 9:
        rooms[0] -= len(number) - 9 + 2
    optional = tuple(draw(alphanumeric(0, room)) for room in rooms)
    if draw(st.integers(0, 9)) == 0:  # Doc 9303 fillers for a birth date wholly or partly unknown
        birth = draw(st.sampled_from(["<<<<<<", "{:02d}<<<<", "{:02d}{:02d}<<"])).format(
            draw(st.integers(0, 99)), draw(st.integers(1, 12)))
        birth_value = None
    else:
        # A birth date is read as the latest date with its digits not after the reference date:
        # any day of the last 99 years round-trips.
        birth = birth_value = draw(st.dates(min_value=dt.date(reference.year - 99, 1, 1), max_value=reference))
    expires = draw(st.dates(min_value=dt.date(reference.year - 50, 1, 1), max_value=dt.date(reference.year + 49, 12, 31)))
    first = {TD3: "P", TD1: "I", TD2: "I"}.get(layout, "V")
    if layout in (TD1, TD2):
        first = draw(st.sampled_from("ACI"))
    code = first + draw(st.sampled_from(string.ascii_uppercase + "<"))
    fields = dict(
        issuing_state=draw(st.sampled_from(COUNTRIES)), nationality=draw(st.sampled_from(COUNTRIES)),
        document_number=number, birth_date=birth, expires=expires, sex=draw(st.sampled_from(["F", "M", "X", None])),
        document_code=code, optional_data=optional,
        name=draw(st.text(alphabet=string.ascii_uppercase, min_size=1, max_size=12)) + "<<"
        + draw(st.text(alphabet=string.ascii_uppercase, max_size=12)),
    )
    expected = MRZDocument(
        layout=layout, document_code=code, issuing_state=fields["issuing_state"], nationality=fields["nationality"],
        expires=expires, document_number=number, birth_date=birth_value, sex=fields["sex"], optional_data=optional,
    )
    return reference, layout, fields, expected


def parsed_values(document: MRZDocument) -> tuple:
    return (document.layout, document.document_code, document.issuing_state, document.nationality,
            document.document_number, document.birth_date, document.sex, document.expires, document.optional_data)


@settings(max_examples=600, **PROFILE)
@given(documents())
def test_any_generated_valid_mrz_round_trips(case):
    reference, layout, fields, expected = case
    lines = format_mrz(layout, **fields)
    lines_shape = (len(lines), {len(line) for line in lines})
    assert lines_shape == (SHAPES[layout][0], {SHAPES[layout][1]})
    assert set("".join(lines)) <= set(MRZ_ALPHABET)
    document = read_mrz(lines, reference_date=reference)
    assert parsed_values(document) == parsed_values(expected)


def checked_positions(layout: str) -> list[tuple[int, int]]:
    """(line, position) of every character a check digit covers, and of the digits themselves."""
    def span(line, start, end):
        return [(line, p) for p in range(start, end + 1)]

    if layout == TD1:
        return span(1, 6, 30) + span(2, 1, 7) + span(2, 9, 15) + span(2, 19, 30)
    common = span(2, 1, 10) + span(2, 14, 20) + span(2, 22, 28)
    if layout in (MRV_A, MRV_B):
        return common  # Part 7: no composite, so the optional data is covered by nothing
    return common + span(2, 29, SHAPES[layout][1])  # optional data, its digit (TD3), the composite


@settings(max_examples=1500, **PROFILE)
@given(documents(), st.data())
def test_one_changed_character_in_a_checked_field_is_refused_or_changes_the_document(case, data):
    reference, layout, fields, _ = case
    lines = list(format_mrz(layout, **fields))
    original = read_mrz(lines, reference_date=reference)
    line, position = data.draw(st.sampled_from(checked_positions(layout)))
    old = lines[line - 1][position - 1]
    new = data.draw(st.sampled_from(MRZ_ALPHABET).filter(lambda c: c != old))
    lines[line - 1] = lines[line - 1][:position - 1] + new + lines[line - 1][position:]
    try:
        changed = read_mrz(lines, reference_date=reference)
    except MRZError as error:
        if len(fields["document_number"]) >= 4:
            assert fields["document_number"] not in str(error)
        return
    assert parsed_values(changed) != parsed_values(original)


@settings(max_examples=600, **PROFILE)
@given(documents(), st.data())
def test_any_character_outside_the_alphabet_is_refused_wherever_it_is(case, data):
    reference, layout, fields, _ = case
    lines = list(format_mrz(layout, **fields))
    line = data.draw(st.integers(1, len(lines)))
    position = data.draw(st.integers(1, len(lines[line - 1])))
    char = data.draw(st.characters().filter(lambda c: c not in MRZ_ALPHABET))
    lines[line - 1] = lines[line - 1][:position - 1] + char + lines[line - 1][position:]
    try:
        read_mrz(lines, reference_date=reference)
    except MRZError as error:
        assert error.field in ("mrz", f"mrz.line{line}")
        assert error.code in ("mrz_character", "mrz_lower_case", "mrz_lines")
        return
    raise AssertionError("a character outside A-Z, 0-9 and < was accepted")


@settings(max_examples=1500, **PROFILE)
@given(st.one_of(
    st.lists(st.text(), max_size=4),
    st.lists(st.text(alphabet=MRZ_ALPHABET, min_size=30, max_size=30), min_size=3, max_size=3),
    st.lists(st.sampled_from([36, 44]).flatmap(lambda n: st.text(alphabet=MRZ_ALPHABET, min_size=n, max_size=n)),
             min_size=2, max_size=2),
    st.text(),
    st.none(), st.integers(), st.binary(),
), st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(9000, 1, 1)))
def test_any_input_gives_a_document_or_an_mrz_error(value, reference):
    try:
        document = read_mrz(value, reference_date=reference)
    except MRZError as error:
        assert error.code and error.field.startswith("mrz")
        assert str(error) == error.message
        return
    assert isinstance(document, MRZDocument)
