#!/usr/bin/env bash
# Regenerate deploy/requirements.lock: every dependency of `mlgym[ray]` with CPU torch, pinned to one version.
# Run it with a pip for the image's Python (3.11) after changing install_requires or the extras:
#   PIP=.venv/bin/pip deploy/lock.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PIP=${PIP:-.venv/bin/pip}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0+cpu}
report=$(mktemp)
trap 'rm -f "$report"' EXIT
"$PIP" install --dry-run --ignore-installed --quiet --report "$report" "$TORCH_SPEC" '.[ray]' 2>/dev/null
python3 - "$report" >deploy/requirements.lock <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
print("# Pinned dependencies of the MLgym image (mlgym[ray], CPU torch). Regenerate with deploy/lock.sh.")
for item in sorted(report["install"], key=lambda i: i["metadata"]["name"].lower()):
    name, version = item["metadata"]["name"], item["metadata"]["version"]
    if name.lower() != "mlgym":
        print(f"{name}=={version}")
PY
echo "wrote deploy/requirements.lock ($(grep -vc '^#' deploy/requirements.lock) packages)"
