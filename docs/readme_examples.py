"""The README's `$ visafree ...` console examples, run for real.

    python docs/readme_examples.py          # rewrite each example's output with what the command prints now
    pytest tests/cli/test_readme_examples.py  # fails when an example no longer matches

Each example is a ```console block whose first line is `$ visafree ...` (continued with `\\`);
the rest of the block is its output, printed at a terminal width of WIDTH columns.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
WIDTH = 92
BLOCK = re.compile(r"```console\n(\$ visafree .*?)```\n", re.S)


def split(block: str) -> tuple[str, str]:
    """The command (continuation lines joined) and the output of one console block."""
    lines = block.splitlines(keepends=True)
    command_lines = []
    while lines:
        line = lines.pop(0)
        command_lines.append(line.rstrip("\n").removeprefix("$ ").strip())
        if not line.rstrip("\n").endswith("\\"):
            break
    return " ".join(part.removesuffix("\\").strip() for part in command_lines), "".join(lines)


def run(command: str) -> str:
    """What the command prints (stdout), with the console script of this environment."""
    argv = shlex.split(command)
    exe = Path(sys.executable).with_name("visafree")
    env = {**os.environ, "COLUMNS": str(WIDTH), "NO_COLOR": "1", "TERM": "dumb"}
    env.pop("FORCE_COLOR", None)
    result = subprocess.run([str(exe), *argv[1:]], capture_output=True, text=True, env=env, timeout=120)
    return result.stdout


def examples(text: str) -> list[tuple[str, str]]:
    return [split(m.group(1)) for m in BLOCK.finditer(text)]


def main() -> None:
    text = README.read_text(encoding="utf-8")

    def refresh(match: re.Match) -> str:
        command, _ = split(match.group(1))
        head = match.group(1)[: len(match.group(1)) - len(split(match.group(1))[1])]
        return f"```console\n{head}{run(command).rstrip()}\n```\n"

    README.write_text(BLOCK.sub(refresh, text), encoding="utf-8")
    print(f"{README}: {len(examples(text))} examples refreshed")


if __name__ == "__main__":
    main()
