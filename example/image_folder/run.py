"""A small ResNet on a folder of images that this script draws on its first run (no download).

    python run.py train --gs_config_path gs_config.yml --run_config_path run_config.yml
    python run.py train --gs_config_path gs_config.yml --num_epochs 2 --process_count 1
    python run.py validate --gs_config_path gs_config.yml
    python run.py warmstart --grid_search_id <id>

Before `train`, `validate` or `warmstart`, the images are written to `data/shapes/<class>/<n>.png` next to this
file unless they are there (6 shapes x 500 images, 32 x 32 RGB, a few seconds; see shapes.py): the same pixels on
every machine. The config reads them with the built-in `image_folder` dataset (2 loader workers, persistent), and
trains the `resnet_small` model of components.py in bf16 mixed precision over 2 learning rates. Run it from this
folder: the config's image root is relative to the working directory.
"""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import components  # noqa: E402,F401  (registers this example's resnet_small)
from mlgym.cli.main import entry_point  # noqa: E402

DATA = HERE / "data" / "shapes"

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in ("train", "validate", "warmstart"):
        from shapes import ensure_shapes
        if ensure_shapes(DATA):
            print(f"wrote the image folder {DATA}")
    entry_point()  # main(), then exit without the interpreter's slow teardown
