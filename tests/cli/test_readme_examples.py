"""The README shows what the command line prints: each `$ visafree ...` example, run now, prints
its output as written (docs/readme_examples.py rewrites them after a deliberate change)."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "readme_examples.py"
spec = importlib.util.spec_from_file_location("readme_examples", SCRIPT)
readme_examples = importlib.util.module_from_spec(spec)
spec.loader.exec_module(readme_examples)

EXAMPLES = readme_examples.examples(readme_examples.README.read_text(encoding="utf-8"))


def test_the_readme_has_examples():
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("command, shown", EXAMPLES, ids=[c[:60] for c, _ in EXAMPLES])
def test_the_readme_example_prints_what_it_shows(command, shown):
    printed = readme_examples.run(command)
    assert printed.rstrip() == shown.rstrip(), (
        "the README's example no longer matches the command's output: "
        "run `python docs/readme_examples.py` and read the diff")
