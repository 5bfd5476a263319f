"""The compiled engine (mypyc, setup.py) and its Python source must be the same engine."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import visafree.engine

ROOT = Path(__file__).resolve().parents[2]
ENGINE_DIR = ROOT / "src" / "visafree" / "engine"
#: Every module of the engine: the build compiles them all (setup.py's ENGINE), or none.
MODULES = tuple(sorted(p.stem for p in ENGINE_DIR.glob("*.py") if p.stem != "__init__"))


def test_the_build_compiles_every_engine_module():
    # A module left out of setup.py's ENGINE list would run as slow pure Python beside the rest.
    setup_py = (ROOT / "setup.py").read_text(encoding="utf-8")
    listed = re.search(r"^ENGINE = .*?for name in \(([^)]*)\)", setup_py, re.M)
    assert listed, "setup.py's ENGINE list not found"
    assert sorted(re.findall(r'"(\w+)"', listed.group(1))) == list(MODULES)


def test_the_compiled_engine_is_not_older_than_its_source():
    # Python prefers the compiled modules: built before the last edit, they would run old rules.
    # mypyc puts the code of all of them in one library, rebuilt whenever one of them changes.
    if not visafree.engine.COMPILED:
        pytest.skip("the engine runs from its source")
    built = Path(sys.modules["visafree_engine__mypyc"].__file__)
    for name in MODULES:
        source = Path(importlib.import_module(f"visafree.engine.{name}").__file__).with_name(f"{name}.py")
        assert built.stat().st_mtime >= source.stat().st_mtime, (
            f"the compiled engine is older than {source.name}: install again (./run test does it) "
            "or install with VISAFREE_PURE_PYTHON=1 to run the source as it is")


@pytest.mark.skipif(not visafree.engine.COMPILED or os.environ.get("VISAFREE_SOURCE_ONLY_RUN") == "1",
                    reason="the engine under test already runs from its source")
def test_the_engine_source_passes_the_engine_tests_too():
    """Without a C compiler the install keeps the pure-Python engine: it must answer alike."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.engine.source_only", "-p", "no:xdist", "-p", "no:cacheprovider",
         "-q", "-x", "tests/engine", "-k", "not test_the_engine_source_passes"],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "VISAFREE_SOURCE_ONLY_RUN": "1"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_the_source_only_plugin_loads_the_source():
    if os.environ.get("VISAFREE_SOURCE_ONLY_RUN") == "1":
        assert not visafree.engine.COMPILED
