#!/usr/bin/env bash
# Server memory with 1,000 flags (DESIGN.md §6: RSS idle with 1,000 flags <= 64 MiB).
#
# What it does:
#   1. cargo build --release -p rampart-cli (once; SKIP_BUILD=1 to reuse the binary);
#   2. starts `rampart serve` on a free 127.0.0.1 port with a temp data dir;
#   3. loads 1,000 flags and 2 segments through POST /v1/apply in 10 batches of 100
#      (the same realistic shape as bench-ofrep.sh: 3 rules + a 10/90 split each);
#   4. waits IDLE seconds, then reads VmRSS and VmHWM (peak) from /proc/PID/status;
#   5. reads them again after ~10,000 single evaluations and after ~1,000 bulk
#      evaluations of all 1,000 flags (wrk, 64 connections, each thread stops after its
#      share of requests; every run is also capped by a wrk duration);
#   6. prints a markdown table, ready for BENCHMARKS.md.
# VmHWM already includes the peak reached while the flags were being applied.
# It fails if the server is not up within 10 s, or if wrk sees any non-2xx response or
# socket error. STRICT=1 also makes it exit 1 when idle RSS is over budget.
#
# Run:   scripts/bench-rss.sh
# Env:   IDLE seconds (2), STRICT (0), plus RAMPART_BIN, SKIP_BUILD=1, BENCH_LOG=1
#        (see bench-lib.sh).
# Needs: cargo, curl, jq, wrk.
set -euo pipefail

# shellcheck source=scripts/bench-lib.sh
source "$(dirname "$0")/bench-lib.sh"
bench_args "$@"

IDLE="${IDLE:-2}"
STRICT="${STRICT:-0}"
FLAG_COUNT=1000
BATCH=100
THREADS=2
CONNECTIONS=64
SINGLE_EVALS=10000
BULK_EVALS=1000
BUDGET_MIB=64

if ! [[ "$IDLE" =~ ^[0-9]+$ ]] || ((IDLE > 60)); then
    echo "IDLE must be 0..60 seconds" >&2
    exit 2
fi

bench_require curl jq wrk awk getconf
[[ -n "${RAMPART_BIN:-}" || "${SKIP_BUILD:-0}" == 1 ]] || bench_require cargo
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

bench_build
bench_start_server
bench_load_flags "$FLAG_COUNT" "$BATCH"

# Prints "VmRSS VmHWM RssAnon RssFile Threads" (memory in KiB) for the server.
memory() {
    awk '/^(VmRSS|VmHWM|RssAnon|RssFile|Threads):/ {v[$1] = $2}
         END {print v["VmRSS:"], v["VmHWM:"], v["RssAnon:"], v["RssFile:"], v["Threads:"]}' \
        "/proc/$BENCH_PID/status"
}

mib() {
    awk -v k="$1" 'BEGIN {printf "%.1f MiB", k / 1024}'
}

# Prints one markdown row for the state described by $1, from a `memory` line.
row() {
    local what=$1 budget=$2 rss hwm anon file threads
    read -r rss hwm anon file threads <<<"$3"
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' \
        "$what" "$(mib "$rss")" "$(mib "$hwm")" "$(mib "$anon")" "$(mib "$file")" "$threads" "$budget"
}

bench_log "idle for ${IDLE}s"
sleep "$IDLE"
idle="$(memory)"
read -r idle_rss _ <<<"$idle"
bench_log "idle: $idle (KiB: VmRSS VmHWM RssAnon RssFile; threads)"

# Bounded: each wrk thread stops after its share of responses; -d caps the wall time.
result="$(bench_wrk single-rss "$THREADS" "$CONNECTIONS" 3s \
    /ofrep/v1/evaluate/flags/bench-0000 $((SINGLE_EVALS / THREADS)))"
single_done="$(bench_field "$result" requests)"
sleep 1
after_single="$(memory)"
bench_log "after $single_done single evaluations: $after_single"

result="$(bench_wrk bulk-rss "$THREADS" "$CONNECTIONS" 10s \
    /ofrep/v1/evaluate/flags $((BULK_EVALS / THREADS)))"
bulk_done="$(bench_field "$result" requests)"
sleep 1
after_bulk="$(memory)"
bench_log "after $bulk_done bulk evaluations: $after_bulk"

for pair in "$single_done:$SINGLE_EVALS:single" "$bulk_done:$BULK_EVALS:bulk"; do
    IFS=: read -r got want kind <<<"$pair"
    if ((got < want * 9 / 10)); then
        bench_log "warning: only $got of $want $kind evaluations completed within wrk's time cap"
    fi
done

verdict="$(awk -v k="$idle_rss" -v b="$BUDGET_MIB" 'BEGIN {
    printf "%s (%.1f of %d MiB)", (k / 1024 <= b ? "within budget" : "OVER BUDGET"), k / 1024, b }')"

cat <<EOF

### Server memory (scripts/bench-rss.sh)

$(bench_thousands "$FLAG_COUNT") flags + 2 segments, applied through POST /v1/apply in $((FLAG_COUNT / BATCH)) batches of $BATCH; SQLite data dir.
VmHWM is the peak so far, including loading the flags.

| state | VmRSS | VmHWM | RssAnon | RssFile | threads | budget |
|---|---|---|---|---|---|---|
$(row "idle ${IDLE}s after loading" "≤ $BUDGET_MIB MiB" "$idle")
$(row "after $(bench_thousands "$single_done") single evaluations" "—" "$after_single")
$(row "after $(bench_thousands "$bulk_done") bulk evaluations ($(bench_thousands "$FLAG_COUNT") flags each)" "—" "$after_bulk")

Idle RSS: $verdict.
$(bench_machine_line)
EOF

if [[ "$STRICT" == 1 ]] && ((idle_rss > BUDGET_MIB * 1024)); then
    exit 1
fi
