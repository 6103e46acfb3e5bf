"""Side-by-side timing used by the benchmarks: run A and B in turn, take medians and the median of the A/B ratios."""
from __future__ import annotations

import statistics
from collections.abc import Callable


def paired_medians(run_a: Callable[[], float], run_b: Callable[[], float], repeats: int,
                   alternate: bool = False) -> tuple[float, float, float]:
    """(median A, median B, median of the pairwise ratios A/B); alternating keeps a drifting machine fair.

    With `alternate`, every second pair runs B first, so neither side always runs on the warmer (or busier) machine.
    """
    a_times, b_times, ratios = [], [], []
    for i in range(repeats):
        if alternate and i % 2:
            b = run_b()
            a = run_a()
        else:
            a, b = run_a(), run_b()
        a_times.append(a)
        b_times.append(b)
        ratios.append(a / b)
    return statistics.median(a_times), statistics.median(b_times), statistics.median(ratios)
