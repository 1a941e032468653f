#!/usr/bin/env bash
# Proves profiles/slurm on a real SLURM: installs Debian's slurm-wlm and munge, starts munged,
# slurmctld and slurmd on localhost as a one-node cluster, and runs the small test config through
# the profile with the README's command (plus the test layer tests/slurm/profile). Exit 0 = passed.
#
#   sudo tests/slurm/run.sh
#
# Phases, each one bounded `snakemake --profile profiles/slurm ...` call from the repository root
# (results in a scratch folder):
#   oom     up to generator training; SLURM kills training for exceeding its memory (10 MB a
#           member) on every attempt: the profile's `retries: 2` makes 3 attempts, the run fails, and no
#           generator checkpoint is left behind.
#   run     the README's command resumes: it trains the generators and runs inverse classification
#           (up to $MIC_SLURM_UNTIL), re-making nothing that finished before; every job was a SLURM
#           job and COMPLETED, none asked for a GPU, training ran as a group job; then a dry run
#           has nothing to do.
#   gpu     with `device: cuda`, each generator group job asks sbatch for exactly one GPU (of the
#           type set by the profile's gpu_model opt-in, if given), which this GPU-less node refuses.
# Environment: MIC_DATA_MIRROR (default ../shared/data); MIC_SLURM_DATASETS (default: mnist, the
# data sets of tests/config/config.yaml to run); MIC_SLURM_UNTIL (default: inverse_classify; empty:
# the whole workflow); MIC_SLURM_PHASE_TIMEOUT (s, default 420); MIC_SLURM_KEEP=1 keeps the scratch.
# Every exit stops snakemake and the daemons this script started, by pid. /etc/slurm/slurm.conf
# (the only place srun inside a job looks) is written only if absent, and removed again.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$REPO/tests/slurm"
MIC_DATA_MIRROR=$(cd "${MIC_DATA_MIRROR:-$REPO/../shared/data}" && pwd)
export MIC_DATA_MIRROR
read -r -a DATASETS <<<"${MIC_SLURM_DATASETS:-mnist}"
read -r -a UNTIL <<<"${MIC_SLURM_UNTIL-inverse_classify}"
PHASE_TIMEOUT=${MIC_SLURM_PHASE_TIMEOUT:-420}
SLURM_CONF_PATH=/etc/slurm/slurm.conf
MARKER="# written by mic tests/slurm/run.sh"
unset SLURM_CONF

START=$(date +%s)
log() { printf '[slurm-test +%3ss] %s\n' "$(($(date +%s) - START))" "$*" >&2; }
fail() {
  log "FAIL: $*"
  exit 1
}

[ "$(id -u)" = 0 ] || fail "run as root (installs packages, starts the SLURM daemons)"

# ---------------------------------------------------------------- install (bounded)
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null ||
  ! command -v munged >/dev/null; then
  log "installing slurm-wlm and munge"
  # Keep the packages' own services from starting: this script starts its own daemons.
  policy_rc=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
    policy_rc=/usr/sbin/policy-rc.d
  fi
  status=0
  timeout 240 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 240 \
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null || status=$?
  [ -z "$policy_rc" ] || rm -f "$policy_rc"
  [ "$status" = 0 ] || fail "apt-get install slurm-wlm munge failed (exit $status)"
fi
log "$(dpkg-query -W -f 'slurm-wlm ${Version}, ' slurm-wlm)$(dpkg-query -W -f 'munge ${Version}' munge)"

# ---------------------------------------------------------------- scratch, cleanup
WORK=$(mktemp -d /tmp/mic-slurm.XXXXXX)
chmod 755 "$WORK"
RUN="$WORK/run"
mkdir -p "$WORK"/{state,spool,log} "$RUN" "$WORK"/munge/{etc,run}
PIDS=()      # munged, slurmctld, slurmd
CHILD=""     # the snakemake phase running now
WROTE_CONF=""

stop_pid() { # TERM, up to 10 s, KILL; reaps it
  local pid=$1 _
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$? pid alive=""
  trap - EXIT INT TERM
  set +e
  # Interrupted mid-phase: snakemake first (`timeout` passes the TERM on; snakemake cancels its jobs).
  [ -z "$CHILD" ] || stop_pid "$CHILD"
  # Whatever is left on this private cluster is this test's.
  [ -z "$WROTE_CONF" ] || [ "${#PIDS[@]}" -lt 2 ] || timeout 10 scancel --user="$(id -un)" >/dev/null 2>&1
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[i]}"; done # slurmd, slurmctld, munged
  for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive="$alive $pid"; done
  if [ -n "$WROTE_CONF" ] && head -1 "$SLURM_CONF_PATH" 2>/dev/null | grep -qF "$MARKER"; then
    rm -f "$SLURM_CONF_PATH"
  fi
  if [ -n "$alive" ]; then
    log "still alive after stop:$alive"
    rc=1
  elif [ "${#PIDS[@]}" -gt 0 ]; then
    log "daemons stopped (pids ${PIDS[*]})"
  fi
  if [ "$rc" = 0 ] && [ "${MIC_SLURM_KEEP:-0}" != 1 ]; then
    rm -rf "$WORK"
  else
    log "scratch folder kept: $WORK"
  fi
  log "exit $rc"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- cluster config
if [ -e "$SLURM_CONF_PATH" ] && ! head -1 "$SLURM_CONF_PATH" | grep -qF "$MARKER"; then
  fail "$SLURM_CONF_PATH exists and is not this test's: refusing to replace a real cluster's config"
fi
read -r CTLD_PORT SLURMD_PORT < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')
mkdir -p "$(dirname "$SLURM_CONF_PATH")"
{
  echo "$MARKER (scratch: $WORK)"
  sed -e "s#@DIR@#$WORK#g" -e "s#@CTLD_PORT@#$CTLD_PORT#" -e "s#@SLURMD_PORT@#$SLURMD_PORT#" \
    -e "s#@MUNGE_SOCKET@#$WORK/munge/run/munge.socket#" "$HERE/slurm.conf.in"
} >"$SLURM_CONF_PATH"
WROTE_CONF=1

# ---------------------------------------------------------------- daemons
# munged runs as the munge user on a private socket and key: no clash with a system munged.
chown -R munge:munge "$WORK/munge"
chmod 700 "$WORK/munge/etc"
setpriv --reuid munge --regid munge --clear-groups mungekey --create --keyfile "$WORK/munge/etc/munge.key"
setpriv --reuid munge --regid munge --clear-groups munged --foreground \
  --socket="$WORK/munge/run/munge.socket" --key-file="$WORK/munge/etc/munge.key" \
  --pid-file="$WORK/munge/run/munged.pid" --seed-file="$WORK/munge/etc/munged.seed" \
  --log-file="$WORK/munge/etc/munged.log" >"$WORK/log/munged.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do [ -S "$WORK/munge/run/munge.socket" ] && break; sleep 0.2; done
munge -S "$WORK/munge/run/munge.socket" -n | unmunge -S "$WORK/munge/run/munge.socket" >/dev/null ||
  fail "munged does not answer: $(cat "$WORK/log/munged.out")"

slurmctld -D -i >"$WORK/log/slurmctld.out" 2>&1 &
PIDS+=($!)
# The host is not called localhost: -N makes this slurmd the node "localhost" (NodeAddr=127.0.0.1).
slurmd -D -N localhost >"$WORK/log/slurmd.out" 2>&1 &
PIDS+=($!)
log "munged, slurmctld, slurmd started (pids ${PIDS[*]}; ports $CTLD_PORT, $SLURMD_PORT)"
state=""
for _ in $(seq 60); do
  state=$(timeout 5 sinfo -h -n localhost -o %T 2>/dev/null || true)
  [ "$state" = idle ] && break
  sleep 1
done
[ "$state" = idle ] || fail "node not idle after 60 s (state '$state'): $(tail -5 "$WORK"/log/slurm*.log)"
job=$(timeout 10 sbatch --parsable --mem=100 --time=1 --output="$WORK/log/smoke.out" --wrap='srun hostname')
for _ in $(seq 60); do
  state=$(timeout 5 squeue -h --states=all -j "$job" -o %T 2>/dev/null || true)
  [ "$state" = COMPLETED ] && break
  sleep 1
done
[ "$state" = COMPLETED ] || fail "smoke job $job: state '$state', output: $(cat "$WORK/log/smoke.out")"
log "cluster up: node localhost idle, smoke job $job completed"

# ---------------------------------------------------------------- the workflow through the profile
python3 - "$REPO/tests/config/config.yaml" "$WORK/config.yaml" "${DATASETS[@]}" <<'EOF'
import sys, yaml
source, target, *keep = sys.argv[1:]
config = yaml.safe_load(open(source))
unknown = set(keep) - set(config["datasets"])
if unknown:
    sys.exit(f"MIC_SLURM_DATASETS names data sets not in {source}: {sorted(unknown)}")
config["datasets"] = {name: config["datasets"][name] for name in keep}
config["replicates"] = 1  # the profile is under test here, not the statistics: one replicate keeps it short
yaml.safe_dump(config, open(target, "w"), sort_keys=False)
EOF
train_rules=()
for dataset in "${DATASETS[@]}"; do train_rules+=("train_generators_$dataset"); done
until_args=()
[ "${#UNTIL[@]}" = 0 ] || until_args=(--until "${UNTIL[@]}")

# The README's command from the repository root, plus the test layer, a scratch workdir and config.
smk() {
  local name=$1 status=0
  shift
  log "phase $name: snakemake --profile profiles/slurm --profile tests/slurm/profile $*"
  # In the background and waited for, so that a TERM to this script is handled at once.
  (cd "$REPO" && exec timeout -k 20 "$PHASE_TIMEOUT" snakemake --profile profiles/slurm \
    --profile tests/slurm/profile --directory "$RUN" --configfile "$WORK/config.yaml" "$@") \
    >"$WORK/$name.log" 2>&1 &
  CHILD=$!
  wait "$CHILD" || status=$?
  CHILD=""
  if [ "$status" = 124 ] || [ "$status" = 137 ]; then
    fail "phase $name did not end in ${PHASE_TIMEOUT} s ($WORK/$name.log)"
  fi
  return "$status"
}
show() { tail -40 "$WORK/$1.log" >&2; }
job_stats() { sed -n '/^Job stats:/,/^total/p' "$WORK/$1.log" | awk 'NR > 3 && $1 != "total" {print $1}' | sort -u; }
slurm_states() { # JobID State GPUs Comment (rule_<rule> or rule_<group>_<rules>) of a phase's SLURM jobs
  local ids
  ids=$(grep -o 'submitted with SLURM jobid [0-9]*' "$WORK/$1.log" | awk '{print $NF}' | paste -sd,)
  [ -z "$ids" ] || timeout 10 squeue -h --states=all -j "$ids" -O "JobID:10,State:14,tres-per-job:20,Comment:90"
}
finished_files() { find "$RUN/resources" "$RUN/results" -type f | sort | xargs stat -c '%n %Y'; }

# oom: SLURM kills generator training on every attempt (10 MB a member: at once, while starting).
oom=()
for rule in "${train_rules[@]}"; do oom+=("$rule:mem_mb=10"); done
smk oom --until "${train_rules[@]}" --set-resources "${oom[@]}" && { show oom; fail "phase oom: training in 10 MB succeeded"; }
states=$(slurm_states oom)
echo "$states" >&2
n_fail=$(echo "$states" | awk '$2 == "FAILED" && $4 ~ /^rule_generators_/' | wc -l)
[ "$n_fail" = 3 ] || { show oom; fail "phase oom: expected 3 failed generator jobs (1 + retries: 2), saw $n_fail"; }
[ "$(echo "$states" | awk '$2 != "FAILED" && $2 != "COMPLETED"' | wc -l)" = 0 ] || fail "phase oom: a job neither COMPLETED nor FAILED"
grep -rqs 'exceeded memory limit' "$RUN/logs/slurm" || { show oom; fail "phase oom: no out-of-memory kill in logs/slurm"; }
left=$(find "$RUN/results" -path '*/generators/*' | wc -l)
[ "$left" = 0 ] || fail "phase oom: the failed jobs left $left generator checkpoint(s) behind"
[ -s "$RUN/results/${DATASETS[0]}/data.npz" ] || fail "phase oom: the jobs before training did not run"
finished_files >"$WORK/finished.before"
log "phase oom: SLURM killed the generator job for its memory $n_fail times; no checkpoint left"

# run: the same command without the fault resumes from what finished.
smk run "${until_args[@]}" || { show run; fail "phase run failed"; }
states=$(slurm_states run)
echo "$states" >&2
n_jobs=$(echo "$states" | grep -c . || true)
[ "$n_jobs" -gt 0 ] || fail "phase run submitted no SLURM job"
[ "$(echo "$states" | awk '$2 == "COMPLETED"' | wc -l)" = "$n_jobs" ] || fail "phase run: not every SLURM job COMPLETED"
[ "$(echo "$states" | awk '$3 != "N/A"' | wc -l)" = 0 ] || fail "phase run: a job asked for a GPU with device: cpu"
echo "$states" | grep -q ' rule_generators_' || fail "phase run: training did not run as 'generators' group jobs"
rules=$(job_stats run | paste -sd' ')
for rule in "${train_rules[@]}" "${UNTIL[@]}"; do
  [[ " $rules " == *" $rule "* ]] || fail "phase run did not run $rule (ran: $rules)"
done
cut -d' ' -f1 "$WORK/finished.before" | xargs stat -c '%n %Y' | cmp -s - "$WORK/finished.before" ||
  fail "phase run re-made outputs that had finished in phase oom"
smk noop "${until_args[@]}" --dry-run || { show noop; fail "dry run after phase run failed"; }
grep -q -e "Nothing to be done" -e '^total *0$' "$WORK/noop.log" || { show noop; fail "work left after phase run"; }
log "phase run: $n_jobs SLURM jobs, all COMPLETED, no GPU asked; ran: $rules; then nothing left to do"

# gpu: device: cuda -> --gpus=1 per generator group job (--gpus=<type>:1 with the profile's opt-in
# gpu_model); this node has no GPU, so sbatch refuses the job at once and nothing runs.
gpu_model=()
for rule in "${train_rules[@]}"; do gpu_model+=("$rule:gpu_model=testgpu"); done
for variant in gpu gpu_model; do
  extra=()
  expect="--gpus=1 "
  if [ "$variant" = gpu_model ]; then
    extra=(--set-resources "${gpu_model[@]}")
    expect="--gpus=testgpu:1 "
  fi
  smk "$variant" --config device=cuda --forcerun "${train_rules[@]}" --until "${train_rules[@]}" --retries 0 --verbose "${extra[@]}" &&
    fail "phase $variant: a GPU job ran on a node without GPUs"
  grep -q -- "$expect" "$WORK/$variant.log" || { show "$variant"; fail "phase $variant: no sbatch call with $expect"; }
  [ "$(grep -o -- '--gpus=[^ ]*' "$WORK/$variant.log" | sort -u)" = "${expect% }" ] ||
    fail "phase $variant: a job asked for other GPUs than ${expect% }"
  ! grep -q 'submitted with SLURM jobid' "$WORK/$variant.log" || fail "phase $variant: sbatch accepted a GPU job here"
done
log "phase gpu: device: cuda puts --gpus=1 (with gpu_model: --gpus=testgpu:1) on the generator group job; refused here"
log "all phases passed"
