#!/bin/sh
# The compose stack's `gym` service: run the example grid search on the Ray cluster and stream it to MLboard.
# Arguments are passed on to `mlgym train` (e.g. -c optimizer.config.lr=0.01). Environment:
#   MLGYM_ENVIRONMENT   ray | multiprocessing | main_process | auto (default: ray when this mlgym has the Ray
#                       executor, else local worker processes)
#   RAY_ADDRESS         the Ray head's GCS (default ray-head:6379)
#   RAY_MIN_CPUS        CPUs the cluster's workers must have joined with before the run starts (default 1)
#   MLBOARD_URL         the board (default http://board:5001); MLBOARD_INGEST_TOKEN its ingest token
#   MLGYM_EXAMPLE       folder under /app/example (default grid_search); MLGYM_NUM_EPOCHS (default 8)
#   MLGYM_PROCESS_COUNT worker processes when not on Ray (default 2)
set -eu
RAY_ADDRESS=${RAY_ADDRESS:-ray-head:6379}
MLBOARD_URL=${MLBOARD_URL:-http://board:5001}
environment=${MLGYM_ENVIRONMENT:-auto}
if [ "$environment" = auto ]; then
  if mlgym train --help | grep -q -e '--ray_address'; then
    environment=ray
  else
    environment=multiprocessing
    echo "gym: this mlgym has no Ray executor; running the grid search on local worker processes"
  fi
fi

healthcheck.py wait-board "$MLBOARD_URL" 300
if [ "$environment" = ray ]; then
  # A driver must sit on a node of the cluster: join it holding no resources, so every job runs on a worker.
  ray start --address "$RAY_ADDRESS" --num-cpus 0 --num-gpus 0 >/tmp/ray-start.log 2>&1 \
    || { cat /tmp/ray-start.log >&2; exit 1; }
  # Started with the stack, the gym may come before the workers have joined: wait for all of them (their CPUs).
  healthcheck.py wait-ray-cpus "$RAY_ADDRESS" 300 "${RAY_MIN_CPUS:-1}"
  set -- --environment ray --ray_address "$RAY_ADDRESS" "$@"
else
  set -- --environment "$environment" --process_count "${MLGYM_PROCESS_COUNT:-2}" "$@"
fi

cd "/app/example/${MLGYM_EXAMPLE:-grid_search}"
echo "gym: mlgym train $*"
exec python run.py train --gs_config_path gs_config.yml --log_dir /runs --num_epochs "${MLGYM_NUM_EPOCHS:-8}" \
    --websocket_logging_servers "$MLBOARD_URL" "$@"
