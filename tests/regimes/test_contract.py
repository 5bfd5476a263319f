"""One contract for every built-in regime, as python-holidays runs one suite over its countries.

A regime is law that people act on: each value names the text it comes from, with its address;
its dates leave no gap and no overlap; it is titled in the four languages; it sits in the
folder of the country that grants it; it has a case file and a line in docs/regimes.md.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from pathlib import Path

import pytest

from visafree.engine.regime import KINDS, Period
from visafree.regimes import builtin_files, builtin_regimes

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "tests" / "engine" / "cases"
ADDRESS = re.compile(r"https?://\S+")
LANGUAGES = ("vi", "ru", "kk")
#: Folders of regimes, by the country or union that grants them.
GROUPS = {"eu", "vnm", "kaz"}

REGIMES = builtin_regimes()
IDS = sorted(REGIMES)


def sources(regime):
    """(where, text) of every citation and source a regime carries."""
    yield "source", regime.source
    for i, period in enumerate(regime.in_force):
        yield f"in_force[{i}]", period.source
    for i, cov in enumerate(regime.coverage):
        yield f"coverage[{i}]", cov.source
    for rule in regime.rules.values():
        yield f"rules.{rule.id}.citation", rule.citation
    for param in regime.parameters.values():
        for i, value in enumerate(param.values):
            yield f"parameters.{param.name}.values[{i}]", value.source


def test_there_are_regimes_of_every_group():
    groups = {path.split("/")[0] for path in builtin_files().values()}
    assert groups <= GROUPS and "eu" in groups and "vnm" in groups


@pytest.mark.parametrize("regime_id", IDS)
def test_every_value_names_its_source_with_an_address(regime_id):
    missing = [where for where, text in sources(REGIMES[regime_id]) if not ADDRESS.search(text or "")]
    assert not missing, f"{regime_id}: no address (URL) in {', '.join(missing)}"


@pytest.mark.parametrize("regime_id", IDS)
def test_titled_in_every_language(regime_id):
    regime = REGIMES[regime_id]
    assert set(LANGUAGES) <= set(regime.titles), f"{regime_id}: titles lack {set(LANGUAGES) - set(regime.titles)}"
    for rule in regime.rules.values():
        assert set(LANGUAGES) <= set(rule.titles), f"{regime_id}: rules.{rule.id}.titles"
    assert regime.kind in KINDS


@pytest.mark.parametrize("regime_id", IDS)
def test_filed_under_its_grantor_by_id(regime_id):
    path = builtin_files()[regime_id]
    group, _, name = path.partition("/")
    assert group in GROUPS and name == f"{regime_id}.toml", path


def _boundaries(regime):
    days = set()
    for period in regime.in_force:
        days.add(period.period.since)
        if period.period.until:
            days.add(period.period.until)
    for param in regime.parameters.values():
        for value in param.values:
            days.add(value.period.since)
            if value.period.until and value.period.until < dt.date.max:
                days.update({value.period.until, value.period.until + dt.timedelta(days=1)})
    return sorted(d for d in days if regime.in_force_on(d))


@pytest.mark.parametrize("regime_id", IDS)
def test_every_parameter_has_a_value_on_every_day_in_force(regime_id):
    """No gaps: a parameter's dated values cover the whole time the regime is in force (each
    day between two boundaries has the value of the boundary before it)."""
    regime = REGIMES[regime_id]
    for day in _boundaries(regime):
        for param in regime.parameters.values():
            assert param.at(day) is not None, f"{regime_id}: {param.name} has no value on {day}"


@pytest.mark.parametrize("regime_id", IDS)
def test_coverage_lies_within_the_time_in_force(regime_id):
    regime = REGIMES[regime_id]
    for i, cov in enumerate(regime.coverage):
        for code, periods in cov.nationality_periods.items():
            for period in periods:
                assert any(_overlap(period, f.period) for f in regime.in_force), \
                    f"{regime_id}: coverage[{i}] lists {code} only when the regime is not in force"


def _overlap(a: Period, b: Period) -> bool:
    return a.since <= (b.until or dt.date.max) and b.since <= (a.until or dt.date.max)


@pytest.mark.parametrize("regime_id", IDS)
def test_has_a_case_file_that_exercises_its_limits(regime_id):
    regime = REGIMES[regime_id]
    path = CASES / f"{regime_id}.toml"
    assert path.exists(), f"{regime_id}: no case file {path.relative_to(ROOT)}"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert data["regime"] == regime_id
    cited = {case["rule"] for case in data["case"]}
    limits = {regime.parameters[name].rule for name in ("per_stay_max_days", "window_max_days", "period_max_days")
              if name in regime.parameters}
    limits |= {cov.rule for cov in regime.coverage}
    assert limits <= cited, f"{regime_id}: no case cites {sorted(limits - cited)}"


def test_docs_list_every_regime_as_the_data_says():
    from visafree.regimes.index import markdown_index

    text = (ROOT / "docs" / "regimes.md").read_text(encoding="utf-8")
    missing = [regime_id for regime_id in IDS if f"`{regime_id}`" not in text]
    assert not missing, f"docs/regimes.md does not list {missing}"
    assert markdown_index(REGIMES, builtin_files()) in text, \
        "docs/regimes.md's index is out of date: paste the output of `visafree regimes --markdown`"


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_each_group_documents_its_sources_and_gaps(group):
    page = ROOT / "docs" / "regimes" / f"{group}.md"
    text = page.read_text(encoding="utf-8")
    assert ADDRESS.search(text) and re.search(r"(?i)not yet encoded|known gaps", text), page
    for regime_id, path in builtin_files().items():
        if path.startswith(f"{group}/"):
            assert f"`{regime_id}`" in text, f"{page.name} does not describe {regime_id}"
