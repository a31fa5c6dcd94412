"""Finding bcc, the eBPF library netscope compiles its probes with (Debian's python3-bpfcc).

The PyPI package named bcc is something else, so bcc comes from the distribution, in
/usr/lib/python3/dist-packages, which a virtual environment (pip, pipx) does not see. When
this interpreter is Debian's own python3 (a venv made from /usr/bin/python3, as pipx and
`python3 -m venv` make them), Debian's bcc is loaded from there by itself, without putting
the rest of dist-packages on sys.path. Otherwise `missing_reason()` says in one line what to
do. Only netscope.trace calls this.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

DEBIAN_DIST_PACKAGES = Path("/usr/lib/python3/dist-packages")
DEBIAN_PYTHON = Path("/usr/bin/python3")


def _this_python() -> str:
    return f"python{sys.version_info.major}.{sys.version_info.minor}"


def interpreter_is_debians() -> bool:
    """This interpreter (or the one its venv was made from) is Debian's python3, the one its
    dist-packages are built for."""
    try:
        debian = os.path.basename(os.path.realpath(DEBIAN_PYTHON))
    except OSError:
        return False
    return sys.base_prefix == "/usr" and debian == _this_python()


def debian_bcc_dir() -> Path | None:
    """Debian's bcc package, when it is installed and this interpreter can load it."""
    found = DEBIAN_DIST_PACKAGES / "bcc"
    if (found / "__init__.py").is_file() and interpreter_is_debians():
        return found
    return None


def bcc_available() -> bool:
    """bcc can be imported: on sys.path, or Debian's for this interpreter."""
    try:
        if importlib.util.find_spec("bcc") is not None:
            return True
    except (ImportError, ValueError):
        pass
    return debian_bcc_dir() is not None


def missing_reason() -> str:
    """One line: why bcc cannot be imported, and exactly what to do."""
    if (DEBIAN_DIST_PACKAGES / "bcc" / "__init__.py").is_file():
        return (f"Debian's bcc (python3-bpfcc) is built for {DEBIAN_PYTHON}, but netscope runs "
                f"on {sys.executable} ({_this_python()}): install netscope with Debian's "
                f"python, e.g. `pipx install --python {DEBIAN_PYTHON} netscope`")
    return ("bcc is not installed: apt-get install python3-bpfcc (the PyPI package named bcc "
            "is something else)")


def import_bcc() -> ModuleType:
    """The bcc module: the importable one, else Debian's. Raises ImportError(missing_reason)."""
    try:
        import bcc  # noqa: TID251 - netscope.trace is where bcc is imported

        return bcc
    except ImportError:
        pass
    found = debian_bcc_dir()
    if found is None:
        raise ImportError(missing_reason())
    spec = importlib.util.spec_from_file_location(
        "bcc", found / "__init__.py", submodule_search_locations=[str(found)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["bcc"] = module  # its submodules import `bcc.…` by name
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules["bcc"]
        raise
    return module
