"""bcc is found where Debian puts it, from a virtual environment that does not see
dist-packages (as pip and pipx make them), and nothing else of dist-packages leaks in."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from netscope.trace.bcc_module import DEBIAN_DIST_PACKAGES, DEBIAN_PYTHON

REPO = Path(__file__).resolve().parents[2]
PROBE = """
import sys
from netscope.trace.bcc_module import bcc_available, import_bcc
assert bcc_available()
bcc = import_bcc()
print(bcc.__file__)
print(hasattr(bcc, "BPF"))
print(any("dist-packages" in p for p in sys.path))
"""

needs_debian_bcc = pytest.mark.skipif(
    not (DEBIAN_DIST_PACKAGES / "bcc").is_dir() or not DEBIAN_PYTHON.exists(),
    reason="Debian's python3-bpfcc is not installed (setup.sh installs it)")


@needs_debian_bcc
def test_a_venv_of_debians_python_loads_debians_bcc_alone(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([str(DEBIAN_PYTHON), "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    done = subprocess.run([str(venv / "bin" / "python"), "-c", PROBE], capture_output=True,
                          text=True, timeout=60, env={"PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    path, has_bpf, leaked = done.stdout.split()
    assert path == str(DEBIAN_DIST_PACKAGES / "bcc" / "__init__.py")
    assert has_bpf == "True" and leaked == "False"


def test_another_interpreter_is_told_exactly_what_to_do(monkeypatch):
    from netscope.trace import bcc_module

    monkeypatch.setattr(bcc_module.sys, "base_prefix", "/opt/python3.13")
    assert bcc_module.debian_bcc_dir() is None
    reason = bcc_module.missing_reason()
    assert reason.count("\n") == 0
    if (DEBIAN_DIST_PACKAGES / "bcc").is_dir():
        assert f"pipx install --python {DEBIAN_PYTHON} netscope" in reason
    else:
        assert "apt-get install python3-bpfcc" in reason


def test_this_interpreter_is_recognised(monkeypatch):
    from netscope.trace import bcc_module

    assert bcc_module.interpreter_is_debians() == (
        sys.base_prefix == "/usr"
        and Path(DEBIAN_PYTHON).resolve().name == f"python3.{sys.version_info.minor}")
