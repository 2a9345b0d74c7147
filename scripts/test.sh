#!/usr/bin/env bash
# The README's test command, with PostgreSQL-backed tests enabled when it is reachable.
set -euo pipefail
cd "$(dirname "$0")/.."
export RAMPART_TEST_DATABASE_URL="${RAMPART_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
cargo test --workspace "$@"
