
import pytest

from visafree.register.mrz import MRZError, check_digit, parse_td3

from .helpers import D, mrz, with_digits

TODAY = D(2025, 6, 1)


def test_icao_specimen_check_digits():
    # ICAO Doc 9303 Part 4 specimen (issuing state UTO is fictional, so only the digits are checked here).
    line2 = "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
    assert check_digit(line2[0:9]) == line2[9] == "6"
    assert check_digit(line2[13:19]) == line2[19] == "2"
    assert check_digit(line2[21:27]) == line2[27] == "9"
    assert check_digit(line2[28:42]) == line2[42] == "1"
    assert check_digit(line2[0:10] + line2[13:20] + line2[21:43]) == line2[43] == "0"


def test_valid_passport_is_read():
    line1, line2 = mrz("N12345678", D(2031, 5, 6))
    passport = parse_td3(line1, line2, today=TODAY)
    assert (passport.issuing_state, passport.document_number, passport.nationality) == ("KAZ", "N12345678", "KAZ")
    assert passport.expires == D(2031, 5, 6)
    assert passport.passport_type == "ordinary"
    assert "N12345678" not in repr(passport)


def test_diplomatic_passport_type_from_document_code():
    line1, line2 = mrz()
    assert parse_td3("PD" + line1[2:], line2, today=TODAY).passport_type == "diplomatic"


@pytest.mark.parametrize("position, field", [
    (9, "document number"), (19, "birth date"), (27, "expiry date"), (43, "composite"),
])
def test_each_wrong_check_digit_is_named(position, field):
    line1, line2 = mrz()
    wrong = str((int(line2[position]) + 1) % 10)
    with pytest.raises(MRZError) as caught:
        parse_td3(line1, line2[:position] + wrong + line2[position + 1:], today=TODAY)
    assert caught.value.field == field


def test_wrong_personal_number_check_digit():
    line1 = "P<KAZTRAVELLER<<TEST<<<<<<<<<<<<<<<<<<<<<<<<"
    line2 = with_digits("N12345678", "KAZ", "900102", "M", "310506", "12345678901234")
    parse_td3(line1, line2, today=TODAY)  # valid as built
    wrong = str((int(line2[42]) + 1) % 10)
    with pytest.raises(MRZError) as caught:
        parse_td3(line1, line2[:42] + wrong + line2[43:], today=TODAY)
    assert caught.value.field == "personal number"


def test_a_misread_document_character_fails_its_check_digit():
    line1, line2 = mrz("N12345678")
    with pytest.raises(MRZError, match="document number"):
        parse_td3(line1, "N12345679" + line2[9:], today=TODAY)


@pytest.mark.parametrize("expiry, field", [("301332", "expiry date"), ("300230", "expiry date")])
def test_impossible_dates_with_valid_digits(expiry, field):
    line1 = "P<KAZTRAVELLER<<TEST<<<<<<<<<<<<<<<<<<<<<<<<"
    with pytest.raises(MRZError, match="not a real date") as caught:
        parse_td3(line1, with_digits("N12345678", "KAZ", "900102", "M", expiry, "<" * 14), today=TODAY)
    assert caught.value.field == field


def test_impossible_birth_date():
    line1 = "P<KAZTRAVELLER<<TEST<<<<<<<<<<<<<<<<<<<<<<<<"
    with pytest.raises(MRZError) as caught:
        parse_td3(line1, with_digits("N12345678", "KAZ", "900231", "M", "310506", "<" * 14), today=TODAY)
    assert caught.value.field == "birth date"


@pytest.mark.parametrize("state, field", [("XYZ", "issuing state"), ("Q<<", "issuing state")])
def test_unknown_issuing_state(state, field):
    line1, line2 = mrz()
    with pytest.raises(MRZError) as caught:
        parse_td3(line1[:2] + state + line1[5:], line2, today=TODAY)
    assert caught.value.field == field


def test_unknown_nationality():
    line1 = "P<KAZTRAVELLER<<TEST<<<<<<<<<<<<<<<<<<<<<<<<"
    with pytest.raises(MRZError) as caught:
        parse_td3(line1, with_digits("N12345678", "ZZZ", "900102", "M", "310506", "<" * 14), today=TODAY)
    assert caught.value.field == "nationality"


@pytest.mark.parametrize("mutate, field", [
    (lambda l1, l2: (l1[:-1], l2), "line 1"),
    (lambda l1, l2: (l1, l2 + "<"), "line 2"),
    (lambda l1, l2: (l1, l2[:20] + "é" + l2[21:]), "line 2"),
    (lambda l1, l2: ("V" + l1[1:], l2), "document code"),
    (lambda l1, l2: (l1, l2[:20] + "Q" + l2[21:]), "sex"),
])
def test_malformed_lines(mutate, field):
    with pytest.raises(MRZError) as caught:
        parse_td3(*mutate(*mrz()), today=TODAY)
    assert caught.value.field == field


def test_germany_one_letter_code_is_known():
    line1 = "P<D<<TRAVELLER<<TEST<<<<<<<<<<<<<<<<<<<<<<<<"
    passport = parse_td3(line1, with_digits("C01X00T47", "D<<", "900102", "F", "310506", "<" * 14), today=TODAY)
    assert passport.issuing_state == passport.nationality == "D"
