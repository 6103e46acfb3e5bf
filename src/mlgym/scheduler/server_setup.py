"""The forkserver's own settings, preloaded first: no garbage collection while it imports, and a fast exit.

Importing torch, scikit-learn and torchmetrics allocates some 800,000 objects that all live to the end; the cyclic
garbage collector walks them again and again on the way (~18% of the server's import CPU, measured with
bench/startup.py's preload list). So collection is off until `server_ready`, the last preloaded module, freezes
what was imported (the workers' collections skip it, and its pages stay shared with the server) and turns it on.

The server ends when the main process closes its end of the server's pipe (`SystemExit` in multiprocessing's
server loop). A normal exit then tears down every preloaded module: 1-2 s during which the server still holds the
stdout and stderr it inherited, so a caller reading the run's output through a pipe (`mlgym train … | tee`,
`subprocess.run(capture_output=True)`) waits that long after the run has ended. The exit handler runs last among
the server's and only in the process that imported this module; forks of the server leave through `os._exit`.
"""
from __future__ import annotations

import atexit
import gc
import os
import sys

_SERVER_PID = os.getpid()


def _exit_without_teardown() -> None:
    if os.getpid() != _SERVER_PID:
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(0)


gc.disable()
atexit.register(_exit_without_teardown)
