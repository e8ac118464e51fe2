"""SIGTERM and SIGINT ask the worker to stop: claim nothing more, finish what is in
flight, exit. A second signal while it drains exits at once (leases then lapse and
another worker retakes the work, as after a crash)."""

import os
import signal
import threading


class Stop:
    """Set once the worker should stop; its threads wait on it instead of sleeping."""

    def __init__(self):
        self._event = threading.Event()

    def __call__(self) -> bool:
        return self._event.is_set()

    def set(self) -> None:
        self._event.set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`, waking early when asked to stop; whether asked."""
        return self._event.wait(seconds)


def install(stop: Stop, on_stop=lambda signum: None) -> None:
    def handle(signum, _frame):
        if stop():
            os._exit(128 + signum)
        # Set before it is said: whoever reads "stopping" in the log may count on the
        # worker claiming and starting nothing more from then on.
        stop.set()
        on_stop(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handle)
