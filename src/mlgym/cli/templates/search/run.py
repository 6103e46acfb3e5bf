"""A random search of 9 trials with ASHA early stopping, an MLP on wine.

    python run.py validate --gs_config_path gs_config.yml --run_config_path run_config.yml
    python run.py train --gs_config_path gs_config.yml --run_config_path run_config.yml
    python run.py report --grid_search_id <id printed at the end>

`mlgym ...` does the same: this file only exists as a place for your own imports, if you prefer them to
`python_modules:` in gs_config.yml.
"""

from mlgym.cli.main import entry_point

if __name__ == "__main__":
    entry_point()  # main(), then exit without the interpreter's slow teardown
