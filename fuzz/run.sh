#!/usr/bin/env bash
# Runs every fuzz target for RUNS executions (default 1,000,000) from the committed seeds,
# on stable Rust (no sanitizer). Prints libFuzzer's final line for each.
set -euo pipefail
cd "$(dirname "$0")"
runs=${RUNS:-1000000}
for target in interaction_parse signature_input option_mapping command_event queue_trust run_names; do
  mkdir -p "corpus/$target"
  log="target/$target.log"
  mkdir -p target
  if ! RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none -O "$target" "corpus/$target" "seeds/$target" \
    -- -runs="$runs" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "$target: failed (full output in fuzz/$log)" >&2
    exit 1
  fi
  grep -E "^Done" "$log" | sed "s/^/$target: /"
done
