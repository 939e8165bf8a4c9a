"""Long-running commands (schedule, serve-ingest) wait here for SIGTERM or SIGINT."""

from __future__ import annotations

import logging
import signal
import threading

log = logging.getLogger(__name__)


def wait_for_stop_signal() -> None:
    """Block until SIGTERM or SIGINT arrives; restore the previous handlers after."""
    wake = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        log.info("received %s; stopping after the current work", signal.Signals(signum).name)
        wake.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        wake.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
