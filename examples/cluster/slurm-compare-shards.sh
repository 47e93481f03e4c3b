#!/bin/bash
# graft compare over a Slurm job array, then one merge job that starts only if every shard succeeded.
#
#   bash examples/cluster/slurm-compare-shards.sh      # on the login node: submits both jobs
#
# Every node must see the same graft (same version), the source model, the data and OUT (a shared
# file system), and use the same backend and engine: `graft merge` refuses shards that differ.
#SBATCH --job-name=graft-compare
#SBATCH --cpus-per-task=2
#SBATCH --mem=4G
#SBATCH --time=04:00:00
#SBATCH --output=graft-compare-%A_%a.log
set -euo pipefail

SHARDS=${SHARDS:-3}
OUT=${OUT:-$PWD/runs/compare}
FROM=${FROM:-$PWD/runs/seed/model-a}
DATA=${DATA:-$PWD/data/fashion-mnist}

if [ -z "${SLURM_ARRAY_TASK_ID:-}" ]; then
  # Not inside the array yet: submit it (task ids 1..N are K itself), then the merge after it.
  array=$(sbatch --parsable --array=1-"$SHARDS" --export=ALL,SHARDS="$SHARDS",OUT="$OUT",FROM="$FROM",DATA="$DATA" "$0")
  merge=$(sbatch --parsable --job-name=graft-merge --dependency=afterok:"$array" --output=graft-merge-%j.log --wrap "graft merge '$OUT'")
  echo "submitted shards as job array $array (1-$SHARDS) and the merge as job $merge"
  exit 0
fi

# K from SLURM_ARRAY_TASK_ID; a requeued task replaces its own earlier shard file (--force: graft's files only).
exec graft compare --from "$FROM" --task fashion-mnist:binary=shirt,sandal \
  --per-class 10,50,200 --seeds 5 --data-dir "$DATA" --offline --backend wasm \
  --workers "${SLURM_CPUS_PER_TASK:-1}" --out "$OUT" --shard "auto/$SHARDS" --force
