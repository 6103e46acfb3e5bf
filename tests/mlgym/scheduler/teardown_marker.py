"""Preloaded by a forkserver in test_forkserver_exit.py: writes the file named by MLGYM_TEST_TEARDOWN_MARKER when
the interpreter tears this module down (a normal exit does; `os._exit` does not)."""
from __future__ import annotations

import os


class _Marker:
    def __init__(self, path: str) -> None:
        self.path = path
        self.open = open  # the module's globals, builtins included, may be gone when __del__ runs

    def __del__(self) -> None:
        with self.open(self.path, "w") as f:
            f.write("torn down\n")


marker = _Marker(os.environ["MLGYM_TEST_TEARDOWN_MARKER"])
