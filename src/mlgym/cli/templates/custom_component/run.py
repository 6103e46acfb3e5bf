"""A grid search of this project's own model (components.py) on iris (4 experiments; a few seconds each).

    python run.py train --gs_config_path gs_config.yml --num_epochs 10
    python run.py report --grid_search_id <id printed at the end>

gs_config.yml names components.py under `python_modules:`, so `mlgym train --gs_config_path gs_config.yml`
works the same without this file; keep it if you like a script to start from (or import modules here).
"""

from mlgym.cli.main import entry_point

if __name__ == "__main__":
    entry_point()  # main(), then exit without the interpreter's slow teardown
