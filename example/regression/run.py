"""Regression grid search: an MLP on scikit-learn's diabetes table, read from a CSV file, scored by MAE and RMSE.

Both metrics are lower-is-better (they declare it where they are registered), so the best epoch, the best
experiment in `mlgym report` and on MLboard are the ones with the lowest MAE.

    python run.py train --gs_config_path gs_config.yml --num_epochs 20
"""
from pathlib import Path

HERE = Path(__file__).resolve().parent


def write_diabetes_csv(path: Path) -> None:
    """scikit-learn's bundled diabetes table (no download) as a CSV with a `progression` target column."""
    from sklearn.datasets import load_diabetes
    frame = load_diabetes(as_frame=True).frame.rename(columns={"target": "progression"})
    frame.to_csv(path, index=False)


if __name__ == "__main__":
    from mlgym.cli.main import main
    if not (HERE / "diabetes.csv").is_file():
        write_diabetes_csv(HERE / "diabetes.csv")
    entry_point()  # main(), then exit without the interpreter's slow teardown
