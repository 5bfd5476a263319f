"""A pytest plugin that imports the engine from its .py files even where a compiled engine
(mypyc, setup.py) is installed beside them, which Python would otherwise prefer:

    python -m pytest -p tests.engine.source_only tests/engine
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import visafree

ENGINE_DIR = Path(visafree.__file__).parent / "engine"


class SourceOnlyEngine:
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if not name.startswith("visafree.engine."):
            return None
        source = ENGINE_DIR / f"{name.rsplit('.', 1)[1]}.py"
        return importlib.util.spec_from_file_location(name, source) if source.exists() else None


assert "visafree.engine" not in sys.modules, "load this plugin before the engine is imported"
sys.meta_path.insert(0, SourceOnlyEngine)
