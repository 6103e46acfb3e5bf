#!/usr/bin/env bash
# Build the wheelhouse the image installs from (no index at image build time, none at container start):
# every pinned dependency from deploy/requirements.lock plus a wheel of this checkout, into build/wheels/.
#   deploy/wheelhouse.sh                        CPU torch (the default)
#   TORCH_VARIANT=cuda deploy/wheelhouse.sh     CUDA torch (PyPI's Linux build) and its nvidia-* dependencies
# Env: PIP (a pip of the same Python as the image's, default .venv/bin/pip), WHEELHOUSE (default build/wheels),
#      PYTHON_VERSION (download for another Python than PIP's, e.g. 3.12 for an Ubuntu 24.04 CUDA base),
#      TORCH_INDEX_URL (an extra index holding the torch build you want, e.g. PyTorch's CPU wheel index).
# Downloads go through pip's cache, so a rebuild only fetches what changed. For an air-gapped machine, run this
# where the index is reachable and copy build/wheels over: the image build itself needs no network.
set -euo pipefail
cd "$(dirname "$0")/.."
PIP=${PIP:-.venv/bin/pip}
WHEELHOUSE=${WHEELHOUSE:-build/wheels}
TORCH_VARIANT=${TORCH_VARIANT:-cpu}
mkdir -p "$WHEELHOUSE"
rm -f "$WHEELHOUSE"/mlgym-*.whl

case "$TORCH_VARIANT" in
  cpu)  cp deploy/requirements.lock "$WHEELHOUSE/requirements.txt"; deps=(--no-deps) ;;
  # PyPI's torch for Linux is the CUDA build; its nvidia-* dependencies are resolved here (not in the lock).
  cuda) sed 's/^torch==\([^+]*\)+cpu$/torch==\1/' deploy/requirements.lock >"$WHEELHOUSE/requirements.txt"; deps=() ;;
  *)    echo "wheelhouse: TORCH_VARIANT must be cpu or cuda, got $TORCH_VARIANT" >&2; exit 2 ;;
esac
target=()
if [ -n "${PYTHON_VERSION:-}" ]; then
  target=(--python-version "$PYTHON_VERSION" --implementation cp --platform manylinux_2_28_x86_64
          --platform manylinux2014_x86_64 --only-binary=:all:)
fi
index=()
[ -n "${TORCH_INDEX_URL:-}" ] && index=(--extra-index-url "$TORCH_INDEX_URL")

# (filter the notices about file:// index folders some pip configs name)
"$PIP" download -q "${deps[@]}" "${target[@]}" "${index[@]}" -r "$WHEELHOUSE/requirements.txt" -d "$WHEELHOUSE" \
  2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
"$PIP" wheel -q --no-deps --no-build-isolation . -w "$WHEELHOUSE" 2>/dev/null \
  || "$PIP" wheel -q --no-deps . -w "$WHEELHOUSE"
rm -rf build/lib build/bdist.* src/*.egg-info
echo "wheelhouse: $(ls "$WHEELHOUSE"/*.whl | wc -l) wheels, $(du -sh "$WHEELHOUSE" | cut -f1) in $WHEELHOUSE"
