"""Progress through the lessons, kept per user: which steps' checks passed, which puzzles
were solved and how many hints each took.

The file is $XDG_STATE_HOME/netscope/lessons.json (~/.local/state/netscope/lessons.json);
run with sudo, it is the invoking user's (SUDO_USER's home, the file owned by them), so a
learner's progress does not land in root's home. A damaged file counts as empty progress.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import pwd
import tempfile
from pathlib import Path

MAX_BYTES = 1024 * 1024


def _home() -> str:
    user = os.environ.get("SUDO_USER")
    if os.geteuid() == 0 and user and user != "root":
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(user).pw_dir
    return os.path.expanduser("~")


def progress_path() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(_home(), ".local", "state")
    return Path(base) / "netscope" / "lessons.json"


def _numbers(value) -> list[int]:
    if not isinstance(value, list):
        return []
    return sorted({n for n in value if isinstance(n, int) and not isinstance(n, bool)})


def load() -> dict:
    """{"done": {lesson id: [step numbers]}, "hints": {"lesson/puzzle": count}}."""
    try:
        path = progress_path()
        if path.stat().st_size > MAX_BYTES:
            return {"done": {}, "hints": {}}
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {"done": {}, "hints": {}}
    if not isinstance(data, dict):
        return {"done": {}, "hints": {}}
    done = data.get("done") if isinstance(data.get("done"), dict) else {}
    hints = data.get("hints") if isinstance(data.get("hints"), dict) else {}
    return {"done": {k: _numbers(v) for k, v in done.items() if isinstance(k, str)},
            "hints": {k: v for k, v in hints.items() if isinstance(k, str)
                      and isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 100}}


def done_steps(lesson_id: str) -> list[int]:
    return load()["done"].get(lesson_id, [])


def mark_done(lesson_id: str, number: int) -> None:
    data = load()
    data["done"][lesson_id] = sorted(set(data["done"].get(lesson_id, [])) | {number})
    _save(data)


def hints_taken(key: str) -> int:
    return load()["hints"].get(key, 0)


def take_hint(key: str) -> int:
    """One more hint of puzzle `key` shown; returns how many have been shown now."""
    data = load()
    data["hints"][key] = data["hints"].get(key, 0) + 1
    _save(data)
    return data["hints"][key]


def forget(lesson_id: str) -> None:
    """Start a lesson over: its steps are no longer done."""
    data = load()
    data["done"].pop(lesson_id, None)
    data["hints"] = {k: v for k, v in data["hints"].items()
                     if not k.startswith(f"{lesson_id}/")}
    _save(data)


def _save(data: dict) -> None:
    """Written atomically; progress that cannot be written is not an error of the lesson."""
    path = progress_path()
    data = {**data, "updated": datetime.datetime.now(datetime.UTC).isoformat(
        timespec="seconds")}
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".lessons-")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(data, f, indent=1)
            _give_back(tmp, path.parent)
            os.replace(tmp, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def _give_back(tmp: str, directory: Path) -> None:
    """Under sudo, the learner's own file (and the directories made for it) stay theirs."""
    uid, gid = os.environ.get("SUDO_UID"), os.environ.get("SUDO_GID")
    if os.geteuid() != 0 or not (uid and gid and uid.isdigit() and gid.isdigit()):
        return
    if os.environ.get("XDG_STATE_HOME"):
        return  # a directory chosen explicitly: leave ownership alone
    with contextlib.suppress(OSError):
        for place in (directory, directory.parent, tmp):
            if str(place).startswith(_home()):
                os.chown(place, int(uid), int(gid))
