"""The README's "Use it from Python" script runs as a user would paste it: saved to a file and run
(a smaller budget, no LLM, so that it is quick)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Use it from Python"


def test_the_readme_python_script_runs(tmp_path: Path) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert SECTION in text, f"README lost its section {SECTION!r}"
    section = text.split(SECTION, 1)[1]
    script = re.search(r"```python\n(.*?)```", section, re.S)
    assert script is not None and "__main__" in script.group(1)
    code = script.group(1).replace("budget=40", "budget=6").replace('llm="auto"', 'llm="none"')
    assert code != script.group(1), "the README's call changed: update the replacements here"
    (tmp_path / "my_search.py").write_text(code, encoding="utf-8")
    proc = subprocess.run([sys.executable, "my_search.py"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "encoder" in proc.stdout
    assert len((tmp_path / "runs" / "x" / "candidates.jsonl").read_text().splitlines()) == 6
