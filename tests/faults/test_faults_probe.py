"""`mine --probe`: code that starts a child in a session of its own cannot outlive the probe."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from evo_lacer.zoo import mine, probe
from evo_lacer.zoo._procs import kill_tree

from .fault_helpers import alive, all_dead, kill_all

ESCAPER = '''
import os
import subprocess
import sys
import time

from torch import nn


class Escaper(nn.Module):
    """Starts a sleeper in its own session (setsid), writes its pid, then hangs."""

    def __init__(self, in_features: int) -> None:
        super().__init__()
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"],
                                 start_new_session=True)
        with open(os.environ["EVO_FAULT_ESCAPED"], "w") as fh:
            fh.write(str(child.pid))
        time.sleep(3600)

    def forward(self, x):
        return x
'''


def test_a_probed_module_whose_child_leaves_the_session_is_killed_with_it(tmp_path: Path, monkeypatch,
                                                                           record) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "escaping_mods.py").write_text(ESCAPER)
    pid_file = tmp_path / "escaped.pid"
    monkeypatch.setenv("EVO_FAULT_ESCAPED", str(pid_file))
    report = probe(list(mine([tmp_path / "src"]).catalog.specs), timeout_s=5.0)
    assert [r.status for r in report.results] == ["timeout"]
    pid = int(pid_file.read_text())
    try:
        assert all_dead([pid]), f"the child {pid} in its own session outlived the probe"
    finally:
        kill_all([pid])
    record("probed constructor starts a child with setsid() and hangs", "timeout recorded; the escaped "
           "child killed with the probe worker", searches=0)


def test_kill_tree_reaches_a_double_forked_grandchild(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    sleeper = "import time; time.sleep(3600)"
    middle = ("import subprocess, sys; "
              f"g = subprocess.Popen([sys.executable, '-c', {sleeper!r}], start_new_session=True); "
              f"open({str(pid_file)!r}, 'w').write(str(g.pid))")
    script = ("import subprocess, sys, time\n"
              "from evo_lacer.zoo._procs import become_subreaper\n"
              "become_subreaper()\n"
              f"subprocess.run([sys.executable, '-c', {middle!r}])\n"  # the middle one exits: an orphan
              "time.sleep(3600)\n")
    parent = subprocess.Popen([sys.executable, "-c", script])
    grandchild = 0
    try:
        deadline = time.monotonic() + 120
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline and parent.poll() is None
            time.sleep(0.05)
        grandchild = int(pid_file.read_text())
        time.sleep(0.5)
        assert alive(grandchild)
        kill_tree(parent.pid, group=False)
        parent.wait()
        assert all_dead([grandchild])
    finally:
        parent.kill()
        kill_all([grandchild])
