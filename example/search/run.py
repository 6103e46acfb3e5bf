"""Random search with ASHA over a small ConvNet on scikit-learn's digits: lr (log-uniform), batch size, width.

    python run.py train --gs_config_path gs_config.yml --run_config_path run_config.yml
    python run.py report --grid_search_id <id> --log_dir ../../event_storage
    python run.py warmstart --grid_search_id <id> --log_dir ../../event_storage

Everything it uses is built in (the `sklearn` digits dataset as 8x8 images, the `conv_net` model), so this file
only starts MLgym's CLI; run_config.yml holds the search (`search:` section).
"""

from mlgym.cli.main import entry_point

if __name__ == "__main__":
    entry_point()  # main(), then exit without the interpreter's slow teardown
