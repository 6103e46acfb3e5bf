"""Start a grid search of an MLP on iris (4 experiments; a few seconds each).

    python run.py train --gs_config_path gs_config.yml --run_config_path run_config.yml
    python run.py report --grid_search_id <id printed at the end>
    python run.py warmstart --grid_search_id <id>        # resumes a stopped run from its checkpoints

`mlgym ...` does the same: this file only exists as a place for your own imports, if you prefer them to
`python_modules:` in gs_config.yml.
"""

from mlgym.cli.main import entry_point

if __name__ == "__main__":
    entry_point()  # main(), then exit without the interpreter's slow teardown
