"""Print pyproject.toml's requirements pinned to their floors, one `name==version` a line
(pip constraints), for setup.sh's lowest venv. With --installed: what is installed of them.

    python3 .ci/floors.py pyproject.toml
    .venv-lowest/bin/python .ci/floors.py --installed pyproject.toml
"""

import re
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version

EXTRAS = ("check", "test")  # what setup.sh installs besides the runtime requirements


def requirements(path: str) -> list[str]:
    with open(path, "rb") as f:
        project = tomllib.load(f)["project"]
    extras = project.get("optional-dependencies", {})
    return [*project["dependencies"], *(r for e in EXTRAS for r in extras.get(e, []))]


def floors(path: str) -> list[tuple[str, str]]:
    out = []
    for req in requirements(path):
        found = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][^,;\s]*).*", req)
        if not found:
            sys.exit(f"floors.py: {req!r} has no >= floor: every requirement needs one")
        out.append((found.group(1), found.group(2)))
    return out


def main(argv: list[str]) -> int:
    installed = argv[:1] == ["--installed"]
    pins = floors(argv[-1])
    if not installed:
        print("\n".join(f"{name}=={floor}" for name, floor in pins))
        return 0
    shown = []
    for name, _ in pins:
        try:
            shown.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            shown.append(f"{name} missing")
    print(", ".join(shown))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
