"""Regimes are data: strict loading, user regimes, and the counting convention as one value."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from importlib import resources

import pytest

from visafree.contract import run_check
from visafree.engine import InputError, RegimeError
from visafree.regimes import builtin_regimes, load_regime_file, regime_catalogue

from visafree.regimes import builtin_files

# Wherever the file lives (regimes are grouped in folders by the granting country).
VN_KZ = resources.files("visafree.regimes").joinpath(builtin_files()["vn-kz"]).read_text(encoding="utf-8")


def write(tmp_path, text, name="mine.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_builtin_regimes_cite_a_source_for_every_parameter_and_rule():
    for regime in builtin_regimes().values():
        assert regime.rules and all(rule.citation for rule in regime.rules.values())
        for parameter in regime.parameters.values():
            assert parameter.rule in regime.rules
            assert all(value.source for value in parameter.values)
        assert all(period.source for period in regime.in_force)


def test_vn_kz_is_in_force_from_25_may_2024_without_end():
    regime = builtin_regimes()["vn-kz"]
    assert regime.in_force_on(dt.date(2024, 5, 24)) is None
    assert regime.in_force_on(dt.date(2024, 5, 25)) is not None
    assert regime.in_force_on(dt.date(2099, 1, 1)) is not None
    assert regime.covers("KAZ", "VNM") and regime.covers("VNM", "KAZ")
    assert not regime.covers("KAZ", "KAZ")


@pytest.mark.parametrize(
    "change, message",
    [
        (('id = "vn-kz"', 'id = "vn-kz"\nfavourite_colour = "blue"'), "unknown key(s) favourite_colour"),
        (('citation = "Agreement VN–KZ 2023, Art. 4 — https://kazpress.kz/news/otmenit-vizy-planiruiut-dlia-kazakhstantsev-pri-vezde-vo-vetnam/"\n', ""), "rules.R6: missing required key 'citation'"),
        (("[[coverage]]\n", "[[in_force]]\nsince = 2024-06-01\nsource = \"x\"\n\n[[coverage]]\n"),
         "in_force: periods of validity overlap"),
        (('values = [{ since = 2024-05-25, value = 30,', 'values = [{ since = 2024-05-25, value = 29, source = "a" }, { since = 2024-05-30, value = 30,'),
         "periods of validity overlap"),
        (('value = 90,', 'value = 180,'), "must be less than window_days"),
        (('rule = "R3"\ndescription = "Longest', 'rule = "R99"\ndescription = "Longest'), "rule 'R99' is not defined"),
        (('value = 30,', 'value = "thirty",'), "is not a valid value for per_stay_max_days"),
    ],
)
def test_loading_is_strict(tmp_path, change, message):
    old, new = change
    assert old in VN_KZ
    text = VN_KZ.replace(old, new, 1).replace('id = "vn-kz"', 'id = "mine"', 1)
    with pytest.raises(RegimeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_regime_file(write(tmp_path, text))


def test_a_user_regime_may_not_replace_a_builtin(tmp_path):
    with pytest.raises(RegimeError, match="already defined"):
        regime_catalogue([write(tmp_path, VN_KZ)])


def test_the_other_reading_of_r3_is_one_changed_value(tmp_path):
    """RULES.md §2: under the Civil Code reading, entering on 1 July makes 31 July the last day."""
    text = VN_KZ.replace('id = "vn-kz"', 'id = "vn-kz-civil-code"').replace(
        "value = true, source = \"Border practice", "value = false, source = \"Civil Code 2015 Art. 147; Border practice")
    regimes = regime_catalogue([write(tmp_path, text)])
    request = {"nationality": "KAZ", "destination": "VNM", "on": "2024-07-05", "stays": [{"entry": "2024-07-01"}]}
    practice = run_check({"regime": "vn-kz", **request}, regimes)
    civil = run_check({"regime": "vn-kz-civil-code", **request}, regimes)
    assert practice["current_stay"]["latest_exit"] == "2024-07-30"
    assert civil["current_stay"]["latest_exit"] == "2024-07-31"
    assert civil["convention"] == {"entry_day_counts": False}


def test_more_than_ten_thousand_stays_is_refused():
    stays = [{"entry": (dt.date(1990, 1, 1) + dt.timedelta(days=2 * i)).isoformat(),
              "exit": (dt.date(1990, 1, 1) + dt.timedelta(days=2 * i)).isoformat()} for i in range(10_001)]
    with pytest.raises(InputError) as refused:
        run_check({"regime": "vn-kz", "nationality": "KAZ", "destination": "VNM", "on": "2046-01-01", "stays": stays},
                  builtin_regimes())
    assert (refused.value.code, refused.value.field) == ("invalid_request", "stays")


def test_the_engine_imports_only_the_standard_library():
    # visafree_engine__mypyc is the engine's own compiled code (setup.py), when it is compiled.
    code = (
        "import sys; before = set(sys.modules); import visafree.engine; "
        "new = {m.split('.')[0] for m in set(sys.modules) - before}; "
        "print(sorted(m for m in new if m not in sys.stdlib_module_names"
        " and m not in ('visafree', 'visafree_engine__mypyc')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
