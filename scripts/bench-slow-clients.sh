#!/usr/bin/env bash
# Slow clients: does OFREP keep serving while CLIENTS (1,000) slow connections are held
# open, and does the server drop those within its timeouts? Loopback only, bounded.
#
# What it does:
#   1. cargo build --release -p rampart-cli (once; SKIP_BUILD=1 to reuse the binary);
#   2. starts `rampart serve` on a free 127.0.0.1 port with a temp data dir, its soft
#      open-files limit set to SERVER_NOFILE (1024: systemd's default soft limit; the hard
#      limit is left as it is, as under systemd, and the server raises its soft limit to it;
#      0 keeps this shell's), plus any SERVE_ARGS (e.g. the timeouts' options);
#   3. loads 100 flags + 2 segments (as bench-ofrep.sh);
#   4. baseline: wrk -t THREADS -c CONNECTIONS (64, keep-alive) for DURATION s (15) on
#      POST /ofrep/v1/evaluate/flags/bench-0000 (bench-ofrep.lua), after a 2 s warm-up;
#   5. starts scripts/slow-clients.py: CLIENTS connections opened over 2 s, half slowloris
#      (a request line and headers, one more header line every 2 s, never finished), half
#      complete headers announcing a 4 KiB body, 11 bytes of it, then nothing; a client the
#      server drops reconnects, so the pressure stays at CLIENTS for the whole run;
#   6. 5 s after they start, the same wrk run again, while they are held;
#   7. at 30 s and 70 s after they start: how many of the first CLIENTS connections the
#      server still holds, and the server's open sockets and fds (/proc/PID/fd); then the
#      clients close and the script reports.
# Verdict (exit 1 on FAIL; all must hold):
#   throughput  req/s with the slow clients >= MIN_SHARE % (50) of the baseline's;
#   p99         with the slow clients <= MAX_P99_MS (50 ms);
#   errors      zero non-2xx and zero socket errors (connect/read/write/timeout) in both
#               wrk runs;
#   accepted    no connection waiting in the listener's accept queue in the middle of either
#               run (`ss`'s Recv-Q): wrk counts no error for a connection the server never
#               accepts, and the few it did accept can still look fast;
#   timeouts    every first-generation slow connection was dropped by the server within
#               EXPECT_TIMEOUT (10 s) + GRACE (5 s) of connecting, and none is held at 30 s.
# On a server without header/body/idle timeouts or a connection cap this FAILS: slow
# connections are held as long as the client likes, and with 1,024 fds the server runs out
# of descriptors and stops accepting (axum logs "accept error" and retries every second).
#
# Run:   scripts/bench-slow-clients.sh
#        EXPECT_TIMEOUT=5 SERVE_ARGS="<the server's timeout options>" scripts/bench-slow-clients.sh
#        SERVER_NOFILE=0 scripts/bench-slow-clients.sh   (this shell's fd limit: no exhaustion)
# Env:   CLIENTS (1000), DURATION s (15), THREADS (2), CONNECTIONS (64), EXPECT_TIMEOUT s
#        (10), GRACE s (5), MIN_SHARE % (50), MAX_P99_MS (50), SERVER_NOFILE (1024; 0 =
#        inherit), SERVE_ARGS (extra `rampart serve` arguments, split on spaces), plus
#        RAMPART_BIN, SKIP_BUILD=1, BENCH_LOG=1 (see bench-lib.sh).
# Needs: cargo, curl, jq, wrk, python3, ss (iproute2).
set -euo pipefail

# shellcheck source=scripts/bench-lib.sh
source "$(dirname "$0")/bench-lib.sh"
bench_args "$@"

CLIENTS="${CLIENTS:-1000}"
DURATION="${DURATION:-15}"
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-64}"
EXPECT_TIMEOUT="${EXPECT_TIMEOUT:-10}"
GRACE="${GRACE:-5}"
MIN_SHARE="${MIN_SHARE:-50}"
MAX_P99_MS="${MAX_P99_MS:-50}"
SERVER_NOFILE="${SERVER_NOFILE:-1024}"
SERVE_ARGS="${SERVE_ARGS:-}"
# Checkpoints (s after the slow clients start) and how long they are held in all.
CHECK_1=30
CHECK_2=70
HOLD=75
FLAG_COUNT=100
SINGLE_PATH=/ofrep/v1/evaluate/flags/bench-0000
# wrk with the slow clients starts this long after them (the ramp is 2 s).
SETTLE=5
# Only used by bench_wrk_setup's checks.
RUNS=1
WARMUP=2
RETRIES=0

for name in CLIENTS EXPECT_TIMEOUT GRACE MIN_SHARE MAX_P99_MS SERVER_NOFILE; do
    [[ "${!name}" =~ ^[0-9]+$ ]] || { echo "$name must be a whole number, got '${!name}'" >&2; exit 2; }
done
((CLIENTS >= 2 && CLIENTS <= 5000)) || { echo "CLIENTS must be 2..5000" >&2; exit 2; }
((DURATION + SETTLE < CHECK_1)) || { echo "DURATION must end before the 30 s checkpoint (at most $((CHECK_1 - SETTLE - 1)))" >&2; exit 2; }
((SERVER_NOFILE == 0 || SERVER_NOFILE >= 64)) || { echo "SERVER_NOFILE must be 0 or >= 64" >&2; exit 2; }
bench_wrk_setup
bench_require python3 ss

SLOW_PID=""
stop_slow() {
    if [[ -n "$SLOW_PID" ]]; then
        kill -TERM "$SLOW_PID" 2>/dev/null || true
        wait "$SLOW_PID" 2>/dev/null || true
        SLOW_PID=""
    fi
}
BENCH_CLEANUP_HOOK=stop_slow

# One wrk run on the single-flag path; prints its RESULT line (errors are counted, not
# fatal: with the slow clients they are part of the result).
measure() {
    local label=$1 duration=$2 out="$BENCH_TMP/wrk-$1.txt" result
    wrk --latency -t "$THREADS" -c "$CONNECTIONS" -d "${duration}s" --timeout 5s \
        -s "$BENCH_LUA" "$BENCH_URL" -- "$SINGLE_PATH" 1024 0 >"$out" 2>&1 \
        || bench_die "wrk failed ($label): $(tail -n 5 "$out")"
    result="$(grep '^RESULT ' "$out" | tail -n 1 || true)"
    [[ -n "$result" ]] || bench_die "wrk printed no RESULT line ($label): $(tail -n 20 "$out")"
    printf '%s\n' "$result"
}

# Connections waiting in the listener's accept queue (ss's Recv-Q): accepted by the kernel,
# never by the server. wrk counts no error for a connection stuck there, it just never
# answers, so a run where most of wrk's connections are stuck can still look fast.
accept_queue() {
    ss -Hltn "sport = :$port" | awk 'NR == 1 {print $2}'
}

# As measure, with the accept queue and the server's sockets sampled in the middle of the
# run; appends accept_queue= and sockets_mid= to the RESULT line.
measure_sampled() {
    local label=$1 duration=$2 out="$BENCH_TMP/measure-$1.out" pid queue sockets
    measure "$label" "$duration" >"$out" &
    pid=$!
    sleep "$(awk -v d="$duration" 'BEGIN {print d / 2}')"
    queue="$(accept_queue)"
    read -r sockets _ < <(server_fds)
    wait "$pid" || exit 1
    printf '%s accept_queue=%s sockets_mid=%s\n' "$(cat "$out")" "${queue:-?}" "$sockets"
}

errors_of() {
    local r=$1
    echo $(($(bench_field "$r" non2xx) + $(bench_field "$r" connect) + $(bench_field "$r" read) \
        + $(bench_field "$r" write) + $(bench_field "$r" timeout)))
}

# "sockets fds" of the server (sockets include the listener).
server_fds() {
    local sockets fds
    fds="$(find "/proc/$BENCH_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)"
    sockets="$(find "/proc/$BENCH_PID/fd" -mindepth 1 -maxdepth 1 -lname 'socket:*' | wc -l)"
    echo "$sockets $fds"
}

bench_build
if ((SERVER_NOFILE > 0)); then BENCH_SERVE_NOFILE=$SERVER_NOFILE; fi
# shellcheck disable=SC2206 # SERVE_ARGS is split on spaces on purpose
BENCH_SERVE_ARGS=($SERVE_ARGS)
bench_start_server
bench_load_flags "$FLAG_COUNT" "$FLAG_COUNT"
nofile="$(awk '/^Max open files/ {print $4}' "/proc/$BENCH_PID/limits")"
bench_log "server open-files limit: $nofile; fds at rest: $(server_fds | awk '{print $2}')"
port="${BENCH_URL##*:}"

bench_log "warm-up ${WARMUP}s (not counted)"
measure warmup "$WARMUP" >/dev/null
bench_wait_quiet
baseline="$(measure_sampled baseline "$DURATION")" && [[ -n "$baseline" ]] || bench_die "the baseline run failed"
bench_log "baseline: $(bench_thousands "$(bench_field "$baseline" rps)") req/s, p99 $(bench_ms "$(bench_field "$baseline" p99_us)"), errors $(errors_of "$baseline"), accept queue mid-run $(bench_field "$baseline" accept_queue)"

bench_log "starting $CLIENTS slow clients (half slowloris, half stalled bodies), held ${HOLD}s"
slow_started=${EPOCHREALTIME//[!0-9]/}
python3 "$BENCH_SCRIPTS_DIR/slow-clients.py" --host 127.0.0.1 --port "$port" --path "$SINGLE_PATH" \
    --clients "$CLIENTS" --ramp 2 --hold "$HOLD" --checkpoints "$CHECK_1" "$CHECK_2" --reconnect \
    >"$BENCH_TMP/slow.json" 2>"$BENCH_TMP/slow.log" &
SLOW_PID=$!

# Sleeps until SECONDS after the slow clients started.
sleep_until() {
    local wait_us=$((slow_started + $1 * 1000000 - ${EPOCHREALTIME//[!0-9]/}))
    ((wait_us <= 0)) || sleep "$(awk -v u="$wait_us" 'BEGIN {printf "%.3f", u / 1e6}')"
}
sleep_until "$SETTLE"
read -r sockets_settled fds_settled < <(server_fds)
bench_log "t=${SETTLE}s: server holds $sockets_settled sockets, $fds_settled fds"
with_slow="$(measure_sampled with-slow "$DURATION")" && [[ -n "$with_slow" ]] || bench_die "the run with slow clients failed"
bench_log "with slow clients: $(bench_thousands "$(bench_field "$with_slow" rps)") req/s, p99 $(bench_ms "$(bench_field "$with_slow" p99_us)"), errors $(errors_of "$with_slow"), accept queue mid-run $(bench_field "$with_slow" accept_queue)"
sleep_until "$CHECK_1"
read -r sockets_1 fds_1 < <(server_fds)
bench_log "t=${CHECK_1}s: server holds $sockets_1 sockets, $fds_1 fds"
sleep_until "$CHECK_2"
read -r sockets_2 fds_2 < <(server_fds)
bench_log "t=${CHECK_2}s: server holds $sockets_2 sockets, $fds_2 fds"
wait "$SLOW_PID" || bench_die "slow-clients.py failed: $(tail -n 5 "$BENCH_TMP/slow.log")"
SLOW_PID=""
cat "$BENCH_TMP/slow.log" >&2
summary="$(cat "$BENCH_TMP/slow.json")"
kill -0 "$BENCH_PID" 2>/dev/null || bench_die "the server exited during the run"
accept_errors="$(grep -c 'accept error' "$BENCH_TMP/server.log" || true)"
accept_example="$(grep -m1 -o 'accept error: [^"]*' "$BENCH_TMP/server.log" | head -c 120 || true)"

s() { jq -r "$1 // \"—\"" <<<"$summary"; }
held_1="$(s ".checkpoints[\"$CHECK_1\"].first_generation_open")"
held_2="$(s ".checkpoints[\"$CHECK_2\"].first_generation_open")"
age_max="$(s '.first_generation_age_max_s')"
first_left="$(s '.first_generation_open_at_end')"

verdict=PASS
checks=""
check() { # NAME MEASURED LIMIT OK(0/1); adds a row to $checks (not in a subshell: it sets verdict)
    local status=PASS
    if [[ "$4" != 1 ]]; then status=FAIL; verdict=FAIL; fi
    checks+="| $1 | $2 | $3 | $status |"$'\n'
}
rps_base="$(bench_field "$baseline" rps)"
rps_slow="$(bench_field "$with_slow" rps)"
share="$(awk -v a="$rps_slow" -v b="$rps_base" 'BEGIN {printf "%.0f", (b > 0 ? 100 * a / b : 0)}')"
p99_slow="$(bench_field "$with_slow" p99_us)"
errors_total=$(($(errors_of "$baseline") + $(errors_of "$with_slow")))
timeouts_ok=0
if [[ "$held_1" == 0 && "$first_left" == 0 && "$age_max" != "—" ]] \
    && awk -v a="$age_max" -v l="$((EXPECT_TIMEOUT + GRACE))" 'BEGIN {exit !(a <= l)}'; then
    timeouts_ok=1
fi
row() { # LABEL RESULT
    printf '| %s | %s | %s | %s | %s | %s / %s / %s / %s | %s | %s |\n' "$1" \
        "$(bench_thousands "$(bench_field "$2" rps)")" "$(bench_ms "$(bench_field "$2" p99_us)")" \
        "$(bench_ms "$(bench_field "$2" p50_us)")" "$(bench_field "$2" non2xx)" \
        "$(bench_field "$2" connect)" "$(bench_field "$2" read)" "$(bench_field "$2" write)" "$(bench_field "$2" timeout)" \
        "$(bench_field "$2" accept_queue)" "$(bench_field "$2" sockets_mid)"
}
queue_slow="$(bench_field "$with_slow" accept_queue)"
queue_base="$(bench_field "$baseline" accept_queue)"
check "throughput with slow clients" "$(bench_thousands "$rps_slow") req/s = $share% of $(bench_thousands "$rps_base")" "≥ $MIN_SHARE%" "$(awk -v s="$share" -v m="$MIN_SHARE" 'BEGIN {print ((s >= m) ? 1 : 0)}')"
check "p99 with slow clients" "$(bench_ms "$p99_slow")" "≤ $MAX_P99_MS ms" "$(awk -v p="$p99_slow" -v m="$MAX_P99_MS" 'BEGIN {print ((p <= m * 1000) ? 1 : 0)}')"
check "wrk errors (both runs)" "$errors_total" "0" "$((errors_total == 0 ? 1 : 0))"
check "every wrk connection accepted (accept queue mid-run)" "baseline $queue_base, with slow clients $queue_slow waiting" "0" \
    "$([[ "$queue_base" == 0 && "$queue_slow" == 0 ]] && echo 1 || echo 0)"
check "slow connections dropped in time" "held at ${CHECK_1} s: $held_1, at ${CHECK_2} s: $held_2, at the end: $first_left; oldest dropped: $age_max s" "all dropped, each within $((EXPECT_TIMEOUT + GRACE)) s" "$timeouts_ok"

cat <<EOF

### Slow clients (scripts/bench-slow-clients.sh)

\`scripts/bench-slow-clients.sh\`${SERVE_ARGS:+ with \`SERVE_ARGS="$SERVE_ARGS"\`} — OFREP single evaluation, wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s keep-alive,
without and then with $CLIENTS slow clients held open (half slowloris headers, half stalled bodies; a dropped
client reconnects). Server open-files limit: $nofile. Expected server timeout: ${EXPECT_TIMEOUT} s (+${GRACE} s grace).

| run | req/s | p99 | p50 | non-2xx | socket errors connect / read / write / timeout | accept queue mid-run | server sockets mid-run |
|---|---|---|---|---|---|---|---|
$(row "baseline (no slow clients)" "$baseline")
$(row "with $CLIENTS slow clients" "$with_slow")

| slow connections | at ${SETTLE} s | at ${CHECK_1} s | at ${CHECK_2} s |
|---|---|---|---|
| first $CLIENTS still held (client's view) | — | $held_1 | $held_2 |
| all slow connections open, replacements included | — | $(s ".checkpoints[\"$CHECK_1\"].open") | $(s ".checkpoints[\"$CHECK_2\"].open") |
| server's sockets / fds (/proc, listener included) | $sockets_settled / $fds_settled | $sockets_1 / $fds_1 | $sockets_2 / $fds_2 |

Slow clients: $(s '.connects') connections made, $(s '.connect_failures') connects failed $(jq -c '.connect_errors' <<<"$summary"), $(s '.dropped') dropped by the server
($(s '.first_generation_dropped') of the first $CLIENTS; their age when dropped: median $(s '.first_generation_age_p50_s') s, max $age_max s;
slowloris $(jq -c '.by_kind.headers' <<<"$summary"), stalled body $(jq -c '.by_kind.body' <<<"$summary"); answers before the close $(jq -c '.answers' <<<"$summary")).
Server log: $accept_errors "accept error" lines${accept_example:+ (first: \`$accept_example\`)}.

| criterion | measured | limit | result |
|---|---|---|---|
${checks}
wrk counts no error for a connection the server never accepts (it waits in the listener's accept queue, the
"accept queue" column), so throughput and p99 then describe only the connections that were accepted.

$(bench_machine_line)

**Slow clients: $verdict**
EOF
[[ "$verdict" == PASS ]] || exit 1
