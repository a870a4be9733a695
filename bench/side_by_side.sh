#!/usr/bin/env bash
# Our engine and Splink 5 side by side, same inputs, same machine, one run.
#
#   PEERS=/path/to/peers-venv bench/side_by_side.sh [100k 1m 3m]
#
# PEERS is a virtualenv with ../shared/bench/requirements-peers.txt installed
# (kept outside the project). Results: var/bench/*.json; the table for
# docs/benchmarks.md is printed by bench/report.py at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
KIT="${ERBENCH_DIR:-../shared/bench}"
PEERS="${PEERS:?set PEERS to the peer virtualenv}"
OUT=var/bench
mkdir -p "$OUT"
sizes=("${@:-100k 1m}")
read -r -a sizes <<< "${sizes[*]}"

n_of() { case "$1" in 100k) echo 100000;; 1m) echo 1000000;; 3m) echo 3000000;; *) echo "$1";; esac; }

# SKIP_FEBRL=1 to rerun only the people and B2B sets.
febrl_sets=(febrl1 febrl2 febrl3 febrl4)
[ -n "${SKIP_FEBRL:-}" ] && febrl_sets=()
for set in "${febrl_sets[@]}"; do
  echo "== FEBRL $set"
  "$PEERS/bin/python" "$KIT/run_splink_febrl.py" --dataset "$set" --out "$OUT/splink_$set.json" >/dev/null
  .venv/bin/python bench/run_ours_febrl.py --dataset "$set" --out "$OUT/ours_$set.json" >/dev/null
done

for size in "${sizes[@]}"; do
  data="$OUT/people_$size.parquet"
  if [ ! -f "$data" ]; then
    "$PEERS/bin/python" "$KIT/gen_people.py" --n "$(n_of "$size")" --seed 42 --out "$data"
  fi
  echo "== people $size: Splink"
  # "tight" EM blocking: the settings Splink's own large benchmarks use and
  # the kit's reference figures were measured with.
  "$PEERS/bin/python" "$KIT/run_splink_synth.py" --em-rules tight --input "$data" \
    --out "$OUT/splink_$size.json" >/dev/null
  echo "== people $size: ours"
  .venv/bin/python bench/run_ours_synth.py --input "$data" --out "$OUT/ours_$size.json" >/dev/null
done

echo "== Chinese B2B (ours; Splink has no Chinese company model)"
.venv/bin/python bench/run_ours_b2b.py --companies 20000 --seed 42 --out "$OUT/ours_b2b_20k.json" >/dev/null

.venv/bin/python bench/report.py "$OUT"
