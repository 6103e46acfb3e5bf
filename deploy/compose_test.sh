#!/usr/bin/env bash
# `make compose-test`: build the wheelhouse and the image, bring docker-compose.yml up with podman-compose, check
# that the example grid search ran (on a Ray worker once mlgym has the Ray executor), reached the board and is
# served by its REST API, then tear everything down (also when a step fails).
# Needs root podman, podman-compose, debootstrap, runc (see .ci/run). No container registry is used: the base
# image is debootstrapped (deploy/base_image.sh). Env: PIP (default .venv/bin/pip), BASE_IMAGE, MLGYM_IMAGE,
# RAY_WORKERS (2), RAY_WORKER_CPUS (1), MLGYM_NUM_EPOCHS (2), MLGYM_COMPOSE_CACHE, KEEP_STACK=1 (no teardown).
set -euo pipefail
cd "$(dirname "$0")/.."
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/deploy/containers.conf}
export BASE_IMAGE=${BASE_IMAGE:-localhost/debian:bookworm}
export MLGYM_IMAGE=${MLGYM_IMAGE:-localhost/mlgym:compose-test}
export RAY_WORKERS=${RAY_WORKERS:-2} RAY_WORKER_CPUS=${RAY_WORKER_CPUS:-1} MLGYM_NUM_EPOCHS=${MLGYM_NUM_EPOCHS:-2}
export RAY_MIN_CPUS=$((RAY_WORKERS * RAY_WORKER_CPUS))  # the gym waits for every worker before it plans
export MLBOARD_INGEST_TOKEN MLBOARD_PORT
MLBOARD_INGEST_TOKEN=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
MLBOARD_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PROJECT=${COMPOSE_PROJECT:-mlgymtest$$}
EXPECTED_EXPERIMENTS=4          # example/grid_search: 2 learning rates x 2 batch sizes
COMPOSE=(podman-compose -p "$PROJECT")
T0=$SECONDS
TIMES=()

say() { echo "compose-test: $*"; }
die() { echo "compose-test: FAILED: $*" >&2; exit 1; }
timed() {  # timed NAME COMMAND...: run, record the seconds it took
  local name=$1 start=$SECONDS; shift
  say "$name ..."
  "$@"
  TIMES+=("$name $((SECONDS - start))s")
}
containers() {  # containers SERVICE: the names of that service's containers in this project
  podman ps -a --filter "label=io.podman.compose.project=$PROJECT" --filter "label=com.docker.compose.service=$1" \
    --format '{{.Names}}' | sort
}

preflight() {
  for tool in podman podman-compose python3; do
    command -v "$tool" >/dev/null || die "$tool is missing: apt-get install -y podman podman-compose debootstrap runc"
  done
  podman info >/dev/null 2>/tmp/podman-info.$$ \
    || die "podman cannot run on this machine: $(tail -n 3 /tmp/podman-info.$$)"
  rm -f /tmp/podman-info.$$
}

can_run_containers() {
  local out
  out=$(podman run --rm --network none "$BASE_IMAGE" true 2>&1) || die "podman cannot start a container here \
(needs namespaces, cgroups and the runc runtime; containers.conf: $CONTAINERS_CONF): $out"
}

build_image() {
  podman build -q --build-arg BASE_IMAGE="$BASE_IMAGE" -t "$MLGYM_IMAGE" . >/dev/null
  podman image prune -f >/dev/null   # the previous build's untagged MLgym layer
  podman image inspect "$MLGYM_IMAGE" --format 'image: {{.Id}} {{.Size}} bytes' | cut -c1-90
}

teardown() {
  local status=$?
  trap - EXIT INT TERM
  if [ "$status" -ne 0 ]; then
    for c in $(podman ps -a --filter "label=io.podman.compose.project=$PROJECT" --format '{{.Names}}'); do
      echo "----- logs of $c (last 40 lines) -----" >&2
      podman logs --tail 40 "$c" >&2 2>&1 || true
    done
  fi
  if [ "${KEEP_STACK:-0}" = 1 ]; then
    say "KEEP_STACK=1: left project $PROJECT up (board on 127.0.0.1:$MLBOARD_PORT)"
  else
    "${COMPOSE[@]}" down -v >/dev/null 2>&1 || true
    podman rm -f $(podman ps -aq --filter "label=io.podman.compose.project=$PROJECT") >/dev/null 2>&1 || true
    podman volume rm $(podman volume ls -q --filter "label=io.podman.compose.project=$PROJECT") >/dev/null 2>&1 || true
    podman network rm "${PROJECT}_default" >/dev/null 2>&1 || true
    say "tore down project $PROJECT"
  fi
  say "timings: ${TIMES[*]:-none}; total $((SECONDS - T0))s"
  [ "$status" -eq 0 ] && say "PASSED" || echo "compose-test: FAILED (exit status $status)" >&2
  exit "$status"
}

stack_up() {
  "${COMPOSE[@]}" up -d --no-build >"/tmp/compose-up.$PROJECT.log" 2>&1 \
    || { tail -n 30 "/tmp/compose-up.$PROJECT.log" >&2; die "podman-compose up failed"; }
  rm -f "/tmp/compose-up.$PROJECT.log"
}

wait_stack_healthy() { wait_healthy board; wait_healthy ray-head; wait_healthy ray-worker; }

wait_healthy() {  # podman without systemd runs no healthcheck timers, so the test runs each container's check
  local service=$1 deadline=$((SECONDS + 180)) c
  for c in $(containers "$service"); do
    until podman healthcheck run "$c" >/dev/null 2>&1; do
      [ "$(podman inspect -f '{{.State.Running}}' "$c")" = true ] || die "$c stopped before it was healthy"
      [ "$SECONDS" -lt "$deadline" ] || die "$c not healthy after 180 s"
      sleep 2
    done
    say "$c healthy"
  done
}

worker_ids() {  # Ray node ids, hostnames and IP addresses of the Ray workers
  local c
  for c in $(containers ray-worker); do
    podman exec "$c" healthcheck.py ray-node-id
    podman exec "$c" hostname
    podman inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$c"
  done | tr ' ' '\n' | sed '/^$/d'
}

ray_smoke() {  # the cluster runs a task on a worker for a driver that joins it the way the gym does
  local where
  where=$(podman run --rm --init --shm-size 512m --network "${PROJECT}_default" -e RAY_USAGE_STATS_ENABLED=0 \
    "$MLGYM_IMAGE" sh -c 'ray start --address ray-head:6379 --num-cpus 0 --num-gpus 0 >/tmp/ray.log 2>&1 \
      || { cat /tmp/ray.log >&2; exit 1; }
      python -c "
import socket, ray
ray.init(address=\"ray-head:6379\", log_to_driver=False, logging_level=\"ERROR\")
print(ray.get(ray.remote(num_cpus=1)(lambda: socket.gethostname()).remote()))"' 2>&1 | tail -n 1)
  worker_ids | grep -qx "$where" || die "a Ray task ran on '$where', not on a ray-worker ($(worker_ids | xargs))"
  say "ray: a task ran on worker $where"
}

wait_gym() {
  local gym status
  gym=$(containers gym)
  [ -n "$gym" ] || die "no gym container"
  status=$(timeout 480 podman wait "$gym") || die "gym did not finish within 480 s"
  podman logs "$gym" 2>&1 | grep -E '^(gym:|grid search)' || true
  [ "$status" = 0 ] || die "gym exited with status $status"
}

trap teardown EXIT
trap 'exit 130' INT TERM
timed preflight preflight
timed base-image deploy/base_image.sh "$BASE_IMAGE"
can_run_containers
timed wheelhouse env PIP="${PIP:-.venv/bin/pip}" deploy/wheelhouse.sh
timed image build_image
# The gym's executor: the Ray workers (COMPOSE_TEST_ENVIRONMENT=multiprocessing: local processes in the gym container).
MODE=${COMPOSE_TEST_ENVIRONMENT:-ray}
say "the gym runs its jobs with --environment $MODE"
export MLGYM_ENVIRONMENT=$MODE
timed stack-up stack_up
timed healthy wait_stack_healthy
timed ray-smoke ray_smoke
timed grid-search wait_gym
mapfile -t WORKERS < <(worker_ids)
timed check python3 deploy/compose_check.py "http://127.0.0.1:$MLBOARD_PORT" \
  "$(podman volume inspect "${PROJECT}_runs" --format '{{.Mountpoint}}')" "$EXPECTED_EXPERIMENTS" "$MODE" "${WORKERS[@]}"
