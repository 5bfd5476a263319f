"""Build: the engine (src/visafree/engine) is compiled to C with mypyc when it can be.

The engine is plain, typed Python and runs as it is; compiled, the same source answers a
question about 1.5-3x faster (benchmarks/bench_engine.py). Set VISAFREE_PURE_PYTHON=1 to skip
the compilation; without mypy or a C compiler the build falls back to the pure-Python engine.
Everything else is declared in pyproject.toml.
"""

import os
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

ENGINE = [f"src/visafree/engine/{name}.py" for name in ("check", "presence", "regime", "explain", "resolve", "basis", "forecast")]


class OptionalBuildExt(build_ext):
    """Compile the engine if possible; on any failure keep the pure-Python engine, whole."""

    def run(self):
        try:
            super().run()
        except Exception as exc:  # no C compiler, a mypyc error: the .py files still work
            for output in self.get_outputs():
                Path(output).unlink(missing_ok=True)  # half a compiled engine would not import
            print(f"visafree: the engine was not compiled ({exc}); using the pure-Python engine",
                  file=sys.stderr)


def engine_extensions():
    if os.environ.get("VISAFREE_PURE_PYTHON") == "1":
        return []
    try:
        from mypyc.build import mypycify

        return mypycify(ENGINE, opt_level="3", group_name="visafree_engine")
    except (ImportError, SystemExit, Exception) as exc:  # mypyc exits on a type error
        print(f"visafree: the engine will not be compiled ({exc!r})", file=sys.stderr)
        return []


setup(ext_modules=engine_extensions(), cmdclass={"build_ext": OptionalBuildExt})
