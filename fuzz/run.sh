#!/usr/bin/env bash
# Runs every fuzz target for RUNS executions (default 1,000,000) from the committed seeds,
# on stable Rust (no sanitizer). Prints libFuzzer's final line for each.
set -euo pipefail
cd "$(dirname "$0")"
runs=${RUNS:-1000000}
for target in interaction_parse signature_input option_mapping command_event; do
  mkdir -p "corpus/$target"
  RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none -O "$target" "corpus/$target" "seeds/$target" -- -runs="$runs" 2>&1 \
    | grep -E "^Done|Test unit written|panicked|ERROR" | sed "s/^/$target: /"
done
