#!/usr/bin/env bash
# Rebuild the published leaderboards (leaderboards/<task>/<dataset>.md and
# .csv, leaderboards/index.html): every published row is trained with seeds
# 0, 1 and 2, and its untrained row (--steps 0) with seed 0, into one results
# store, runs folder and cache; then `ganbench leaderboard build --min-seeds 3`
# writes the tables (a row with fewer than 3 completed seeds is left out).
#
#   bash leaderboards/rebuild.sh                        # every table, into leaderboards/
#   bash leaderboards/rebuild.sh unconditional/ring8    # one table, into a temporary folder
#   bash leaderboards/rebuild.sh --out DIR TABLE...     # some tables, into DIR
#   bash leaderboards/rebuild.sh --jobs 2               # two runs at a time (one thread each)
#   bash leaderboards/rebuild.sh --work DIR             # store, runs and cache in DIR, kept;
#                                                       # run again to finish what is missing
#   bash leaderboards/rebuild.sh --pending              # also the rows not yet published
#   bash leaderboards/rebuild.sh --dry-run              # print the runs, run nothing
#   bash leaderboards/rebuild.sh --keep                 # keep the temporary store and runs
#
# A subset never writes into leaderboards/ unless --out says so: index.html
# lists every table of the store it is built from, so a partial store would
# drop the other tables from it.
#
# With --work, a run that completed is listed in DIR/done and is not run
# again, so a rebuild that was stopped (or ran out of time) resumes where it
# was: it loses at most the runs that were in progress.
#
# Every run uses the CPU and one thread (OMP_NUM_THREADS=1, MKL_NUM_THREADS=1):
# a run repeats bit for bit for a seed only with the same device and thread
# count, and the published numbers are meant to be reproducible on a laptop.
# Cost on a two-core machine, two jobs: see leaderboards/README.md.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seeds=(0 1 2)

# The published rows: table (task/dataset), model (NAME or NAME:VALUE),
# steps, batch size, in the order they are trained (the cheap tables first).
# Steps and batch sizes are written out so that a change of a dataset's
# default cannot silently change what the tables compare. digits and
# stacked-digits use their datasets' defaults; ring8 and grid25 use PacGAN's
# batch of 100 and a budget of 2,000 steps (PacGAN trained 400 epochs of
# 100,000 samples, 400,000 steps: what one step costs here and why 2,000 is
# in leaderboards/README.md).
rows=(
  "class-conditional/digits cgan 2000 64"
  "class-conditional/digits acgan 2000 64"
  "unconditional/digits dcgan 2000 64"
  "unconditional/digits gan 2000 64"
  "unconditional/digits lsgan 2000 64"
  "unconditional/digits pacgan:2 2000 64"
  "unconditional/digits infogan 2000 64"
  "unconditional/digits wgan 2000 64"
  "unconditional/digits wgan-gp 2000 64"
  "unconditional/ring8 gan2d 2000 100"
  "unconditional/ring8 pacgan:2 2000 100"
  "unconditional/ring8 pacgan:3 2000 100"
  "unconditional/ring8 pacgan:4 2000 100"
  "unconditional/ring8 wgan-gp 2000 100"
  "unconditional/ring8 unrolled 2000 100"
  "unconditional/grid25 gan2d 2000 100"
  "unconditional/grid25 pacgan:2 2000 100"
  "unconditional/grid25 pacgan:3 2000 100"
  "unconditional/grid25 pacgan:4 2000 100"
  "unconditional/grid25 wgan-gp 2000 100"
  "unconditional/grid25 unrolled 2000 100"
  "unconditional/digits unrolled 2000 64"
)

# Rows being trained but not yet published (fewer than 3 seeds so far):
# `--pending` trains them too, after the published rows; a table or row
# moves up into `rows` once its runs are done and its tables are rebuilt.
# The pacgan rows at batch m x 100 are PacGAN's own set-up (G draws m
# mini-batches per step, so D judges 100 packs), beside the same-samples
# rows above (batch 100: 100 / m packs). Then lapgan beside dcgan, and the
# tables of the other task kinds, each with its floor row (a fixed
# baseline: 0 steps, one run): text-to-image, translation digits -> digits-m,
# x4 super-resolution.
pending=(
  "unconditional/stacked-digits dcgan 5000 64"
  "unconditional/stacked-digits pacgan:2 5000 64"
  "unconditional/ring8 pacgan:2 2000 200"
  "unconditional/ring8 pacgan:3 2000 300"
  "unconditional/ring8 pacgan:4 2000 400"
  "unconditional/grid25 pacgan:2 2000 200"
  "unconditional/grid25 pacgan:3 2000 300"
  "unconditional/grid25 pacgan:4 2000 400"
  "unconditional/digits lapgan 2000 64"
  "text-to-image/digits-captions gan-int-cls 2000 64"
  "text-to-image/digits-captions gan-cls 2000 64"
  "text-to-image/digits-captions gan-int 2000 64"
  "unpaired-translation/digits-m identity 0 64"
  "unpaired-translation/digits-m cyclegan 2000 64"
  "super-resolution/sr-photos bicubic 0 16"
  "super-resolution/sr-photos srresnet 2000 16"
  "super-resolution/sr-photos srgan 2000 16"
)

usage() {
  # The header comment, however long it grows: every line after the shebang up to the first code.
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
  echo "tables: $(printf '%s\n' "${rows[@]}" | cut -d' ' -f1 | sort -u | tr '\n' ' ')"
}

out=""
work=""
jobs=1
dry_run=0
keep=0
wanted=()
while (($#)); do
  case "$1" in
    --out) out="${2:?--out needs a folder}"; shift 2 ;;
    --work) work="${2:?--work needs a folder}"; keep=1; shift 2 ;;
    --jobs)
      jobs="${2:?--jobs needs a number}"; shift 2
      if ! [[ "$jobs" =~ ^[1-9][0-9]*$ ]]; then
        echo "rebuild.sh: --jobs must be a positive whole number, not $jobs" >&2
        exit 2
      fi ;;
    --pending) rows+=("${pending[@]}"); shift ;;
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

# The runs: "table model dataset seed steps batch", each row's trained runs
# then its untrained run, row after row. A row of 0 steps is a fixed
# baseline (bicubic, identity): it does not train, so it is one run.
runs=()
for row in "${rows[@]}"; do
  read -r table model steps batch <<<"$row"
  if ((${#wanted[@]})) && ! printf '%s\n' "${wanted[@]}" | grep -qxF "$table"; then
    continue
  fi
  if ((steps == 0)); then
    runs+=("$table $model ${table#*/} 0 0 $batch")
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

if [[ -n "$work" ]]; then
  mkdir -p "$work"
  work="$(cd "$work" && pwd)"
else
  work="$(mktemp -d "${TMPDIR:-/tmp}/ganbench-rebuild.XXXXXX")"
fi
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
done_list="$work/done"
logs="$work/logs"
mkdir -p "$logs"
touch "$done_list"

# One run; its output goes to its own log, and it is listed as done only
# once `ganbench run` has stored its record.
train_one() {
  local number="$1" run="$2" table model dataset seed steps batch log run_start
  read -r table model dataset seed steps batch <<<"$run"
  log="$logs/$(tr ' /:' '___' <<<"$run").log"
  run_start=$SECONDS
  if ganbench run --plugin "$model" --dataset "$dataset" --seed "$seed" --steps "$steps" \
    --batch-size "$batch" --device cpu --runs-dir "$runs_dir" --store "$store" --quiet \
    >"$log" 2>&1; then
    echo "$run" >>"$done_list"
    echo "[$number/${#runs[@]}] $table: $model, seed $seed, $steps steps: $((SECONDS - run_start)) s"
  else
    echo "[$number/${#runs[@]}] $table: $model, seed $seed, $steps steps FAILED; see $log" >&2
    tail -n 5 "$log" >&2
    return 1
  fi
}

started=$SECONDS
count=0
failed=0
running=0
for run in "${runs[@]}"; do
  count=$((count + 1))
  if grep -qxF "$run" "$done_list"; then
    continue
  fi
  if ((running >= jobs)); then
    wait -n || failed=1
    running=$((running - 1))
  fi
  ((failed)) && break
  train_one "$count" "$run" &
  running=$((running + 1))
done
while ((running > 0)); do
  wait -n || failed=1
  running=$((running - 1))
done
if ((failed)); then
  echo "rebuild.sh: a run failed; the finished runs are kept: run again with --work $work" >&2
  exit 1
fi

# --min-seeds 3: a row is published only with three completed training seeds.
ganbench leaderboard build --store "$store" --out "$out" --min-seeds 3
echo "rebuild.sh: ${#runs[@]} runs, $((SECONDS - started)) s this time; tables in $out"
