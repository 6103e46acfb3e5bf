"""`mlgym init`: copy a project template (gs_config.yml, run.py, and the run or validation config it needs) into a
new folder. The templates are plain files under `cli/templates/<name>/`, shipped as package data."""
from __future__ import annotations

import shutil
from pathlib import Path

from mlgym.errors import UsageError

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

# What each template starts, and how (shown after `mlgym init`); the folder name is the template's name.
COMMANDS = {
    "grid_search": "mlgym train --gs_config_path gs_config.yml --run_config_path run_config.yml",
    "cross_validation": "mlgym train --gs_config_path gs_config.yml --validation_config_path validation_config.yml "
                        "--num_epochs 10",
    "nested_cv": "mlgym train --gs_config_path gs_config.yml --validation_config_path validation_config.yml "
                 "--num_epochs 5",
    "search": "mlgym train --gs_config_path gs_config.yml --run_config_path run_config.yml",
    "custom_component": "mlgym train --gs_config_path gs_config.yml --num_epochs 10",
}


def template_names() -> list[str]:
    """The templates there are (every folder under templates/), in a stable order."""
    return sorted(p.name for p in TEMPLATES_DIR.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def _files(template: Path) -> list[Path]:
    return sorted(p for p in template.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                  and p.suffix != ".pyc")


def create_project(template: str, output: str | Path) -> list[Path]:
    """Copy template `template` into `output` (created; it must not exist or be empty); the files written."""
    names = template_names()
    if template not in names:
        raise UsageError(f"unknown template '{template}'; templates: {', '.join(names)}")
    output = Path(output)
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise UsageError(f"{output} exists and is not an empty folder; mlgym init writes a new project: give "
                         "--output a new (or empty) folder")
    output.mkdir(parents=True, exist_ok=True)
    source = TEMPLATES_DIR / template
    written = []
    for path in _files(source):
        target = output / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        written.append(target)
    return written


def next_steps(template: str, output: str | Path) -> str:
    """What to type after `mlgym init`."""
    validate = COMMANDS[template].replace("mlgym train", "mlgym validate").replace(" --num_epochs 10", "") \
        .replace(" --num_epochs 5", "")
    return (f"cd {output}\n"
            f"{validate}\n"
            f"{COMMANDS[template]}\n"
            "mlgym report --grid_search_id <the id train prints>")
