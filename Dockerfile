# One image for every service of docker-compose.yml: MLboard, the Ray head and workers, and the gym.
# Python packages come from a wheelhouse built on the host (deploy/wheelhouse.sh -> build/wheels/), installed
# with --no-index: the build needs no package index, and nothing is downloaded when a container starts.
#
#   deploy/wheelhouse.sh && docker build -t mlgym .                     # CPU torch on python:3.11-slim (Docker Hub)
#   docker build --build-arg BASE_IMAGE=localhost/debian:bookworm ...  # any base with python3.11 (CI: debootstrap)
#   TORCH_VARIANT=cuda PYTHON_VERSION=3.12 deploy/wheelhouse.sh &&
#   docker build --build-arg CUDA_BASE_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04 -t mlgym:cuda .
# The base's python3 must be the Python the wheelhouse was built for (3.11 by default; see PYTHON_VERSION there).
ARG BASE_IMAGE=docker.io/library/python:3.11-slim
# Set to build on a CUDA base instead (e.g. nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04); empty: BASE_IMAGE.
ARG CUDA_BASE_IMAGE=
FROM ${CUDA_BASE_IMAGE:-${BASE_IMAGE}}
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/opt/mlgym \
    PATH=/opt/mlgym/bin:$PATH
# A base without python3-venv (the CUDA images) gets Debian's/Ubuntu's python3 from apt; the others need nothing.
RUN if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then \
        apt-get update && apt-get install -y --no-install-recommends python3 python3-venv && \
        rm -rf /var/lib/apt/lists/*; \
    fi && \
    python3 -m venv /opt/mlgym && \
    useradd --create-home --user-group mlgym && \
    mkdir -p /data /runs && chown mlgym:mlgym /data /runs
# Dependencies first: the wheels are bind-mounted, not copied, so they leave no layer behind; the pins are copied
# so that the layer is rebuilt exactly when they change.
COPY build/wheels/requirements.txt /opt/mlgym/requirements.txt
RUN --mount=type=bind,source=build/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links /wheels -r /opt/mlgym/requirements.txt
# Then MLgym itself (a small layer, rebuilt when the code changes).
COPY build/wheels/mlgym-*.whl /tmp/wheel/
RUN pip install --no-cache-dir --no-index --no-deps /tmp/wheel/mlgym-*.whl && rm -rf /tmp/wheel && \
    pip check && mlgym --help >/dev/null && ml_board --help >/dev/null
COPY example /app/example
COPY deploy/gym.sh deploy/healthcheck.py /usr/local/bin/
WORKDIR /app
USER mlgym
CMD ["ml_board", "--help"]
