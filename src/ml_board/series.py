"""Score series as the dashboard draws them: downsampled per experiment, or as quantile bands over experiments.

Pure functions over the read model's per-epoch arrays (`ExperimentView.series[key]`: index = epoch, NaN where an
epoch has no finite score). The REST handlers in ml_board/api.py call them; docs/design.md ("A dashboard that
fetches what it shows") gives the reasons.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

Points = tuple[list[int], list[float]]  # (epochs, values), epochs ascending


def finite_points(ys: Sequence[float] | None, from_epoch: int = 0, to_epoch: int | None = None) -> Points:
    """The epochs in [from_epoch, to_epoch] (both inclusive; None: to the last) with a finite score, and the scores."""
    if ys is None:
        return [], []
    stop = len(ys) if to_epoch is None else min(len(ys), to_epoch + 1)
    epochs: list[int] = []
    values: list[float] = []
    for epoch in range(max(0, from_epoch), stop):
        value = ys[epoch]
        if math.isfinite(value):
            epochs.append(epoch)
            values.append(value)
    return epochs, values


def downsample(epochs: list[int], values: list[float], points: int) -> Points:
    """At most `points` (>= 4) of the points, chosen so that no extreme is lost: the first and the last, and of
    the ones between, split into (points - 2) // 2 buckets of (nearly) equal count, each bucket's minimum and
    maximum (one point when they coincide), all in epoch order. Fewer points than `points`: all of them."""
    n = len(epochs)
    if n <= points:
        return list(epochs), list(values)
    if points < 4:
        raise ValueError(f"points must be at least 4, got {points}")
    inner = n - 2
    buckets = (points - 2) // 2
    keep = [0]
    for b in range(buckets):
        start, stop = 1 + b * inner // buckets, 1 + (b + 1) * inner // buckets
        if start >= stop:
            continue
        low = high = start
        for i in range(start + 1, stop):
            if values[i] < values[low]:
                low = i
            if values[i] > values[high]:
                high = i
        keep.extend(sorted({low, high}))
    keep.append(n - 1)
    return [epochs[i] for i in keep], [values[i] for i in keep]


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """The q-quantile (0 <= q <= 1) of ascending, non-empty values, interpolated linearly between the two nearest
    ranks: numpy's default method ("linear"), i.e. statistics.quantiles' "inclusive" one."""
    h = (len(sorted_values) - 1) * q
    below = math.floor(h)
    above = min(below + 1, len(sorted_values) - 1)
    low, high = sorted_values[below], sorted_values[above]
    return low + (h - below) * (high - low)


def band(series: Iterable[Sequence[float]], quantiles: Sequence[float]) -> tuple[list[int], list[int],
                                                                                 list[list[float]]]:
    """Per epoch with at least one finite score in `series` (one array per experiment): the epoch, how many
    experiments have a finite score there, and for each of `quantiles` the quantile of those scores.

    Returns (epochs, counts, values) with values[j][i] = quantiles[j] at epochs[i]."""
    by_epoch: dict[int, list[float]] = {}
    for ys in series:
        for epoch, value in enumerate(ys):
            if math.isfinite(value):
                by_epoch.setdefault(epoch, []).append(value)
    epochs = sorted(by_epoch)
    counts: list[int] = []
    values: list[list[float]] = [[] for _ in quantiles]
    for epoch in epochs:
        scores = sorted(by_epoch[epoch])
        counts.append(len(scores))
        for j, q in enumerate(quantiles):
            values[j].append(quantile(scores, q))
    return epochs, counts, values
