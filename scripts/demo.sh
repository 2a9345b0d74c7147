#!/usr/bin/env bash
# The README's demo command.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release -- demo "$@"
