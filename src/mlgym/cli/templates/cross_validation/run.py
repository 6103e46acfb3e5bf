"""3-fold cross-validation of 2 learning rates of an MLP on wine (6 short jobs).

    python run.py train --gs_config_path gs_config.yml --validation_config_path validation_config.yml --num_epochs 10
    python run.py report --grid_search_id <id printed at the end>

`mlgym ...` does the same: this file only exists as a place for your own imports, if you prefer them to
`python_modules:` in gs_config.yml.
"""

from mlgym.cli.main import entry_point

if __name__ == "__main__":
    entry_point()  # main(), then exit without the interpreter's slow teardown
