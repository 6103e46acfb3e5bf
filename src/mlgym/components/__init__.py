"""MLgym's built-in components; importing this package registers every one of them."""
from mlgym.components import (collators, data_loaders, datasets, early_stopping, image_folder, losses, lr_schedulers,
                              metrics, models, optimizers, splits)

__all__ = ["collators", "data_loaders", "datasets", "early_stopping", "image_folder", "losses", "lr_schedulers",
           "metrics", "models", "optimizers", "splits"]
