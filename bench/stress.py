"""Saturating the machine on purpose: one busy process per core, for as long as a block runs.

Benches take `--cpu-stress` to show how their figures hold when other work takes every core
(as on a shared CI machine): contention may slow things down; it must not make them wrong.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from contextlib import contextmanager


def _spin() -> None:  # pragma: no cover - runs in a child process until terminated
    while True:
        pass


@contextmanager
def cpu_stress(enabled: bool) -> Iterator[int]:
    """One busy process per core for the duration; yields how many were started."""
    if not enabled:
        yield 0
        return
    context = multiprocessing.get_context("spawn")
    busy = [context.Process(target=_spin, daemon=True) for _ in range(os.cpu_count() or 1)]
    for process in busy:
        process.start()
    try:
        yield len(busy)
    finally:
        for process in busy:
            process.terminate()
        for process in busy:
            process.join(timeout=10)
