#!/usr/bin/env bash
# Rebuild the published leaderboards (leaderboards/<task>/<dataset>.md and
# .csv, leaderboards/index.html) from nothing: every published row is trained
# again with seeds 0, 1 and 2, and its untrained row (--steps 0) with seed 0,
# into a fresh results store, runs folder and cache; then
# `ganbench leaderboard build` writes the tables.
#
#   bash leaderboards/rebuild.sh                        # every table, into leaderboards/
#   bash leaderboards/rebuild.sh unconditional/ring8    # one table, into a temporary folder
#   bash leaderboards/rebuild.sh --out DIR TABLE...     # some tables, into DIR
#   bash leaderboards/rebuild.sh --dry-run              # print the runs, run nothing
#   bash leaderboards/rebuild.sh --keep                 # keep the store and run folders
#
# A subset never writes into leaderboards/ unless --out says so: index.html
# lists every table of the store it is built from, so a partial store would
# drop the other tables from it.
#
# Every run uses the CPU and one thread (OMP_NUM_THREADS=1, MKL_NUM_THREADS=1):
# a run repeats bit for bit for a seed only with the same device and thread
# count, and the published numbers are meant to be reproducible on a laptop.
# The whole rebuild took 64 minutes on a two-core machine that was busy with
# other work (24 runs); the three stacked-digits runs were 40% of it.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seeds=(0 1 2)

# The published rows: table (task/dataset), model, steps, batch size.
# Steps and batch sizes are the datasets' defaults, written out so that a
# change of default cannot silently change what the tables compare.
rows=(
  "class-conditional/digits cgan 2000 64"
  "unconditional/digits dcgan 2000 64"
  "unconditional/digits gan 2000 64"
  "unconditional/grid25 gan 5000 256"
  "unconditional/ring8 gan 5000 256"
  "unconditional/stacked-digits dcgan 5000 64"
)

usage() {
  sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  echo "tables: $(printf '%s\n' "${rows[@]}" | cut -d' ' -f1 | sort -u | tr '\n' ' ')"
}

out=""
dry_run=0
keep=0
wanted=()
while (($#)); do
  case "$1" in
    --out) out="${2:?--out needs a folder}"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "rebuild.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) wanted+=("$1"); shift ;;
  esac
done

known_tables="$(printf '%s\n' "${rows[@]}" | cut -d' ' -f1 | sort -u)"
for table in "${wanted[@]+"${wanted[@]}"}"; do
  if ! grep -qxF "$table" <<<"$known_tables"; then
    echo "rebuild.sh: no published table $table; tables: $(tr '\n' ' ' <<<"$known_tables")" >&2
    exit 2
  fi
done

# The runs: "table model dataset seed steps batch", trained rows then untrained.
runs=()
for row in "${rows[@]}"; do
  read -r table model steps batch <<<"$row"
  if ((${#wanted[@]})) && ! printf '%s\n' "${wanted[@]}" | grep -qxF "$table"; then
    continue
  fi
  for seed in "${seeds[@]}"; do
    runs+=("$table $model ${table#*/} $seed $steps $batch")
  done
  runs+=("$table $model ${table#*/} 0 0 $batch")
done

if ((dry_run)); then
  for run in "${runs[@]}"; do
    read -r table model dataset seed steps batch <<<"$run"
    echo "$table: ganbench run --plugin $model --dataset $dataset --seed $seed --steps $steps --batch-size $batch"
  done
  exit 0
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/ganbench-rebuild.XXXXXX")"
if [[ -z "$out" ]]; then
  if ((${#wanted[@]})); then out="$work/leaderboards"; keep=1; else out="$root/leaderboards"; fi
fi
finish() {
  local status=$?
  if ((keep)) || ((status != 0)); then
    echo "rebuild.sh: store, runs and cache kept in $work" >&2
  else
    rm -rf "$work"
  fi
}
trap finish EXIT

# Nothing from the caller's set-up may reach the runs: no other store, runs
# folder, cache, plugin folder or disabled plugin.
unset GANBENCH_STORE GANBENCH_RUNS_DIR GANBENCH_PLUGINS_DIR GANBENCH_DISABLE_PLUGINS GANBENCH_DATA_DIR
export GANBENCH_CACHE_DIR="$work/cache"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
store="$work/results.sqlite"
runs_dir="$work/runs"

started=$SECONDS
count=0
for run in "${runs[@]}"; do
  read -r table model dataset seed steps batch <<<"$run"
  count=$((count + 1))
  run_start=$SECONDS
  ganbench run --plugin "$model" --dataset "$dataset" --seed "$seed" --steps "$steps" \
    --batch-size "$batch" --device cpu --runs-dir "$runs_dir" --store "$store" --quiet
  echo "[$count/${#runs[@]}] $table: $model, seed $seed, $steps steps: $((SECONDS - run_start)) s"
done

ganbench leaderboard build --store "$store" --out "$out"
echo "rebuild.sh: ${#runs[@]} runs in $((SECONDS - started)) s; tables in $out"
