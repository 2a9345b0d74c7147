#!/usr/bin/env bash
# Soak: DURATION seconds (600) of mixed load against a release server, sampled every SAMPLE
# seconds, then a PASS/FAIL verdict on errors and on flatness after the warm-up.
#
# What it does:
#   1. cargo build --release -p rampart-cli (once; SKIP_BUILD=1 to reuse the binary);
#   2. starts `rampart serve` on a free 127.0.0.1 port with a temp data dir;
#   3. loads 100 realistic flags + 2 segments (as bench-ofrep.sh), 10 flags soak-admin-N for
#      the admin writes, and the flag `checkout` with a rollout of `on` (custom steps 50%
#      then 100%, soak 1h, so it stays at its first step for the whole soak and the judge
#      ticks every second over real data);
#   4. runs four paced loads at once, all on loopback and each bounded by wrk's -d:
#        OFREP single  POST /ofrep/v1/evaluate/flags/bench-0000, SINGLE_CONNECTIONS
#                      connections at about SINGLE_RATE req/s (bench-ofrep.lua); run as
#                      consecutive SAMPLE-second wrk runs, one per sample
#        OFREP bulk    POST /ofrep/v1/evaluate/flags (100 flags), 4 connections, BULK_RATE
#        events        POST /v1/events, batches of 500 for `checkout` (bench-events.lua),
#                      EVENT_RATE batches/s; the candidate is healthier than the baseline
#                      (all the 1% errors and slow requests are on `off`), so it is never
#                      rolled back
#        admin writes  kill-switch toggles and description updates of soak-admin-N
#                      (soak-admin.lua), ADMIN_RATE writes/s, each a commit + ledger entry;
#   5. every SAMPLE s records OFREP single req/s, p50 and p99, non-2xx and socket errors,
#      the server's VmRSS and open fds (/proc/PID/status, /proc/PID/fd), its CPU, and the
#      rollout's saved health windows (rows in rollout_health, read with python3's sqlite3);
#   6. prints a per-minute markdown table and the verdict, ready for BENCHMARKS.md.
#
# Verdict (exit 1 on FAIL). "Reference" is the median over the first WINDOW s after the
# warm-up (samples starting in [WARMUP, WARMUP+WINDOW)), "last" the median over the last
# WINDOW s. Medians of 6 samples, so one disturbed sample on a shared host moves nothing.
#   errors      zero non-2xx answers and zero socket errors in all four loads, no bad event
#               or admin answer, and the rollout still active at its first step;
#   RSS         last <= reference x (1 + RSS_TOLERANCE/100) (20%): the allocator settles in
#               the warm-up, so growth after it is retained data. 20% of ~50 MiB over 8 min
#               flags a leak of >= 1.2 MiB/min; the fitted slope (KiB/min) is printed as
#               well, with how much of it the rollout's health windows explain (they are
#               kept in memory for the rollout's lifetime, by design for now);
#   fds         last <= reference + FD_TOLERANCE (8): the load opens the same number of
#               connections all the time, so any steady rise is a leak;
#   p99         last <= reference x (1 + P99_TOLERANCE/100) (50%): p99 in single-digit ms
#               on 2 shared cores moves by tens of % with other people's builds; a trend
#               above that is the server slowing down;
#   throughput  last >= reference x (1 - RPS_TOLERANCE/100) (10%): the load is paced, so
#               a drop means the server no longer keeps up.
#
# Run:   scripts/soak.sh                      (10 min)
#        DURATION=240 WARMUP=60 scripts/soak.sh   (a 4 min smoke run)
# Env:   DURATION s (600), WARMUP s (120), SAMPLE s (10), WINDOW s (60),
#        SINGLE_CONNECTIONS (32), SINGLE_RATE req/s (8000; 0 = as fast as possible),
#        BULK_RATE req/s (100), EVENT_RATE batches/s (10; 0 = no events: a control run
#        without health windows), ADMIN_RATE writes/s (4),
#        RSS_TOLERANCE % (20), FD_TOLERANCE fds (8), P99_TOLERANCE % (50),
#        RPS_TOLERANCE % (10), SAMPLES_CSV (a path to keep every sample as CSV),
#        plus RAMPART_BIN, SKIP_BUILD=1, BENCH_LOG=1 (see bench-lib.sh).
# Needs: cargo, curl, jq, wrk, python3.
set -euo pipefail

# shellcheck source=scripts/bench-lib.sh
source "$(dirname "$0")/bench-lib.sh"
bench_args "$@"

DURATION="${DURATION:-600}"
WARMUP="${WARMUP:-120}"
SAMPLE="${SAMPLE:-10}"
WINDOW="${WINDOW:-60}"
SINGLE_CONNECTIONS="${SINGLE_CONNECTIONS:-32}"
SINGLE_RATE="${SINGLE_RATE:-8000}"
BULK_RATE="${BULK_RATE:-100}"
EVENT_RATE="${EVENT_RATE:-10}"
ADMIN_RATE="${ADMIN_RATE:-4}"
RSS_TOLERANCE="${RSS_TOLERANCE:-20}"
FD_TOLERANCE="${FD_TOLERANCE:-8}"
P99_TOLERANCE="${P99_TOLERANCE:-50}"
RPS_TOLERANCE="${RPS_TOLERANCE:-10}"
SAMPLES_CSV="${SAMPLES_CSV:-}"
BULK_CONNECTIONS=4
ADMIN_FLAGS=10
FLAG_COUNT=100
SINGLE_FLAG=bench-0000

for name in DURATION WARMUP SAMPLE WINDOW SINGLE_CONNECTIONS SINGLE_RATE BULK_RATE EVENT_RATE \
    ADMIN_RATE RSS_TOLERANCE FD_TOLERANCE P99_TOLERANCE RPS_TOLERANCE; do
    [[ "${!name}" =~ ^[0-9]+$ ]] || { echo "$name must be a whole number, got '${!name}'" >&2; exit 2; }
done
((SAMPLE >= 2 && SAMPLE <= 60)) || { echo "SAMPLE must be 2..60 seconds" >&2; exit 2; }
((WINDOW >= SAMPLE)) || { echo "WINDOW must be at least SAMPLE" >&2; exit 2; }
((DURATION <= 6 * 3600)) || { echo "DURATION must be at most 6 h" >&2; exit 2; }
((DURATION >= WARMUP + 2 * WINDOW)) \
    || { echo "DURATION must be at least WARMUP + 2 x WINDOW (two windows to compare)" >&2; exit 2; }
((SINGLE_CONNECTIONS >= 2 && SINGLE_CONNECTIONS <= 1000)) || { echo "SINGLE_CONNECTIONS must be 2..1000" >&2; exit 2; }
((BULK_RATE >= 1 && ADMIN_RATE >= 1)) || { echo "BULK_RATE and ADMIN_RATE must be at least 1/s" >&2; exit 2; }
((ADMIN_RATE <= 100 && EVENT_RATE <= 1000)) || { echo "ADMIN_RATE must be <= 100, EVENT_RATE <= 1000" >&2; exit 2; }

bench_require curl jq wrk awk getconf python3
[[ -n "${RAMPART_BIN:-}" || "${SKIP_BUILD:-0}" == 1 ]] || bench_require cargo

# The paced loads run in the background; stop them (by PID) if the script ends early.
BACKGROUND_PIDS=()
stop_background() {
    local pid
    for pid in "${BACKGROUND_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${BACKGROUND_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    BACKGROUND_PIDS=()
}
BENCH_CLEANUP_HOOK=stop_background
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# Per-connection wait after each answer (ms) for a total of RATE req/s over CONNECTIONS.
delay_ms() {
    local rate=$1 connections=$2
    if ((rate == 0)); then echo 0; else awk -v r="$rate" -v c="$connections" 'BEGIN {
        d = c * 1000 / r; printf "%d", (d < 1 ? 1 : d) }'; fi
}

post_json() {
    local path=$1 body=$2 out="$BENCH_TMP/post.out" code
    code="$(curl -sS --max-time 10 -o "$out" -w '%{http_code}' -X POST \
        -H 'Content-Type: application/json' -H 'X-Rampart-Actor: soak' \
        --data-binary "$body" "$BENCH_URL$path")" || bench_die "POST $path failed"
    [[ "$code" == 200 || "$code" == 201 ]] || bench_die "POST $path answered $code: $(head -c 600 "$out")"
    cat "$out"
}

bench_build
bench_start_server
bench_load_flags "$FLAG_COUNT" "$FLAG_COUNT"
for i in $(seq 0 $((ADMIN_FLAGS - 1))); do
    post_json /v1/flags "{\"key\":\"soak-admin-$i\",\"kind\":\"boolean\",\"variants\":{\"on\":true,\"off\":false},\"default_variant\":\"off\"}" >/dev/null
done
post_json /v1/flags \
    '{"key":"checkout","kind":"boolean","variants":{"on":true,"off":false},"default_variant":"off"}' >/dev/null
rollout_id="$(post_json /v1/rollouts \
    '{"flag":"checkout","candidate":"on","strategy":"custom","steps":[{"percent":50},{"percent":100}],"soak":"1h"}' \
    | jq -r '.id')"
[[ "$rollout_id" =~ ^[0-9]+$ ]] || bench_die "POST /v1/rollouts gave no id"
# One admin write through curl first: PUT without If-Match must be accepted, or the admin
# load would only measure refusals.
code="$(curl -sS --max-time 5 -o "$BENCH_TMP/put.out" -w '%{http_code}' -X PUT \
    -H 'Content-Type: application/json' -H 'X-Rampart-Actor: soak' \
    --data-binary '{"key":"soak-admin-0","kind":"boolean","variants":{"on":true,"off":false},"default_variant":"off","description":"pre-flight"}' \
    "$BENCH_URL/v1/flags/soak-admin-0")"
[[ "$code" == 200 ]] || bench_die "PUT /v1/flags/soak-admin-0 answered $code: $(head -c 400 "$BENCH_TMP/put.out")"
bench_log "loaded $FLAG_COUNT flags, $ADMIN_FLAGS admin flags; rollout $rollout_id of checkout/on started"

DB="$BENCH_TMP/data/rampart.db"
# Rows in rollout_health (2 per second of events: baseline and candidate), read-only.
health_windows() {
    python3 - "$DB" <<'PY' 2>/dev/null || echo -1
import sqlite3, sys
conn = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, timeout=5)
print(conn.execute("SELECT count(*) FROM rollout_health").fetchone()[0])
PY
}

# "VmRSS_KiB fds threads" of the server.
proc_sample() {
    local rss threads fds
    read -r rss threads < <(awk '/^VmRSS:/ {r = $2} /^Threads:/ {t = $2} END {print r, t}' "/proc/$BENCH_PID/status")
    fds="$(find "/proc/$BENCH_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)"
    echo "$rss $fds $threads"
}

# Background loads, bounded by wrk's -d (a little longer than the sampled runs).
background_duration=$((DURATION + 5))
wrk -t1 -c"$BULK_CONNECTIONS" -d"${background_duration}s" --timeout 5s --latency \
    -s "$BENCH_SCRIPTS_DIR/bench-ofrep.lua" "$BENCH_URL" -- /ofrep/v1/evaluate/flags 1024 0 \
    "$(delay_ms "$BULK_RATE" "$BULK_CONNECTIONS")" >"$BENCH_TMP/wrk-bulk.txt" 2>&1 &
BACKGROUND_PIDS+=($!)
if ((EVENT_RATE > 0)); then
    wrk -t1 -c1 -d"${background_duration}s" --timeout 5s --latency \
        -s "$BENCH_SCRIPTS_DIR/bench-events.lua" "$BENCH_URL" -- /v1/events 0 0 \
        "$(delay_ms "$EVENT_RATE" 1)" >"$BENCH_TMP/wrk-events.txt" 2>&1 &
    BACKGROUND_PIDS+=($!)
fi
wrk -t1 -c1 -d"${background_duration}s" --timeout 5s --latency \
    -s "$BENCH_SCRIPTS_DIR/soak-admin.lua" "$BENCH_URL" -- \
    "$(delay_ms "$ADMIN_RATE" 1)" "$ADMIN_FLAGS" >"$BENCH_TMP/wrk-admin.txt" 2>&1 &
BACKGROUND_PIDS+=($!)

single_delay="$(delay_ms "$SINGLE_RATE" "$SINGLE_CONNECTIONS")"
samples="$BENCH_TMP/samples.csv"
echo "t_s,rps,p50_us,p99_us,non2xx,socket_errors,rss_kib,fds,threads,server_cpu_pct,machine_busy_pct,health_rows" >"$samples"
hz="$(getconf CLK_TCK)"
n_samples=$((DURATION / SAMPLE))
start_us=${EPOCHREALTIME//[!0-9]/}
bench_log "soaking for ${DURATION}s: $n_samples samples of ${SAMPLE}s (warm-up ${WARMUP}s); single ~${SINGLE_RATE} req/s on $SINGLE_CONNECTIONS connections, bulk ~$BULK_RATE req/s, events ~$EVENT_RATE batches/s, admin ~$ADMIN_RATE writes/s"
for i in $(seq 0 $((n_samples - 1))); do
    kill -0 "$BENCH_PID" 2>/dev/null || bench_die "the server exited during the soak"
    t=$(((${EPOCHREALTIME//[!0-9]/} - start_us) / 1000000))
    out="$BENCH_TMP/wrk-single-$i.txt"
    cpu_before="$(bench_cpu_ticks "$BENCH_PID")"
    machine_before="$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit}' /proc/stat)"
    wrk -t2 -c"$SINGLE_CONNECTIONS" -d"${SAMPLE}s" --timeout 5s --latency \
        -s "$BENCH_LUA" "$BENCH_URL" -- "/ofrep/v1/evaluate/flags/$SINGLE_FLAG" 1024 0 "$single_delay" \
        >"$out" 2>&1 &
    wrk_pid=$!
    sleep "$(awk -v s="$SAMPLE" 'BEGIN {print s / 2}')"
    read -r rss fds threads < <(proc_sample)
    rows="$(health_windows)"
    wait "$wrk_pid" || bench_die "wrk failed in sample $i: $(tail -n 5 "$out")"
    cpu_after="$(bench_cpu_ticks "$BENCH_PID")"
    machine_after="$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit}' /proc/stat)"
    result="$(grep '^RESULT ' "$out" | tail -n 1 || true)"
    [[ -n "$result" ]] || bench_die "wrk printed no RESULT line in sample $i: $(tail -n 20 "$out")"
    socket_errors=$(($(bench_field "$result" connect) + $(bench_field "$result" read) + $(bench_field "$result" write) + $(bench_field "$result" timeout)))
    cpu_pct="$(awk -v a="$cpu_before" -v b="$cpu_after" -v hz="$hz" -v d="$(bench_field "$result" duration_us)" \
        'BEGIN {printf "%.0f", 100 * (b - a) / hz / (d / 1e6)}')"
    busy_pct="$(awk -v a="$machine_before" -v b="$machine_after" 'BEGIN {
        split(a, x, " "); split(b, y, " "); total = y[2] - x[2]
        printf "%.0f", (total > 0 ? 100 * (y[1] - x[1]) / total : 0) }')"
    printf '%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n' "$t" "$(bench_field "$result" rps)" \
        "$(bench_field "$result" p50_us)" "$(bench_field "$result" p99_us)" \
        "$(bench_field "$result" non2xx)" "$socket_errors" "$rss" "$fds" "$threads" \
        "$cpu_pct" "$busy_pct" "$rows" >>"$samples"
    bench_log "t=${t}s: $(bench_thousands "$(bench_field "$result" rps)") req/s, p99 $(bench_ms "$(bench_field "$result" p99_us)"), non-2xx $(bench_field "$result" non2xx), socket errors $socket_errors, RSS $(awk -v k="$rss" 'BEGIN {printf "%.1f MiB", k / 1024}'), fds $fds, server CPU ${cpu_pct}%, machine ${busy_pct}% busy, health rows $rows"
done
bench_log "sampling done; waiting for the background loads to finish"
for pid in "${BACKGROUND_PIDS[@]}"; do
    wait "$pid" || bench_die "a background wrk failed: $(tail -n 3 "$BENCH_TMP"/wrk-{bulk,events,admin}.txt)"
done
BACKGROUND_PIDS=()
[[ -z "$SAMPLES_CSV" ]] || cp "$samples" "$SAMPLES_CSV"

# Background loads: requests, errors, bad answers.
background_row() {
    local label=$1 file=$2 result errors bad
    if [[ ! -e "$file" ]]; then echo "| $label | not run | | | | | |"; return; fi
    result="$(grep '^RESULT ' "$file" | tail -n 1 || true)"
    [[ -n "$result" ]] || { echo "| $label | no RESULT line | | | | | |"; return; }
    errors=$(($(bench_field "$result" connect) + $(bench_field "$result" read) + $(bench_field "$result" write) + $(bench_field "$result" timeout)))
    bad="$(bench_field "$result" bad)"
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$label" \
        "$(bench_thousands "$(bench_field "$result" requests)")" \
        "$(awk -v r="$(bench_field "$result" rps)" 'BEGIN {printf "%.1f", r}')" \
        "$(bench_ms "$(bench_field "$result" p99_us)")" \
        "$(bench_field "$result" non2xx)" "$errors" "${bad:-—}"
}
background_errors() {
    local file result bad
    for file in "$@"; do
        [[ -e "$file" ]] || continue
        result="$(grep '^RESULT ' "$file" | tail -n 1 || true)"
        [[ -n "$result" ]] || { echo 1; continue; }
        bad="$(bench_field "$result" bad)"
        echo $(($(bench_field "$result" non2xx) + $(bench_field "$result" connect) + $(bench_field "$result" read) \
            + $(bench_field "$result" write) + $(bench_field "$result" timeout) + ${bad:-0}))
    done | awk '{s += $1} END {print s + 0}'
}
unjudged="not run"
if [[ -e "$BENCH_TMP/wrk-events.txt" ]]; then
    unjudged="$(bench_field "$(grep '^RESULT ' "$BENCH_TMP/wrk-events.txt" | tail -n 1)" unjudged)"
fi
rollout_now="$(curl -fsS --max-time 5 "$BENCH_URL/v1/rollouts/$rollout_id")" || bench_die "GET /v1/rollouts/$rollout_id failed"
rollout_state="$(jq -c '{phase, active, step}' <<<"$rollout_now")"
bench_log "rollout $rollout_id at the end: $rollout_state; gate $(jq -c '.gate | {verdict, blockers}' <<<"$rollout_now")"
rollout_ok=0
[[ "$(jq -r '.active' <<<"$rollout_now")" == true && "$(jq -r '.step' <<<"$rollout_now")" == 0 ]] && rollout_ok=1

# Flatness: medians of the reference and last windows, and the post-warm-up RSS slope.
analysis="$(awk -F, -v warm="$WARMUP" -v win="$WINDOW" -v dur="$DURATION" '
    function median(a, n,    i, j, t) {
        for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    NR == 1 { next }
    { errors += $5 + $6 }
    $1 >= warm && $1 < warm + win { nr++; r_rps[nr] = $2; r_p99[nr] = $4; r_rss[nr] = $7; r_fd[nr] = $8; r_h[nr] = $12 }
    $1 >= dur - win { nl++; l_rps[nl] = $2; l_p99[nl] = $4; l_rss[nl] = $7; l_fd[nl] = $8; l_h[nl] = $12 }
    $1 >= warm { n++; sx += $1; sy += $7; sxx += $1 * $1; sxy += $1 * $7 }
    END {
        slope = (n > 1 && n * sxx - sx * sx != 0) ? (n * sxy - sx * sy) / (n * sxx - sx * sx) * 60 : 0
        printf "ref_rps=%.1f ref_p99=%.0f ref_rss=%.0f ref_fd=%.0f ref_health=%.0f ", median(r_rps, nr), median(r_p99, nr), median(r_rss, nr), median(r_fd, nr), median(r_h, nr)
        printf "last_rps=%.1f last_p99=%.0f last_rss=%.0f last_fd=%.0f last_health=%.0f ", median(l_rps, nl), median(l_p99, nl), median(l_rss, nl), median(l_fd, nl), median(l_h, nl)
        printf "rss_slope_kib_min=%.1f errors=%d n_ref=%d n_last=%d\n", slope, errors, nr, nl
    }' "$samples")"
f() { bench_field "$analysis" "$1"; }
((${ANALYSIS_DEBUG:-0} == 0)) || bench_log "$analysis"

verdict=PASS
checks=""
check() { # NAME MEASURED LIMIT OK(0/1); adds a row to $checks (not in a subshell: it sets verdict)
    local status=PASS
    if [[ "$4" != 1 ]]; then status=FAIL; verdict=FAIL; fi
    checks+="| $1 | $2 | $3 | $status |"$'\n'
}
mib() { awk -v k="$1" 'BEGIN {printf "%.1f MiB", k / 1024}'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%+.1f%%", (b > 0 ? 100 * (a - b) / b : 0)}'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a <= b)}' && echo 1 || echo 0; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a >= b)}' && echo 1 || echo 0; }

other_errors="$(background_errors "$BENCH_TMP/wrk-bulk.txt" "$BENCH_TMP/wrk-events.txt" "$BENCH_TMP/wrk-admin.txt")"
total_errors=$(($(f errors) + other_errors))
rss_limit="$(awk -v r="$(f ref_rss)" -v t="$RSS_TOLERANCE" 'BEGIN {printf "%.0f", r * (1 + t / 100)}')"
p99_limit="$(awk -v r="$(f ref_p99)" -v t="$P99_TOLERANCE" 'BEGIN {printf "%.0f", r * (1 + t / 100)}')"
rps_floor="$(awk -v r="$(f ref_rps)" -v t="$RPS_TOLERANCE" 'BEGIN {printf "%.1f", r * (1 - t / 100)}')"
fd_limit=$(($(f ref_fd) + FD_TOLERANCE))
# Health windows: rows added between the two windows, and the RSS they could explain.
health_added=$(($(f last_health) - $(f ref_health)))
rss_added=$(($(f last_rss) - $(f ref_rss)))
per_window="—"
if ((health_added > 0)); then
    per_window="$(awk -v r="$rss_added" -v h="$health_added" 'BEGIN {printf "%.2f KiB", r / h}')"
fi
# The saved windows' JSON size, to compare with the RSS each one costs in memory.
window_json="$(python3 - "$DB" <<'PY' 2>/dev/null || echo "?"
import sqlite3, sys
conn = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, timeout=5)
print("%.2f KiB" % ((conn.execute("SELECT avg(length(aggregate)) FROM rollout_health").fetchone()[0] or 0) / 1024))
PY
)"
minutes_between="$(awk -v d="$DURATION" -v w="$WARMUP" -v win="$WINDOW" 'BEGIN {printf "%.1f", (d - win - w) / 60}')"

check "errors: non-2xx, socket, bad answers (all loads)" "$total_errors" "0" "$((total_errors == 0 ? 1 : 0))"
check "rollout still active at its first step" "$rollout_state, unjudged batches ${unjudged:-?}" "active, step 0" "$rollout_ok"
check "RSS" "$(mib "$(f ref_rss)") → $(mib "$(f last_rss)") ($(pct "$(f last_rss)" "$(f ref_rss)"))" "≤ $(mib "$rss_limit") (+$RSS_TOLERANCE%)" "$(le "$(f last_rss)" "$rss_limit")"
check "open fds" "$(f ref_fd) → $(f last_fd)" "≤ $fd_limit (+$FD_TOLERANCE)" "$(le "$(f last_fd)" "$fd_limit")"
check "OFREP single p99" "$(bench_ms "$(f ref_p99)") → $(bench_ms "$(f last_p99)") ($(pct "$(f last_p99)" "$(f ref_p99)"))" "≤ $(bench_ms "$p99_limit") (+$P99_TOLERANCE%)" "$(le "$(f last_p99)" "$p99_limit")"
check "OFREP single throughput" "$(bench_thousands "$(f ref_rps)") → $(bench_thousands "$(f last_rps)") req/s ($(pct "$(f last_rps)" "$(f ref_rps)"))" "≥ $(bench_thousands "$rps_floor") (−$RPS_TOLERANCE%)" "$(ge "$(f last_rps)" "$rps_floor")"

per_minute="$(awk -F, 'NR > 1 {
        m = int($1 / 60); n[m]++; k = n[m]
        rps[m, k] = $2; p99[m, k] = $4; rss[m, k] = $7; fd[m, k] = $8; err[m] += $5 + $6; cpu[m, k] = $10; busy[m, k] = $11; h[m] = $12
        if (m > last) last = m
    }
    function med(arr, m, cnt,    i, j, t, v) {
        for (i = 1; i <= cnt; i++) v[i] = arr[m, i]
        for (i = 2; i <= cnt; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
        return cnt % 2 ? v[(cnt + 1) / 2] : (v[cnt / 2] + v[cnt / 2 + 1]) / 2
    }
    END {
        for (m = 0; m <= last; m++) {
            if (!(m in n)) continue
            printf "| %d–%d | %.0f | %.2f ms | %.1f MiB | %.0f | %d | %.0f%% | %.0f%% | %d |\n", m, m + 1,
                med(rps, m, n[m]), med(p99, m, n[m]) / 1000, med(rss, m, n[m]) / 1024, med(fd, m, n[m]),
                err[m], med(cpu, m, n[m]), med(busy, m, n[m]), h[m]
        }
    }' "$samples")"

cat <<EOF

### Soak (scripts/soak.sh)

\`DURATION=$DURATION WARMUP=$WARMUP SAMPLE=$SAMPLE EVENT_RATE=$EVENT_RATE scripts/soak.sh\` — ${DURATION} s of mixed load on loopback: OFREP single
(~$SINGLE_RATE req/s paced, $SINGLE_CONNECTIONS connections, one wrk run per ${SAMPLE} s sample), OFREP bulk of $FLAG_COUNT flags
(~$BULK_RATE req/s), events (~$EVENT_RATE batches/s of 500 for a flag under an active rollout) and admin writes (~$ADMIN_RATE/s:
kill-switch toggles and updates of $ADMIN_FLAGS other flags). Medians per minute of the ${SAMPLE} s samples; RSS and fds are
read mid-sample.

| minute | single req/s | single p99 | VmRSS | open fds | non-2xx + socket errors | server CPU (of one core) | machine busy | health rows saved |
|---|---|---|---|---|---|---|---|---|
$per_minute

| background load | requests | req/s | p99 | non-2xx | socket errors | bad answers |
|---|---|---|---|---|---|---|
$(background_row "OFREP bulk ($FLAG_COUNT flags)" "$BENCH_TMP/wrk-bulk.txt")
$(background_row "POST /v1/events (500 per batch)" "$BENCH_TMP/wrk-events.txt")
$(background_row "admin writes (toggle / PUT)" "$BENCH_TMP/wrk-admin.txt")

Verdict: reference = median of the samples in [${WARMUP}, $((WARMUP + WINDOW))) s, last = median of the last ${WINDOW} s.

| criterion | measured (reference → last) | limit | result |
|---|---|---|---|
${checks}
RSS after the warm-up: fitted slope $(f rss_slope_kib_min) KiB/min ($(awk -v s="$(f rss_slope_kib_min)" 'BEGIN {printf "%.0f", s * 60 * 24 / 1024}') MiB/day if it went on).
The rollout's health windows grew by $health_added rows in the $minutes_between min between the two windows (2 per second of events: baseline
and candidate), kept in memory for the rollout's lifetime: RSS grew $(awk -v k="$rss_added" 'BEGIN {printf "%.1f", k / 1024}') MiB over them, $per_window per window
(a saved window's aggregate is $window_json of JSON in rollout_health).
$(bench_machine_line)

**Soak: $verdict**
EOF
[[ "$verdict" == PASS ]] || exit 1
