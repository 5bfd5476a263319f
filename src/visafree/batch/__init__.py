"""Compliance at national scale: RULES.md expressed relationally, for DuckDB and Apache Spark.

The engine (`visafree.engine`) answers for one traveller; this package answers for a whole
log of border crossings at once, in SQL, with no Python loop per traveller. Both backends run
the same relational pipeline (`pipeline.py`) and are proven equal to the engine by the
differential tests in `tests/batch/`.

    visafree batch generate data/ --rows 1000000
    visafree batch report data/ out/
"""

from .params import RegimeTables, regime_tables

__all__ = ["RegimeTables", "regime_tables"]
