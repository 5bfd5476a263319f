"""`visafree batch report --register`: the analyst reads the border register itself.

A real SQLite register is filled through the desk, then the batch command reads it: refused
entries are no stays, linked passports are one traveller, and the figures are the engine's.
"""

from __future__ import annotations

import datetime as dt

from typer.testing import CliRunner

from visafree.cli import app
from visafree.engine import Question, Stay, check
from visafree.regimes import builtin_regimes
from visafree.register import open_register
from visafree.register.service import Document

from .conftest import read_rows

D = dt.date
ON = D(2025, 3, 10)


def test_report_reads_the_register(tmp_path, monkeypatch):
    env = {"VISAFREE_DATABASE_URL": f"sqlite:///{tmp_path / 'register.sqlite'}",
           "VISAFREE_KEY_FILE": str(tmp_path / "register.key")}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    register = open_register(init=True)
    desk = dict(officer="test", border_post="CXR")
    old, new = Document("KAZ", "N0000001", "KAZ", "ordinary", D(2030, 1, 1)), Document("KAZ", "N0000009", "KAZ", "ordinary", D(2035, 1, 1))
    # 1 January to 9 February: day 31 (31 January) onwards breaks R3, 10 days of overstay.
    register.record_entry(old, D(2025, 1, 1), **desk)
    register.record_exit(old, D(2025, 2, 9), **desk)
    # The same person on a renewed passport, linked by an officer, back since 1 March.
    register.link_documents(register.key_of(new), register.key_of(old), reason="renewed passport", officer="test")
    register.record_entry(new, D(2025, 3, 1), **desk)
    # Refused at the desk (R6): nobody came in, so no stay.
    register.record_entry(Document("KAZ", "N0000002", "KAZ", "ordinary", D(2030, 1, 1)), D(2025, 3, 5),
                          refuse_basis="R6 test", **desk)

    out = tmp_path / "compliance"
    result = CliRunner().invoke(app, ["batch", "report", "--register", "--out", str(out), "--on", ON.isoformat()])
    assert result.exit_code == 0, result.output
    assert "read 3 crossings from the register" in result.output

    travellers = read_rows(str(out / "travellers.parquet"))
    assert len(travellers) == 1  # two passports, one linked person; the refused traveller has no stay
    expected = check(Question(builtin_regimes()["vn-kz"], "KAZ", "VNM", ON,
                              (Stay(D(2025, 1, 1), D(2025, 2, 9)), Stay(D(2025, 3, 1), None))))
    row = travellers[0]
    # Desk event ids are random, so rows may be "out of order" (kept); none is set aside.
    assert [r["problem"] for r in read_rows(str(out / "data_quality.parquet")) if not r["kept"]] == []
    assert int(row["overstay_days"]) == expected.overstay_days == 10
    assert bool(row["in_country"]) is True
    assert row["latest_exit"] == expected.current_stay.latest_exit

    audit = register.audit_entries(limit=10)
    assert any(entry["action"] == "export" for entry in audit)
