"""Session-wide test settings."""

import signal


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


# SIGTERM (a CI timeout, `kill`) would end pytest without running fixture finalizers, and
# leave namespaces, labs and containers behind; as KeyboardInterrupt, teardown still runs.
signal.signal(signal.SIGTERM, _interrupt)
