"""Preloaded last by the forkserver (`server_setup` first): what it imported is frozen out of garbage collection,
which is turned back on for the server and for every worker forked from it."""
from __future__ import annotations

import gc

gc.freeze()
gc.enable()
