from __future__ import annotations

import datetime as dt

from visafree.register.mrz import check_digit, make_td3
from visafree.register.service import Document

D = dt.date


def kaz(number: str = "N0000001", expires: dt.date = D(2032, 1, 1), kind: str = "ordinary") -> Document:
    return Document("KAZ", number, "KAZ", kind, expires)


def mrz(number: str = "N12345678", expires: dt.date = D(2031, 5, 6), state: str = "KAZ") -> tuple[str, str]:
    return make_td3(issuing_state=state, document_number=number, nationality=state, birth=D(1990, 1, 2), expires=expires)


def with_digits(number: str, nationality: str, birth: str, sex: str, expiry: str, personal: str) -> str:
    """A TD3 line 2 from raw fields with every check digit computed (for impossible dates)."""
    body = (f"{number}{check_digit(number)}{nationality}{birth}{check_digit(birth)}{sex}"
            f"{expiry}{check_digit(expiry)}{personal}{check_digit(personal)}")
    return body + check_digit(body[0:10] + body[13:20] + body[21:43])
