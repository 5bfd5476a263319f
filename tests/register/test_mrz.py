"""The MRZ reader on Doc 9303's own specimens, on each refusal it names, and on hostile text.

Specimens: the MRZs printed in ICAO Doc 9303 Parts 4 (TD3), 5 (TD1), 6 (TD2) and 7 (MRV-A,
MRV-B) for the fictional state Utopia (UTO), as reproduced with their parsed values in
appintheair/MRZParser, Tests/MRZParserTests/MRZParserTests.swift (commit 64b73fa); the national
ID card specimens (Belgium, Germany) from datacheckerbv/MRZParser's tests of the same name.
docs/mrz.md lists the addresses.
"""

import datetime as dt

import pytest

from visafree.register.countries import KNOWN_CODES
from visafree.register.mrz import (
    IDENTITY_LAYOUTS, MRV_A, MRV_B, MRZ_ERRORS, TD1, TD2, TD3, VISA_LAYOUTS, MRZError, check_digit,
    format_mrz, parse_td3, read_mrz, split_mrz,
)

D = dt.date
REFERENCE = D(2025, 6, 1)
WITH_UTOPIA = KNOWN_CODES | {"UTO"}

SPECIMENS = {
    TD3: ("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
          "L898902C36UTO7408122F1204159ZE184226B<<<<<10"),
    TD1: ("I<UTOD231458907<<<<<<<<<<<<<<<",
          "7408122F1204159UTO<<<<<<<<<<<6",
          "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"),
    TD2: ("I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
          "D231458907UTO7408122F1204159<<<<<<<6"),
    MRV_A: ("V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
            "L8988901C4XXX4009078F96121096ZE184226B<<<<<<"),
    MRV_B: ("V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
            "L8988901C4XXX4009078F9612109<<<<<<<<"),
}
# What the specimens say, field by field (the values the cited tests expect).
SPECIMEN_FIELDS = {
    TD3: dict(document_code="P<", issuing_state="UTO", nationality="UTO", document_number="L898902C3",
              birth_date=D(1974, 8, 12), sex="F", expires=D(2012, 4, 15), optional_data=("ZE184226B",)),
    TD1: dict(document_code="I<", issuing_state="UTO", nationality="UTO", document_number="D23145890",
              birth_date=D(1974, 8, 12), sex="F", expires=D(2012, 4, 15), optional_data=("", "")),
    TD2: dict(document_code="I<", issuing_state="UTO", nationality="UTO", document_number="D23145890",
              birth_date=D(1974, 8, 12), sex="F", expires=D(2012, 4, 15), optional_data=("",)),
    MRV_A: dict(document_code="V<", issuing_state="UTO", nationality="XXX", document_number="L8988901C",
                birth_date=D(1940, 9, 7), sex="F", expires=D(1996, 12, 10), optional_data=("6ZE184226B",)),
    MRV_B: dict(document_code="V<", issuing_state="UTO", nationality="XXX", document_number="L8988901C",
                birth_date=D(1940, 9, 7), sex="F", expires=D(1996, 12, 10), optional_data=("",)),
}
KINDS = {TD3: "passport", TD1: "official_travel_document", TD2: "official_travel_document",
         MRV_A: "visa", MRV_B: "visa"}


def read(lines, **kwargs):
    return read_mrz(lines, reference_date=kwargs.pop("reference_date", REFERENCE), **kwargs)


def refused(lines, **kwargs) -> MRZError:
    with pytest.raises(MRZError) as caught:
        read(lines, **kwargs)
    return caught.value


def replace(lines, line: int, position: int, char: str) -> tuple[str, ...]:
    """`lines` with the character at Doc 9303 position `position` (1-based) of `line` replaced."""
    out = list(lines)
    text = out[line - 1]
    out[line - 1] = text[:position - 1] + char + text[position:]
    return tuple(out)


def other_digit(char: str) -> str:
    return str((int(char) + 1) % 10)


# --- Doc 9303's specimens ---------------------------------------------------------------------

@pytest.mark.parametrize("layout", SPECIMENS)
def test_each_doc_9303_specimen_is_read(layout):
    document = read(SPECIMENS[layout], countries=WITH_UTOPIA)
    assert document.layout == layout and document.kind == KINDS[layout]
    assert document.is_visa == (layout in VISA_LAYOUTS)
    for name, value in SPECIMEN_FIELDS[layout].items():
        assert getattr(document, name) == value, name


@pytest.mark.parametrize("layout", SPECIMENS)
def test_formatting_the_specimens_fields_gives_the_specimen(layout):
    """format_mrz (used by the property tests) writes what Doc 9303 prints, independently checked."""
    fields = dict(SPECIMEN_FIELDS[layout])
    del fields["document_code"]
    lines = format_mrz(layout, name="ERIKSSON<<ANNA<MARIA", **fields)
    assert lines == SPECIMENS[layout]


def test_specimen_check_digits_by_hand():
    # Doc 9303 Part 3's worked example is the TD3 specimen: every digit from 7-3-1 weights.
    line2 = SPECIMENS[TD3][1]
    assert check_digit(line2[0:9]) == line2[9] == "6"
    assert check_digit(line2[13:19]) == line2[19] == "2"
    assert check_digit(line2[21:27]) == line2[27] == "9"
    assert check_digit(line2[28:42]) == line2[42] == "1"
    assert check_digit(line2[0:10] + line2[13:20] + line2[21:43]) == line2[43] == "0"


def test_utopia_is_not_a_country_by_default():
    assert refused(SPECIMENS[TD3]).field == "mrz.line1.issuing_state"


def test_belgian_id_card_with_a_twelve_character_number():
    # Doc 9303 Part 5: a filler instead of the check digit, the number goes on in the optional data.
    card = read(("IDBEL000001115<7027<<<<<<<<<<<", "9502286F3001064BEL950228998747", "SPECIMEN<<SPECIMEN<<<<<<<<<<<<"))
    assert (card.layout, card.document_number, card.issuing_state) == (TD1, "000001115702", "BEL")
    assert (card.birth_date, card.expires, card.optional_data) == (D(1995, 2, 28), D(2030, 1, 6), ("", "95022899874"))


def test_german_id_card_one_letter_state_and_unspecified_sex():
    card = read(("IDD<<T010089212<<<<<<<<<<<<<<<", "6408125<2010315D<<<<<<<<<<<<<6", "MUSTERMANN<<ERIKA<<<<<<<<<<<<<"))
    assert (card.issuing_state, card.nationality, card.document_number, card.sex) == ("D", "D", "T01008921", None)
    assert card.passport_type is None and card.kind == "official_travel_document"


# --- every check digit, named ---------------------------------------------------------------

def valid(layout: str) -> tuple[str, ...]:
    return format_mrz(layout, issuing_state="KAZ", document_number="N12345678", nationality="KAZ",
                      birth_date=D(1990, 1, 2), sex="M", expires=D(2031, 5, 6),
                      optional_data=("AB1234", "X9") if layout == TD1 else ("AB1234",))


CHECK_DIGITS = [
    (TD3, 2, 10, "mrz.line2.document_number"), (TD3, 2, 20, "mrz.line2.birth_date"),
    (TD3, 2, 28, "mrz.line2.expiry_date"), (TD3, 2, 43, "mrz.line2.personal_number"),
    (TD3, 2, 44, "mrz.line2.composite"),
    (TD2, 2, 10, "mrz.line2.document_number"), (TD2, 2, 20, "mrz.line2.birth_date"),
    (TD2, 2, 28, "mrz.line2.expiry_date"), (TD2, 2, 36, "mrz.line2.composite"),
    (TD1, 1, 15, "mrz.line1.document_number"), (TD1, 2, 7, "mrz.line2.birth_date"),
    (TD1, 2, 15, "mrz.line2.expiry_date"), (TD1, 2, 30, "mrz.line2.composite"),
    (MRV_A, 2, 10, "mrz.line2.document_number"), (MRV_A, 2, 20, "mrz.line2.birth_date"),
    (MRV_A, 2, 28, "mrz.line2.valid_until"),
    (MRV_B, 2, 10, "mrz.line2.document_number"), (MRV_B, 2, 20, "mrz.line2.birth_date"),
    (MRV_B, 2, 28, "mrz.line2.valid_until"),
]


@pytest.mark.parametrize("layout, line, position, field", CHECK_DIGITS)
def test_each_wrong_check_digit_is_refused_with_its_field(layout, line, position, field):
    lines = valid(layout)
    read(lines)  # valid as built
    digit = lines[line - 1][position - 1]
    error = refused(replace(lines, line, position, other_digit(digit)))
    assert (error.field, error.code) == (field, "mrz_check_digit")
    assert "N12345678" not in str(error) and "900102" not in str(error)


@pytest.mark.parametrize("layout, line, position, field", CHECK_DIGITS)
def test_a_letter_or_filler_for_a_check_digit_is_refused(layout, line, position, field):
    assert refused(replace(valid(layout), line, position, "A")).field == field
    # A filler: only TD1 and TD2 give it a meaning, for a document number (a long one; tested below).
    if not (layout in (TD1, TD2) and field.endswith("document_number")):
        assert refused(replace(valid(layout), line, position, "<")).field == field


@pytest.mark.parametrize("layout", [MRV_A, MRV_B])
def test_visas_have_no_composite_digit(layout):
    # Part 7: nothing checks a visa's optional data, so a change there is read, not refused.
    lines = valid(layout)
    changed = replace(lines, 2, 29, "Z")
    assert read(changed).optional_data == ("ZB1234",) and read(lines).optional_data == ("AB1234",)


def test_td1_composite_covers_the_upper_lines_optional_data():
    lines = valid(TD1)
    assert refused(replace(lines, 1, 16, "Z")).field == "mrz.line2.composite"
    assert refused(replace(lines, 2, 19, "Z")).field == "mrz.line2.composite"


def test_a_misread_document_number_fails_its_check_digit():
    lines = valid(TD3)
    assert refused(replace(lines, 2, 9, "9")).field == "mrz.line2.document_number"


# --- TD3 personal number -----------------------------------------------------------------------

def test_unused_personal_number_may_have_filler_or_zero_digit():
    lines = format_mrz(TD3, issuing_state="KAZ", document_number="N1", nationality="KAZ",
                       birth_date=D(1990, 1, 2), expires=D(2031, 5, 6))
    assert lines[1][42] == "<"
    read(lines)
    zero = replace(lines, 2, 43, "0")
    composite = zero[1][0:10] + zero[1][13:20] + zero[1][21:43]
    read(replace(zero, 2, 44, check_digit(composite)))


def test_used_personal_number_needs_its_digit():
    lines = valid(TD3)
    body = lines[1][:42] + "<"
    composite = body[0:10] + body[13:20] + body[21:43]
    error = refused((lines[0], body + check_digit(composite)))
    assert error.field == "mrz.line2.personal_number"


# --- long document numbers (TD1, TD2) ------------------------------------------------------

@pytest.mark.parametrize("layout, number", [(TD1, "AB1234567890123"), (TD2, "AB12345678901"), (TD1, "AB1234567890")])
def test_long_document_numbers_round_trip(layout, number):
    lines = format_mrz(layout, issuing_state="KAZ", document_number=number, nationality="KAZ",
                       birth_date=D(1990, 1, 2), expires=D(2031, 5, 6))
    assert read(lines).document_number == number


def test_long_document_number_with_a_wrong_digit_is_refused():
    lines = format_mrz(TD1, issuing_state="KAZ", document_number="AB1234567890", nationality="KAZ",
                       birth_date=D(1990, 1, 2), expires=D(2031, 5, 6))
    digit = lines[0][18]  # positions 16-18 hold "890", then the whole number's check digit
    assert refused(replace(lines, 1, 19, other_digit(digit))).field == "mrz.line1.document_number"


@pytest.mark.parametrize("optional", ["ABCDEF", "ABCDEFG", ""])
def test_long_document_number_without_its_end_is_refused(optional):
    # A filler for the check digit says "continued in the optional data": there must be a
    # continuation, then a digit, then a filler.
    lines = format_mrz(TD2, issuing_state="KAZ", document_number="N12345678", nationality="KAZ",
                       birth_date=D(1990, 1, 2), expires=D(2031, 5, 6), optional_data=(optional,))
    assert refused(replace(lines, 2, 10, "<")).field == "mrz.line2.document_number"


# --- characters, lengths, lines: before anything else ----------------------------------------

def test_eszett_no_longer_makes_a_short_line_pass():
    # issue 10.7: "ß".upper() is "SS", which made a 43-character line pass as 44.
    line1, line2 = valid(TD3)
    short = line2[:40] + "ß" + line2[42:]
    assert len(short) == 43 and len(short.upper()) == 44
    error = refused((line1, short))
    assert (error.field, error.code, error.params["got"]) == ("mrz.line2", "mrz_length", 43)
    # The same on the first line, where the length also tells the layout.
    error = refused((line1[:40] + "ß" + line1[42:], line2))
    assert (error.field, error.code, error.params["got"]) == ("mrz.line1", "mrz_layout", 43)


@pytest.mark.parametrize("char", ["ß", "é", "\x00", " ", "\t", "٣", "Ａ", "\u200b", "-", "\n"])
def test_non_mrz_characters_are_refused_with_their_position(char):
    lines = valid(TD3)
    error = refused(replace(lines, 2, 5, char))
    assert (error.field, error.code, error.params["position"]) == ("mrz.line2", "mrz_character", 5)


def test_lower_case_is_refused_not_folded():
    line1, line2 = valid(TD3)
    error = refused((line1.lower(), line2))
    assert (error.field, error.code, error.params["position"]) == ("mrz.line1", "mrz_lower_case", 1)
    error = refused((line1, "n" + line2[1:]))
    assert (error.field, error.code, error.params["position"]) == ("mrz.line2", "mrz_lower_case", 1)


@pytest.mark.parametrize("mutate, field, code", [
    (lambda l: (l[0], l[1] + "<"), "mrz.line2", "mrz_length"),
    (lambda l: (l[0], l[1][:-1]), "mrz.line2", "mrz_length"),
    (lambda l: (l[0] + "<", l[1]), "mrz.line1", "mrz_layout"),
    (lambda l: (l[0], "<" * 1_000_000), "mrz.line2", "mrz_length"),
    (lambda l: (l[0], l[1] + " "), "mrz.line2", "mrz_length"),
    (lambda l: (l[0],), "mrz", "mrz_lines"),
    (lambda l: (l[0], l[1], l[1], l[1]), "mrz", "mrz_lines"),
    (lambda l: (l[0], l[1], l[1]), "mrz.line1", "mrz_length"),  # three lines: a TD1 card of 30
    (lambda l: (l[0], None), "mrz.line2", "mrz_input"),
    (lambda l: (l[0], l[1].encode()), "mrz.line2", "mrz_input"),
    (lambda l: 42, "mrz", "mrz_input"),
    (lambda l: None, "mrz", "mrz_input"),
])
def test_malformed_zones(mutate, field, code):
    error = refused(mutate(valid(TD3)))
    assert (error.field, error.code) == (field, code)


def test_a_block_of_text_is_split_into_lines():
    lines = valid(TD1)
    assert read("\r\n".join(lines) + "\n").document_number == "N12345678"
    assert split_mrz("  " + lines[0] + " \n\n" + lines[1] + "\n" + lines[2]) == list(lines)
    # Only ASCII blanks are taken off: an ideographic space stays, and is refused.
    assert refused(lines[0] + "\u3000\n" + lines[1] + "\n" + lines[2]).code == "mrz_length"


# --- fields --------------------------------------------------------------------------------

def test_impossible_birth_date_does_not_echo_it():
    # issue 10.7: the birth-date error used to repeat the date.
    lines = format_mrz(TD3, issuing_state="KAZ", document_number="N1", nationality="KAZ",
                       birth_date="900231", expires=D(2031, 5, 6))
    error = refused(lines)
    assert (error.field, error.code) == ("mrz.line2.birth_date", "mrz_date")
    assert "900231" not in str(error) and "900231" not in repr(error.args) and "900231" not in str(error.params)


@pytest.mark.parametrize("expiry", ["301332", "300230", "AB0101"])
def test_impossible_expiry_dates_with_valid_digits(expiry):
    lines = format_mrz(TD3, issuing_state="KAZ", document_number="N1", nationality="KAZ",
                       birth_date=D(1990, 1, 2), expires=expiry)
    error = refused(lines)
    assert error.field == "mrz.line2.expiry_date" and error.code in ("mrz_date", "mrz_format")
    assert expiry not in str(error)


@pytest.mark.parametrize("birth, expected", [
    ("250601", D(2025, 6, 1)),   # the reference date itself is a possible birth date
    ("250602", D(1925, 6, 2)),   # a day later can only be a century earlier
    ("000229", D(2000, 2, 29)),
    ("960229", D(1996, 2, 29)),  # 2096 is a real date but in the future
    ("74<<<<", None), ("7408<<", None), ("<<<<<<", None),  # Doc 9303 fillers: unknown parts
])
def test_birth_dates_are_never_after_the_reference_date(birth, expected):
    lines = format_mrz(TD3, issuing_state="KAZ", document_number="N1", nationality="KAZ",
                       birth_date=birth, expires=D(2031, 5, 6))
    assert read(lines).birth_date == expected


@pytest.mark.parametrize("birth", ["7<<<<<", "74<8<<", "<<0812", "010229"])
def test_broken_birth_dates_are_refused(birth):
    lines = format_mrz(TD3, issuing_state="KAZ", document_number="N1", nationality="KAZ",
                       birth_date=birth, expires=D(2031, 5, 6))
    assert refused(lines).field == "mrz.line2.birth_date"


@pytest.mark.parametrize("expiry, expected", [
    ("740101", D(2074, 1, 1)), ("750101", D(1975, 1, 1)), ("120415", D(2012, 4, 15)), ("991231", D(1999, 12, 31)),
])
def test_expiry_within_fifty_years_either_side(expiry, expected):
    lines = format_mrz(TD3, issuing_state="KAZ", document_number="N1", nationality="KAZ",
                       birth_date=D(1990, 1, 2), expires=expiry)
    assert read(lines).expires == expected


def test_reference_date_decides_the_century():
    lines = format_mrz(MRV_B, issuing_state="VNM", document_number="V1", nationality="KAZ",
                       birth_date="261203", expires="270101")
    assert read(lines, reference_date=D(2026, 12, 2)).birth_date == D(1926, 12, 3)
    assert read(lines, reference_date=D(2026, 12, 3)).birth_date == D(2026, 12, 3)


@pytest.mark.parametrize("position, value, field, code", [
    (1, "X", "mrz.line1.document_code", "mrz_document_code"),
    (2, "1", "mrz.line1.document_code", "mrz_document_code"),
    (3, "XYZ", "mrz.line1.issuing_state", "mrz_country"),
    (3, "<D<", "mrz.line1.issuing_state", "mrz_format"),
    (3, "K1Z", "mrz.line1.issuing_state", "mrz_format"),
    (3, "<<<", "mrz.line1.issuing_state", "mrz_empty"),
    (8, "9", "mrz.line1.name", "mrz_format"),
])
def test_line1_fields(position, value, field, code):
    line1, line2 = valid(TD3)
    error = refused((line1[:position - 1] + value + line1[position - 1 + len(value):], line2))
    assert (error.field, error.code) == (field, code)


def test_empty_name_is_refused():
    line1, line2 = valid(TD3)
    assert refused((line1[:5] + "<" * 39, line2)).field == "mrz.line1.name"


def test_td1_name_on_line_three():
    lines = valid(TD1)
    assert refused(replace(lines, 3, 3, "7")).field == "mrz.line3.name"


def test_td1_document_code():
    lines = valid(TD1)
    assert refused(replace(lines, 1, 1, "P")).field == "mrz.line1.document_code"
    for first in "ACI":
        # The document code is covered by no check digit; any of Doc 9303's three letters reads.
        assert read(replace(lines, 1, 1, first)).document_code == first + "<"


def test_unknown_nationality_and_sex():
    lines = valid(TD3)
    assert refused(replace(replace(lines, 2, 11, "Z"), 2, 12, "Z")).field == "mrz.line2.nationality"
    error = refused(replace(lines, 2, 21, "Q"))
    assert (error.field, error.code) == ("mrz.line2.sex", "mrz_sex")
    for sex, value in (("F", "F"), ("X", "X"), ("<", None)):
        assert read(replace(lines, 2, 21, sex)).sex == value  # sex is outside the composite


def test_nationality_of_a_td1_card():
    lines = valid(TD1)
    assert refused(replace(lines, 2, 16, "1")).field == "mrz.line2.nationality"


def test_passport_types_from_the_document_code():
    lines = valid(TD3)
    assert read(lines).passport_type == "ordinary"
    for second, kind in (("D", "diplomatic"), ("S", "service"), ("O", "official"), ("X", "ordinary")):
        assert read(replace(lines, 1, 2, second)).passport_type == kind
    assert read(valid(MRV_A)).passport_type is None


# --- what is accepted where --------------------------------------------------------------------

def test_layouts_limit_what_is_accepted():
    error = refused(valid(MRV_A), layouts=IDENTITY_LAYOUTS)
    assert (error.field, error.code, error.params["layout"]) == ("mrz", "mrz_layout_not_accepted", MRV_A)
    assert refused(valid(TD1), layouts=VISA_LAYOUTS).code == "mrz_layout_not_accepted"
    assert read(valid(MRV_B), layouts=VISA_LAYOUTS).layout == MRV_B


def test_parse_td3_reads_passports_only_and_strips_ascii_blanks():
    line1, line2 = valid(TD3)
    passport = parse_td3(" " + line1 + "\n", line2 + " ", today=REFERENCE)
    assert (passport.issuing_state, passport.document_number, passport.expires) == ("KAZ", "N12345678", D(2031, 5, 6))
    with pytest.raises(MRZError) as caught:
        parse_td3(*valid(MRV_A), today=REFERENCE)
    assert caught.value.code == "mrz_layout_not_accepted"
    with pytest.raises(MRZError) as caught:
        parse_td3(line1, line2 + "\u00a0", today=REFERENCE)  # a no-break space is not stripped
    assert caught.value.code == "mrz_length"


# --- nothing personal leaves in errors or repr -------------------------------------------------

def test_repr_hides_personal_data():
    document = read(valid(TD3))
    text = repr(document)
    assert "N12345678" not in text and "1990" not in text and "AB1234" not in text and "sex" not in text
    assert "KAZ" in text and "2031" in text


def test_every_error_code_has_a_message_and_params_hold_no_values():
    assert set(MRZ_ERRORS) >= {"mrz_check_digit", "mrz_length", "mrz_character", "mrz_lower_case", "mrz_date"}
    lines = valid(TD3)
    for line, position, _ in [(2, 10, ""), (2, 20, ""), (2, 28, ""), (2, 44, "")]:
        error = refused(replace(lines, line, position, other_digit(lines[line - 1][position - 1])))
        assert str(error) == error.message == error.template.format(**error.params)
        assert all(not isinstance(v, str) or v not in lines[1] for v in error.params.values() if len(str(v)) > 3)


def test_the_message_names_the_field_in_words():
    lines = valid(TD3)
    error = refused(replace(lines, 2, 28, other_digit(lines[1][27])))
    assert str(error).startswith("MRZ expiry date: check digit does not match")
