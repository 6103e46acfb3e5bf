"""Evaluation memory: peak RSS while the evaluator scores a 2,000,000-sample split with 100 classes.

Two paths, each measured in a fresh subprocess (so one's peak cannot hide the other's):
  streaming   - `gym/evaluator.Evaluator` as shipped: torchmetrics states updated batch by batch, loss as the
                sample-weighted mean of batch losses; nothing of the split is kept
  whole_split - the previous evaluator's structure: keep every batch's outputs and targets, concatenate them,
                then compute the loss and the metrics once on the whole split with the previous metric code
                (scikit-learn on NumPy labels, `topk` on the logits); both paths must report the same scores
The split is synthetic and generated batch by batch (seeded per batch), so the data itself takes no memory.
Baseline = RSS after the model, metrics and one evaluated batch exist (libraries loaded, first batch done);
then the peak is reset (`/proc/self/clear_refs` 5) and the whole split is evaluated. Prints per path:
`eval_peak_rss_mb`, `baseline_rss_mb`, `eval_memory_ratio` (peak / baseline) and the growth in MB.

    PYTHONPATH=src .venv/bin/python bench/eval_memory.py [--samples 2000000] [--batch 10000]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLASSES, FEATURES = 100, 64
METRICS = ["accuracy", {"name": "f1", "average": "macro"}, {"name": "precision", "average": "macro"},
           {"name": "recall", "average": "macro"}, {"name": "top_k_accuracy", "k": 5}]


def status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


class SyntheticSplit:
    """`samples` rows in batches; batch i is generated from seed i (features = a class signal plus noise)."""

    def __init__(self, samples: int, batch: int) -> None:
        import torch
        self.samples, self.batch = samples, batch
        self.centres = torch.randn(CLASSES, FEATURES, generator=torch.Generator().manual_seed(123))

    def __iter__(self):
        import torch
        for i, start in enumerate(range(0, self.samples, self.batch)):
            n = min(self.batch, self.samples - start)
            g = torch.Generator().manual_seed(i)
            y = torch.randint(0, CLASSES, (n,), generator=g)
            yield self.centres[y] + 2.0 * torch.randn(n, FEATURES, generator=g), y


def old_metrics(out, tgt) -> dict:
    """The metrics of the previous (whole-split) implementation, as they were: scikit-learn on NumPy labels."""
    import numpy as np
    from sklearn.metrics import f1_score, precision_score, recall_score
    pred, y = out.argmax(dim=1).numpy(), tgt.reshape(-1).long().numpy()
    top = out.topk(5, dim=1).indices
    return {"accuracy": float(np.mean(pred == y)),
            "f1_macro": float(f1_score(y, pred, average="macro", zero_division=0)),
            "precision_macro": float(precision_score(y, pred, average="macro", zero_division=0)),
            "recall_macro": float(recall_score(y, pred, average="macro", zero_division=0)),
            "top_k_accuracy_5": float((top == tgt.reshape(-1, 1)).any(dim=1).double().mean())}


def whole_split(model, loss, loader) -> dict:
    """The previous evaluator: keep every output, concatenate, then score the whole split at once."""
    import torch
    with torch.no_grad():
        outputs, targets = [], []
        for x, y in loader:
            outputs.append(model(x))
            targets.append(y)
        out, tgt = torch.cat(outputs).cpu(), torch.cat(targets).cpu()
        return {"metrics": old_metrics(out, tgt), "losses": {"cross_entropy": float(loss(out, tgt))}}


def child(path: str, samples: int, batch: int) -> None:
    import torch
    from mlgym.components.losses import CrossEntropy
    from mlgym.components.metrics import MetricSet
    from mlgym.gym.evaluator import Evaluator

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = torch.nn.Linear(FEATURES, CLASSES)
    with torch.no_grad():  # a model that is right most of the time, so the scores are not degenerate
        centres = SyntheticSplit(1, 1).centres
        model.weight.copy_(centres)
        model.bias.copy_(-0.5 * (centres * centres).sum(1))
    loss, metrics = CrossEntropy(), MetricSet(METRICS)

    def evaluate(loader):
        if path == "streaming":
            evaluator = Evaluator(model, loss, metrics, {"val": loader})
            return evaluator.evaluate(torch.device("cpu"))["val"]
        return whole_split(model, loss, loader)

    evaluate(SyntheticSplit(batch, batch))  # model + one batch, every library and lazy state loaded
    baseline = status_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
    started = time.perf_counter()
    result = evaluate(SyntheticSplit(samples, batch))
    seconds = time.perf_counter() - started
    print(json.dumps({"peak_kb": status_kb("VmHWM"), "baseline_kb": baseline, "seconds": seconds,
                      "result": result}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--child", choices=["streaming", "whole_split"])
    args = parser.parse_args()
    if args.child:
        child(args.child, args.samples, args.batch)
        return
    print(f"split: {args.samples} samples, {CLASSES} classes, batch {args.batch}, linear model {FEATURES}->"
          f"{CLASSES}; metrics: accuracy, f1/precision/recall macro, top_5_accuracy; loss: cross_entropy")
    runs = {}
    for path in ("streaming", "whole_split"):
        out = subprocess.run([sys.executable, __file__, "--child", path, "--samples", str(args.samples),
                              "--batch", str(args.batch)], check=True, capture_output=True, text=True).stdout
        runs[path] = json.loads(out.strip().splitlines()[-1])
    for path, run in runs.items():
        prefix = "" if path == "streaming" else "whole_split_"
        peak, base = run["peak_kb"] / 1024, run["baseline_kb"] / 1024
        print(f"{prefix}eval_peak_rss_mb: {peak:.1f}")
        print(f"{prefix}baseline_rss_mb: {base:.1f}")
        print(f"{prefix}eval_memory_ratio: {peak / base:.3f}")
        print(f"{prefix}eval_growth_mb: {peak - base:.1f}")
        print(f"{prefix}eval_seconds: {run['seconds']:.1f}")
    a, b = runs["streaming"]["result"], runs["whole_split"]["result"]
    diff = max(abs(a[g][k] - b[g][k]) for g in ("metrics", "losses") for k in a[g])
    print(f"scores: {json.dumps(a['metrics'])} loss {a['losses']['cross_entropy']:.6f}")
    print(f"max_score_difference_between_paths: {diff:.2e}")


if __name__ == "__main__":
    main()
