"""Run the per-regime case files in tests/engine/cases through the v1 contract.

A case file reads like the agreement: each case names the rule it checks and the sentence of
RULES.md it follows, gives a v1 request and the parts of the response it expects.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest

from visafree.contract import run_check
from visafree.engine import InputError
from visafree.regimes import builtin_regimes

CASES = Path(__file__).parent / "cases"


def _jsonable(value):
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _load():
    for path in sorted(CASES.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for case in data["case"]:
            yield pytest.param(data["regime"], case, id=f"{path.stem}: {case['name']}")


def _at(body, path: str):
    for part in path.split("."):
        body = body[int(part)] if isinstance(body, list) else body[part]
    return body


@pytest.mark.parametrize("regime, case", list(_load()))
def test_case(regime, case):
    assert case["rule"] and case["follows"], "every case cites its rule and the sentence it follows"
    if "skip" in case:  # a case the engine cannot answer yet: written down, with the reason
        pytest.skip(case["skip"])
    request = {"regime": regime, **_jsonable(case["request"])}
    if "error" in case:
        with pytest.raises(InputError) as refused:
            run_check(request, builtin_regimes())
        assert (refused.value.code, refused.value.field) == (case["error"], case["field"])
        return
    body = run_check(request, builtin_regimes())
    for path, expected in case["expect"].items():
        expected = None if expected == "null" else _jsonable(expected)
        assert _at(body, path) == expected, f"{path}: {case['follows']}"


def test_every_rule_of_each_regime_file_is_exercised():
    cited = {}
    for path in CASES.glob("*.toml"):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        cited.setdefault(data["regime"], set()).update(c["rule"] for c in data["case"])
    assert cited["vn-kz"] >= {"R1", "R2", "R3", "R4"}
    assert cited["schengen"] >= {"art6-1", "art6-1-a", "annex-II"}
