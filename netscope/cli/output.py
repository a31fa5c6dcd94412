"""The CLI's presentation boundary: what reaches standard output and error is sanitised, and
output that cannot be written is an error, never a silent exit 0.

`guarded()` wraps sys.stdout and sys.stderr for the duration of a command:
- every string written goes through `safe_lines` (names, hostnames, comments, DNS files from
  the host or a snapshot are shown with control characters escaped, never interpreted);
  JSON documents keep their exact value (see netscope.model.safe_text);
- a write to standard output that fails (a full disk, /dev/full, a quota, a closed pipe) is
  caught once: `OutputLost` (a UserError, exit 2) says so in one line, and the file
  descriptor is pointed at /dev/null so that Python's own flush at exit cannot print a
  traceback or change the exit status again.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import sys
from collections.abc import Iterator

from netscope.cli.errors import UserError
from netscope.model.safe_text import safe_lines


class OutputLost(UserError):
    """Standard output could not be written; what was printed is incomplete."""

    def __init__(self, error: OSError) -> None:
        self.broken_pipe = isinstance(error, BrokenPipeError) or error.errno == errno.EPIPE
        reason = error.strerror or str(error)
        code = errno.errorcode.get(error.errno or 0)
        super().__init__(f"cannot write to standard output: {reason}"
                         + (f" ({code})" if code else "")
                         + "; the output is incomplete: free space or write it elsewhere "
                           "(-o FILE where the command has it)")


class _CheckedBuffer(io.RawIOBase):
    """The binary side of standard output (pcapng): bytes are not sanitised, but a failed
    write is reported like a text one."""

    def __init__(self, inner, owner: SafeStream) -> None:
        super().__init__()
        self._inner, self._owner = inner, owner

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        try:
            self._inner.write(data)
        except OSError as e:
            raise self._owner.lost(e) from None
        return len(data)

    def flush(self) -> None:
        try:
            self._inner.flush()
        except OSError as e:
            raise self._owner.lost(e) from None

    def fileno(self) -> int:
        return self._inner.fileno()


class SafeStream(io.TextIOBase):
    """A text stream that sanitises what is written to `inner`; with `checked`, a failed
    write raises OutputLost (once: later writes are dropped)."""

    def __init__(self, inner, checked: bool) -> None:
        super().__init__()
        self._inner, self._checked = inner, checked
        self.failed: OutputLost | None = None
        self._buffer = None

    @property
    def inner(self):
        return self._inner

    def lost(self, error: OSError) -> OutputLost:
        if self.failed is None:
            self.failed = OutputLost(error)
        return self.failed

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self.failed is not None:
            return len(text)
        try:
            self._inner.write(safe_lines(text))
        except OSError as e:
            if not self._checked:
                raise
            raise self.lost(e) from None
        return len(text)

    def flush(self) -> None:
        if self.failed is not None:
            return
        try:
            self._inner.flush()
        except OSError as e:
            if not self._checked:
                raise
            raise self.lost(e) from None

    def isatty(self) -> bool:
        return self._inner.isatty()

    def fileno(self) -> int:
        return self._inner.fileno()

    @property
    def encoding(self):  # type: ignore[override]
        return getattr(self._inner, "encoding", "utf-8")

    @property
    def errors(self):  # type: ignore[override]
        return getattr(self._inner, "errors", "strict")

    @property
    def buffer(self):
        if self._buffer is None:
            self._buffer = _CheckedBuffer(self._inner.buffer, self)
        return self._buffer


def _silence_fd(stream) -> None:
    """Point the real standard output at /dev/null: what is still buffered for it is lost
    anyway, and Python's flush at exit must not report it a second time."""
    if stream is not sys.__stdout__:
        return  # in-process callers (tests) keep their own stream
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)


@contextlib.contextmanager
def guarded() -> Iterator[SafeStream]:
    """Sanitise standard output and error, and check every write to standard output.

    The caller calls `finish(out)` at the end of a command, so that a failure while
    flushing is reported before the process decides its exit status."""
    real_out, real_err = sys.stdout, sys.stderr
    out = SafeStream(real_out, checked=True)
    sys.stdout, sys.stderr = out, SafeStream(real_err, checked=False)
    try:
        yield out
    finally:
        sys.stdout, sys.stderr = real_out, real_err
        if out.failed is not None:
            _silence_fd(real_out)


def finish(out: SafeStream) -> None:
    """Flush standard output now; OutputLost if any write to it failed."""
    out.flush()
    if out.failed is not None:
        raise out.failed
