#!/usr/bin/env bash
# Health event ingestion over HTTP: POST /v1/events with batches of 500 events (budget
# >= 300,000 events/s on the 2-core machine, medians), with GET /healthz as a peer.
#
# What it does:
#   1. cargo build --release -p rampart-cli (once; SKIP_BUILD=1 to reuse the binary);
#   2. starts `rampart serve` on a free 127.0.0.1 port with a temp data dir;
#   3. creates the boolean flag `checkout` (variants on/off, default off) and starts a
#      rollout of `on` (custom steps 50% then 100%, soak 1h), so that every event feeds the
#      rollout's analysis (`judged`), as in production;
#   4. runs wrk (--latency, CONNECTIONS connections, THREADS threads, DURATION s) RUNS
#      times against
#        a) POST /v1/events   8 rotating pre-built batches of 500 events (half on, half
#                             off, 1% errors, latencies; no `ts`: receipt time is used)
#        b) GET /healthz      the peer: bare HTTP on the same connections
#      (scripts/bench-events.lua), after one untimed warm-up run per scenario;
#   5. prints a markdown table of median req/s, events/s (= req/s x 500), p99 and p50 per
#      request and the server's CPU per request, ready for BENCHMARKS.md.
# It fails if the server is not up within 10 s, if wrk sees a socket error, or if any
# events answer is not 200 with `"accepted":500` and no rejections. Answers that were
# accepted but not judged (the rollout stopped comparing) mark the row. wrk runs on the
# same host, so it competes with the server for the CPUs.
#
# Run:   scripts/bench-events.sh
#        RUNS=3 DURATION=10 scripts/bench-events.sh
# Env:   RUNS (3), DURATION seconds (10), WARMUP seconds (2; 0 skips), THREADS (2),
#        CONNECTIONS (16), RETRIES (2), plus RAMPART_BIN, SKIP_BUILD=1, BENCH_LOG=1,
#        QUIET_WAIT, QUIET_BUSY (see bench-lib.sh).
# Shared hosts: before each timed run it waits (up to QUIET_WAIT s) for other load to
# drop; a run during which other processes still used > 10% of a core is measured again
# (at most RETRIES times, keeping the least disturbed attempt), and a row whose median is
# still disturbed is marked "⚠ disturbed" in the table.
# Needs: cargo, curl, jq, wrk.
set -euo pipefail

# shellcheck source=scripts/bench-lib.sh
source "$(dirname "$0")/bench-lib.sh"
bench_args "$@"
# bench_wrk runs whichever script this names.
BENCH_LUA="$BENCH_SCRIPTS_DIR/bench-events.lua"

RUNS="${RUNS:-3}"
DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-2}"
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-16}"
RETRIES="${RETRIES:-2}"
# A run where other processes (plus steal) used more than this % of one core is disturbed.
DISTURBED=10
# Keep in step with EVENTS_PER_BATCH in bench-events.lua.
EVENTS_PER_BATCH=500
BUDGET_EVENTS_PER_S=300000

bench_wrk_setup

# POSTs a JSON body to PATH on the server; prints the answer; dies unless it is 200/201.
post_json() {
    local path=$1 body=$2 out="$BENCH_TMP/post.out" code
    code="$(curl -sS --max-time 10 -o "$out" -w '%{http_code}' -X POST \
        -H 'Content-Type: application/json' -H 'X-Rampart-Actor: bench' \
        --data-binary "$body" "$BENCH_URL$path")" || bench_die "POST $path failed"
    [[ "$code" == 200 || "$code" == 201 ]] || bench_die "POST $path answered $code: $(head -c 600 "$out")"
    cat "$out"
}

bench_build
bench_start_server

post_json /v1/flags \
    '{"key":"checkout","kind":"boolean","variants":{"on":true,"off":false},"default_variant":"off"}' \
    >/dev/null
rollout="$(post_json /v1/rollouts \
    '{"flag":"checkout","candidate":"on","strategy":"custom","steps":[{"percent":50},{"percent":100}],"soak":"1h"}')"
rollout_id="$(jq -r '.id' <<<"$rollout")"
[[ "$rollout_id" =~ ^[0-9]+$ ]] || bench_die "POST /v1/rollouts gave no id: $(head -c 600 <<<"$rollout")"
bench_log "flag checkout created; rollout $rollout_id of on started (phase $(jq -r '.phase' <<<"$rollout"))"

# Sanity check before measuring: a batch like the Lua script's is accepted and judged whole.
preflight_body="$(jq -nc --argjson n "$EVENTS_PER_BATCH" '[range($n) | {
    flag: "checkout",
    variant: (if . % 2 == 0 then "on" else "off" end),
    outcome: (if . % 100 == 37 then "error" else "success" end),
    latency_ms: (2 + (. * 37 % 400) / 10)}]')"
preflight="$(post_json /v1/events "$preflight_body")"
[[ "$(jq -c '[.accepted, .judged, (.rejected | length)]' <<<"$preflight")" == "[$EVENTS_PER_BATCH,$EVENTS_PER_BATCH,0]" ]] \
    || bench_die "pre-flight batch not accepted and judged whole: $(head -c 600 <<<"$preflight")"
bench_log "pre-flight ok: $preflight ($(wc -c <<<"$preflight_body") bytes per batch)"

# Runs wrk once through bench_wrk and, for events, dies unless every answer was checked
# and accepted whole. Prints the RESULT line.
measure() {
    local label=$1 path=$2 duration=$3 result
    result="$(bench_wrk "$label" "$THREADS" "$CONNECTIONS" "$duration" "$path")"
    if [[ "$path" == /v1/events ]]; then
        local bad checked
        bad="$(bench_field "$result" bad)"
        checked="$(bench_field "$result" checked)"
        [[ "$bad" == 0 ]] || bench_die "$label: $bad of $checked answers were not 200 with \"accepted\":$EVENTS_PER_BATCH and no rejections"
        ((checked > 0)) || bench_die "$label: no answer was checked: $result"
    fi
    printf '%s\n' "$result"
}

# Runs one scenario RUNS times and prints one markdown table row. EVENTS is the number of
# events per request (0 for the peer).
scenario() {
    local label=$1 title=$2 path=$3 events=$4 budget=$5 run result
    local -a rps=() p99=() p50=() server_us=() server_share=() wrk_share=() other_share=()
    local unjudged_total=0
    if ((WARMUP > 0)); then
        bench_log "$label: warm-up ${WARMUP}s (not counted)"
        measure "$label-warmup" "$path" "${WARMUP}s" >/dev/null
    fi
    for run in $(seq 1 "$RUNS"); do
        # A run disturbed by other load on the host is measured again (bench-lib.sh).
        result="$(bench_least_disturbed "$label-$run" measure "$path" "${DURATION}s")"
        local requests duration_s server_cpu wrk_cpu unjudged
        requests="$(bench_field "$result" requests)"
        duration_s="$(awk -v d="$(bench_field "$result" duration_us)" 'BEGIN {print d / 1e6}')"
        server_cpu="$(bench_field "$result" server_cpu_s)"
        wrk_cpu="$(bench_field "$result" wrk_cpu_s)"
        unjudged="$(bench_field "$result" unjudged)"
        unjudged_total=$((unjudged_total + ${unjudged:-0}))
        rps+=("$(bench_field "$result" rps)")
        p99+=("$(bench_field "$result" p99_us)")
        p50+=("$(bench_field "$result" p50_us)")
        server_us+=("$(awk -v c="$server_cpu" -v n="$requests" 'BEGIN {printf "%.2f", c * 1e6 / n}')")
        server_share+=("$(awk -v c="$server_cpu" -v d="$duration_s" 'BEGIN {printf "%.0f", 100 * c / d}')")
        wrk_share+=("$(awk -v c="$wrk_cpu" -v d="$duration_s" 'BEGIN {printf "%.0f", 100 * c / d}')")
        other_share+=("$(bench_other_share "$result")")
        local per_event=""
        if ((events > 0)); then
            per_event=", $(bench_thousands "$(awk -v r="${rps[-1]}" -v e="$events" 'BEGIN {print r * e}')") events/s"
        fi
        bench_log "$label run $run/$RUNS: $(bench_thousands "${rps[-1]}") req/s$per_event, p50 $(bench_ms "${p50[-1]}"), p99 $(bench_ms "${p99[-1]}"), server CPU ${server_share[-1]}% (${server_us[-1]} µs/req), wrk CPU ${wrk_share[-1]}%, other processes+steal ${other_share[-1]}%"
    done
    local min max median_rps
    min="$(printf '%s\n' "${rps[@]}" | sort -g | head -n 1)"
    max="$(printf '%s\n' "${rps[@]}" | sort -g | tail -n 1)"
    median_rps="$(bench_median "${rps[@]}")"
    local other flag=""
    other="$(bench_median "${other_share[@]}")"
    if awk -v o="$other" -v limit="$DISTURBED" 'BEGIN {exit !(o > limit)}'; then
        flag=" ⚠ disturbed"
        bench_log "warning: $label runs were disturbed by other load on the host (median ${other}% of CPU)"
    fi
    local events_cell="—" cpu_cell verdict=""
    cpu_cell="$(printf '%.2f' "$(bench_median "${server_us[@]}")") µs"
    if ((events > 0)); then
        local median_events
        median_events="$(awk -v r="$median_rps" -v e="$events" 'BEGIN {printf "%.0f", r * e}')"
        events_cell="**$(bench_thousands "$median_events")**"
        cpu_cell+=" ($(awk -v u="$(bench_median "${server_us[@]}")" -v e="$events" 'BEGIN {printf "%.3f", u / e}') µs/event)"
        if ((median_events >= BUDGET_EVENTS_PER_S)); then verdict=" ✅"; else verdict=" ❌"; fi
        if ((unjudged_total > 0)); then
            flag+=" ⚠ $unjudged_total batches not judged"
            bench_log "warning: $unjudged_total $label answers were accepted but not judged (is the rollout still running?)"
        fi
    fi
    printf '| %s | %s | %s | %s | %s | %s–%s | %s | %s%% / %s%% / %s%%%s | %s%s |\n' \
        "$title" \
        "$(bench_thousands "$median_rps")" \
        "$events_cell" \
        "$(bench_ms "$(bench_median "${p99[@]}")")" \
        "$(bench_ms "$(bench_median "${p50[@]}")")" \
        "$(bench_thousands "$min")" "$(bench_thousands "$max")" \
        "$cpu_cell" \
        "$(printf '%.0f' "$(bench_median "${server_share[@]}")")" \
        "$(printf '%.0f' "$(bench_median "${wrk_share[@]}")")" \
        "$(printf '%.0f' "$other")" "$flag" \
        "$budget" "$verdict"
}

rows="$(scenario events "POST /v1/events, $EVENTS_PER_BATCH events per batch" /v1/events \
    "$EVENTS_PER_BATCH" "≥ $(bench_thousands "$BUDGET_EVENTS_PER_S") events/s")"
rows+=$'\n'"$(scenario healthz "GET /healthz (peer)" /healthz 0 "—")"

# The rollout must still be comparing the arms, or the events were not judged end to end.
rollout_now="$(curl -fsS --max-time 5 "$BENCH_URL/v1/rollouts/$rollout_id")" \
    || bench_die "GET /v1/rollouts/$rollout_id failed"
bench_log "rollout $rollout_id after the runs: $(jq -c '{phase, active, step, verdict: .gate.verdict, blockers: .gate.blockers}' <<<"$rollout_now")"
[[ "$(jq -r '.active' <<<"$rollout_now")" == true ]] \
    || bench_log "warning: rollout $rollout_id is no longer active, so later batches fed no analysis"

cores="$(nproc)"
cat <<EOF

### Event ingestion over HTTP (scripts/bench-events.sh)

wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency, $RUNS runs per row (medians), keep-alive;
batches of $EVENTS_PER_BATCH events (≈ $(($(wc -c <<<"$preflight_body") / 1024)) KiB) for a flag under an active rollout (every event judged).
Latencies are per request (one batch).

| scenario | req/s (median) | events/s (median) | p99 (median) | p50 (median) | req/s range | server CPU/req | CPU server / wrk / other (of $((cores * 100))%) | budget |
|---|---|---|---|---|---|---|---|---|
$rows

$(bench_machine_line)
wrk runs on the same host and competes with the server for the same $cores cores. CPU
columns are shares of all cores during the timed runs: the server process and wrk (each
including the loopback TCP work the kernel charges to it), and other processes plus
hypervisor steal (noise; above ~10% the run was disturbed by other load on the host).
EOF
