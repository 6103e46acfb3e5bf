"""The report's figures (matplotlib, Agg backend: no display needed): learning curves per metric with train and
val overlaid, and each swept hyperparameter against the selection score."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from mlgym.events.experiment_view import ExperimentView
from mlgym.events.projection import GridSearchProjection

MAX_LINES = 12  # experiments drawn in colour (the best by the selection); the others in grey


def _pyplot() -> Any:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def ranked_views(projection: GridSearchProjection) -> list[ExperimentView]:
    """The experiments best first by their selection score (by the grid search's direction); unscored last."""
    selection = projection.selection
    key = f"{selection['split']}/{selection['metric']}" if selection["metric"] else None
    sign = -1.0 if selection["mode"] != "min" else 1.0
    views = list(projection.views().values())

    def rank(v: ExperimentView) -> tuple[bool, float]:
        score = v.best.get(key) if key else None
        ok = isinstance(score, (int, float)) and math.isfinite(score)
        return (not ok, sign * score if ok else 0.0)
    return sorted(views, key=rank)


def learning_curves(projection: GridSearchProjection, folder: Path) -> list[tuple[str, Path]]:
    """One PNG per score name: val solid, train dashed, one colour per experiment; (title, path) each."""
    plt = _pyplot()
    views = ranked_views(projection)
    names = list(dict.fromkeys(key.split("/", 1)[1] for key in projection.score_keys()))
    figures = []
    for name in names:
        fig, ax = plt.subplots(figsize=(7, 4))
        drawn = 0
        for index, view in enumerate(views):
            colour = plt.cm.tab10(index % 10) if index < MAX_LINES else (0.7, 0.7, 0.7, 0.5)
            for split, style in (("val", "-"), ("train", "--")):
                values = view.series.get(f"{split}/{name}")
                points = [(e, v) for e, v in enumerate(values or []) if not math.isnan(v)]
                if not points:
                    continue
                label = f"{view.experiment_id} {split}" if index < MAX_LINES else None
                ax.plot([e for e, _ in points], [v for _, v in points], style, color=colour, label=label,
                        linewidth=1.6 if index == 0 else 1.0)
                drawn += 1
        if not drawn:
            plt.close(fig)
            continue
        kind = projection.score_keys().get(f"val/{name}") or projection.score_keys().get(f"train/{name}")
        ax.set(xlabel="epoch", ylabel=name, title=f"{name} ({kind}; solid val, dashed train)")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best", ncol=2)
        path = folder / f"curve_{_safe(name)}.png"
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        figures.append((f"Learning curves: {name}", path))
    return figures


def hyperparameter_scores(projection: GridSearchProjection, folder: Path) -> list[tuple[str, Path]]:
    """One PNG per swept hyperparameter: its value against each experiment's best selection score."""
    plt = _pyplot()
    selection = projection.selection
    if not selection["metric"]:
        return []
    key = f"{selection['split']}/{selection['metric']}"
    views = [v for v in ranked_views(projection) if v.role in ("train", "cv_fold", "inner")]
    paths = sorted({p for v in views for p in v.hyperparameters})
    figures = []
    for path in paths:
        points = [(v.hyperparameters.get(path), v.best.get(key), v) for v in views if key in v.best]
        points = [(x, y, v) for x, y, v in points if x is not None]
        if not points:
            continue
        fig, ax = plt.subplots(figsize=(5, 3.6))
        numeric = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x, _, _ in points)
        if numeric:
            xs = [float(x) for x, _, _ in points]
            if min(xs) > 0 and max(xs) / min(xs) >= 100:
                ax.set_xscale("log")
        else:
            categories = list(dict.fromkeys(str(x) for x, _, _ in points))
            xs = [categories.index(str(x)) for x, _, _ in points]
            ax.set_xticks(range(len(categories)), categories, rotation=20, fontsize=7)
        ys = [y for _, y, _ in points]
        ax.scatter(xs, ys, s=22, color="tab:blue", label="experiment")
        ax.scatter([xs[0]], [ys[0]], s=90, color="gold", edgecolor="black", zorder=3, label="best")
        ax.set(xlabel=path, ylabel=key, title=f"{path.split('.')[-1]} vs {key}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        file = folder / f"hp_{_safe(path)}.png"
        fig.savefig(file, dpi=110)
        plt.close(fig)
        figures.append((f"{path} vs {key}", file))
    return figures


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
