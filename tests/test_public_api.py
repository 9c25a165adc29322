"""The public names stay what the README promises, whatever was imported before."""

from __future__ import annotations

import subprocess
import sys


def test_search_stays_a_function_after_the_engine_is_imported() -> None:
    code = (
        "import evo_lacer, sys\n"
        "assert 'torch' not in sys.modules, 'import evo_lacer must stay light'\n"
        "first = evo_lacer.search\n"
        "import evo_lacer.engine, evo_lacer.api\n"
        "assert callable(first) and evo_lacer.search is first, evo_lacer.search\n"
        "assert callable(evo_lacer.resume)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
