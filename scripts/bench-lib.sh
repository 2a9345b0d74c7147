#!/usr/bin/env bash
# Shared helpers for scripts/bench-*.sh. Source it; running it directly does nothing.
#
# Provides: building the release binary, starting and stopping a throwaway server on a
# free 127.0.0.1 port, generating a realistic flag document, applying it through
# POST /v1/apply, running wrk with scripts/bench-ofrep.lua, and small statistics helpers.
#
# Environment understood by every bench script:
#   RAMPART_BIN   use this binary instead of building target/release/rampart
#   SKIP_BUILD=1  do not run `cargo build --release -p rampart-cli` (binary must exist)
#   BENCH_LOG=1   also print the server's log when the script exits
#   QUIET_WAIT    seconds to wait, before each timed run, for the machine to be quiet (60;
#                 0 disables); QUIET_BUSY is the busy share of all cores counted as quiet (15)

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    echo "bench-lib.sh is a library; run scripts/bench-ofrep.sh or scripts/bench-rss.sh" >&2
    exit 2
fi

BENCH_SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# The bench scripts take no arguments but --help, which prints their header comment (from
# line 2 to `set -euo pipefail`). Call as `bench_args "$@"`.
bench_args() {
    case "${1:-}" in
        -h | --help)
            sed -n '2,/^set -euo pipefail/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
            exit 0
            ;;
        "") ;;
        *)
            echo "unknown argument: $1 (try --help)" >&2
            exit 2
            ;;
    esac
}
BENCH_ROOT="$(cd "$BENCH_SCRIPTS_DIR/.." && pwd)"
BENCH_LUA="$BENCH_SCRIPTS_DIR/bench-ofrep.lua"
BENCH_BIN=""
BENCH_TMP=""
BENCH_PID=""
BENCH_URL=""

bench_log() {
    printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

bench_die() {
    printf 'FAILED: %s\n' "$*" >&2
    exit 1
}

bench_require() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || bench_die "\`$tool\` is required but not installed"
    done
}

# Builds the release binary once (unless SKIP_BUILD=1 or RAMPART_BIN is set).
bench_build() {
    if [[ -n "${RAMPART_BIN:-}" ]]; then
        BENCH_BIN="$RAMPART_BIN"
    else
        BENCH_BIN="${CARGO_TARGET_DIR:-$BENCH_ROOT/target}/release/rampart"
        if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
            bench_log "building: cargo build --release -p rampart-cli"
            (cd "$BENCH_ROOT" && cargo build --release -p rampart-cli) >&2 \
                || bench_die "cargo build --release -p rampart-cli failed"
        fi
    fi
    [[ -x "$BENCH_BIN" ]] || bench_die "no rampart binary at $BENCH_BIN"
}

# Stops the server we started (by its PID only): SIGTERM, then SIGKILL after 5 s. Returns
# the server's exit status (0 when it was not running).
bench_stop_server() {
    local exit_status=0
    if [[ -n "$BENCH_PID" ]] && kill -0 "$BENCH_PID" 2>/dev/null; then
        kill -TERM "$BENCH_PID" 2>/dev/null || true
        local _
        for _ in $(seq 1 50); do
            kill -0 "$BENCH_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$BENCH_PID" 2>/dev/null; then
            bench_log "server $BENCH_PID ignored SIGTERM for 5 s; sending SIGKILL"
            kill -KILL "$BENCH_PID" 2>/dev/null || true
        fi
        wait "$BENCH_PID" 2>/dev/null || exit_status=$?
    fi
    BENCH_PID=""
    return "$exit_status"
}

# Stops the server, runs BENCH_CLEANUP_HOOK (a function name, e.g. one that unmounts a
# tmpfs inside BENCH_TMP) and removes the temp dir. Used from traps.
bench_cleanup() {
    local status=$?
    bench_stop_server || true
    if [[ -n "${BENCH_CLEANUP_HOOK:-}" ]]; then
        "$BENCH_CLEANUP_HOOK" || true
    fi
    local log_tail=""
    if [[ -n "$BENCH_TMP" && -d "$BENCH_TMP" ]]; then
        if [[ "${BENCH_LOG:-0}" == 1 || $status -ne 0 ]] && [[ -f "$BENCH_TMP/server.log" ]]; then
            log_tail="$(tail -n 40 "$BENCH_TMP/server.log" || true)"
        fi
        # Remove the temp dir before printing anything: a closed stderr must not skip it.
        rm -rf -- "$BENCH_TMP"
    fi
    BENCH_TMP=""
    if [[ -n "$log_tail" ]]; then
        printf -- '--- server log (last 40 lines) ---\n%s\n' "$log_tail" >&2 || true
    fi
    return "$status"
}

# Creates the temp dir (BENCH_TMP) every run keeps its files in, once.
bench_make_tmp() {
    [[ -n "$BENCH_TMP" ]] || BENCH_TMP="$(mktemp -d "${TMPDIR:-/tmp}/rampart-bench.XXXXXX")"
}

# Starts `rampart serve` on 127.0.0.1 with an OS-chosen port and a temp data dir.
# Sets BENCH_PID and BENCH_URL. Fails if the server is not healthy within 10 s.
# BENCH_DATA_DIR overrides the data dir (e.g. one on a small tmpfs); the array
# BENCH_SERVE_ARGS adds arguments to `rampart serve`; BENCH_SERVE_NOFILE, when set, is the
# server's soft open-files limit (`ulimit -Sn`; the hard limit stays, as under systemd).
# The log stays in BENCH_TMP (server.log) either way.
bench_start_server() {
    bench_make_tmp
    local log="$BENCH_TMP/server.log"
    (
        if [[ -n "${BENCH_SERVE_NOFILE:-}" ]]; then
            ulimit -Sn "$BENCH_SERVE_NOFILE" || exit 1
        fi
        NO_COLOR=1 exec "$BENCH_BIN" serve --listen 127.0.0.1:0 \
            --data-dir "${BENCH_DATA_DIR:-$BENCH_TMP/data}" --log info \
            ${BENCH_SERVE_ARGS[@]+"${BENCH_SERVE_ARGS[@]}"} >"$log" 2>&1
    ) &
    BENCH_PID=$!
    # Microsecond clock (bash 5 EPOCHREALTIME), so the 10 s limit is not rounded to seconds.
    local deadline=$((${EPOCHREALTIME//[!0-9]/} + 10000000)) address=""
    while ((${EPOCHREALTIME//[!0-9]/} < deadline)); do
        kill -0 "$BENCH_PID" 2>/dev/null || bench_die "the server exited during startup (see its log below)"
        address="$(sed -e 's/\x1b\[[0-9;]*m//g' "$log" | grep -o 'address=127\.0\.0\.1:[0-9]\+' | head -n 1 || true)"
        if [[ -n "$address" ]]; then
            BENCH_URL="http://${address#address=}"
            if curl -fsS --max-time 1 "$BENCH_URL/healthz" >/dev/null 2>&1; then
                bench_log "server pid $BENCH_PID is up at $BENCH_URL"
                return 0
            fi
        fi
        sleep 0.1
    done
    bench_die "the server did not come up within 10 s"
}

# The two segments every bench document uses.
bench_segments_json() {
    jq -n '[
      {name: "internal", description: "staff accounts",
       conditions: [{attribute: "email", op: "ends_with", values: ["@rampart.example"]}]},
      {name: "beta-testers", description: "opted-in users in the beta countries",
       conditions: [{attribute: "beta", op: "eq", values: [true]},
                    {attribute: "country", op: "in", values: ["NL", "DE", "FR", "SE"]}]}
    ]'
}

# Prints a /v1/apply body with flags bench-START .. bench-(START+COUNT-1); segments are
# included when WITH_SEGMENTS is 1. Every flag has the same realistic shape:
#   rule 1: segment internal (even flags) or beta-testers (odd flags) -> candidate
#   rule 2: email ends_with one of two partner domains                 -> candidate
#   rule 3: plan in [team, enterprise] AND app_version semver_gt 4.2.0 -> 50/50 split
#   fallthrough: 10/90 split candidate/baseline
# Kinds mix: 70% boolean, 20% string, 10% number.
bench_document_json() {
    local start=$1 count=$2 with_segments=$3 segments='[]'
    if [[ "$with_segments" == 1 ]]; then
        segments="$(bench_segments_json)"
    fi
    jq -n --argjson start "$start" --argjson count "$count" --argjson segments "$segments" '
      def shape(i):
        if i % 10 < 7 then {kind: "boolean", variants: {on: true, off: false}, c: "on", b: "off"}
        elif i % 10 < 9 then {kind: "string", variants: {treatment: "green", control: "blue"}, c: "treatment", b: "control"}
        else {kind: "number", variants: {high: 50, low: 10}, c: "high", b: "low"} end;
      def flag(i): shape(i) as $s | {
        key: ("bench-" + (i | tostring | if length < 4 then ("000" + .)[-4:] else . end)),
        kind: $s.kind,
        variants: $s.variants,
        default_variant: $s.b,
        description: "benchmark flag \(i)",
        owner: "team-\(i % 7)",
        tags: ["bench", "area-\(i % 5)"],
        rules: [
          {description: "staff first",
           when: [{segment: (if i % 2 == 0 then "internal" else "beta-testers" end)}],
           serve: {variant: $s.c}},
          {description: "partners",
           when: [{attribute: "email", op: "ends_with",
                   values: ["@partner-a.example", "@partner-b.example"]}],
           serve: {variant: $s.c}},
          {description: "paying customers on the new app",
           when: [{attribute: "plan", op: "in", values: ["team", "enterprise"]},
                  {attribute: "app_version", op: "semver_gt", values: ["4.2.0"]}],
           serve: {split: {($s.c): 5000, ($s.b): 5000}}}
        ],
        fallthrough: {split: {($s.c): 1000, ($s.b): 9000}}
      };
      {document: {segments: $segments, flags: [range($start; $start + $count) | flag(.)]}}'
}

# POSTs a document to /v1/apply and checks that it was applied.
bench_apply() {
    local body_file=$1 out="$BENCH_TMP/apply.out" code
    code="$(curl -sS --max-time 30 -o "$out" -w '%{http_code}' -X POST \
        -H 'Content-Type: application/json' -H 'X-Rampart-Actor: bench' \
        --data-binary "@$body_file" "$BENCH_URL/v1/apply")" || bench_die "POST /v1/apply failed"
    [[ "$code" == 200 ]] || bench_die "POST /v1/apply answered $code: $(head -c 600 "$out")"
    [[ "$(jq -r '.applied' "$out")" == true ]] || bench_die "POST /v1/apply did not apply: $(head -c 600 "$out")"
}

# Loads flags bench-0000 .. bench-(TOTAL-1) in batches of BATCH (segments with the first).
bench_load_flags() {
    local total=$1 batch=$2 start=0 n body="$BENCH_TMP/apply.json"
    while ((start < total)); do
        n=$((total - start < batch ? total - start : batch))
        bench_document_json "$start" "$n" "$((start == 0 ? 1 : 0))" >"$body"
        bench_apply "$body"
        start=$((start + n))
    done
    local served
    served="$(curl -fsS --max-time 10 "$BENCH_URL/v1/snapshot" | jq '.flags | length')" \
        || bench_die "GET /v1/snapshot failed"
    [[ "$served" == "$total" ]] || bench_die "expected $total flags served, found $served"
    bench_log "loaded $total flags (batches of $batch) and 2 segments"
}

# One context of the pool the Lua script rotates through (keep the two in step).
bench_sample_context() {
    printf '%s' '{"context":{"targetingKey":"user-1","email":"u1@mail.example","plan":"free","app_version":"4.1.1","country":"US","beta":false}}'
}

# Runs wrk against PATH on the server; prints the script's RESULT line to stdout and keeps
# wrk's full output in $BENCH_TMP. Extra args after PATH go to the Lua script.
# Usage: bench_wrk LABEL THREADS CONNECTIONS DURATION PATH [STOP_AFTER_PER_THREAD]
bench_wrk() {
    local label=$1 threads=$2 conns=$3 duration=$4 path=$5 stop_after=${6:-0}
    local out="$BENCH_TMP/wrk-$label.txt" cpu_before cpu_after
    local machine_before machine_after
    machine_before="$(bench_machine_ticks)"
    cpu_before="$(bench_cpu_ticks "$BENCH_PID")"
    # `time` reports wrk's own user and system CPU seconds (appended to $out).
    local TIMEFORMAT='WRKCPU %U %S'
    { time wrk --latency -t "$threads" -c "$conns" -d "$duration" --timeout 5s \
        -s "$BENCH_LUA" "$BENCH_URL" -- "$path" 1024 "$stop_after" >"$out" 2>&1; } 2>>"$out" \
        || bench_die "wrk failed ($label): $(tail -n 5 "$out")"
    cpu_after="$(bench_cpu_ticks "$BENCH_PID")"
    machine_after="$(bench_machine_ticks)"
    local result wrk_cpu server_cpu
    result="$(grep '^RESULT ' "$out" | tail -n 1 || true)"
    [[ -n "$result" ]] || bench_die "wrk printed no RESULT line ($label): $(tail -n 20 "$out")"
    wrk_cpu="$(awk '/^WRKCPU / {printf "%.3f", $2 + $3}' "$out")"
    server_cpu="$(awk -v a="$cpu_before" -v b="$cpu_after" -v hz="$(getconf CLK_TCK)" \
        'BEGIN {printf "%.3f", (b - a) / hz}')"
    # Whole-machine CPU-seconds over the run, to spot other load on the host.
    local machine
    machine="$(awk -v a="$machine_before" -v b="$machine_after" -v hz="$(getconf CLK_TCK)" 'BEGIN {
        split(a, x, " "); split(b, y, " ")
        printf "tasks_s=%.3f irq_s=%.3f steal_s=%.3f", (y[1] - x[1]) / hz, (y[2] - x[2]) / hz, (y[3] - x[3]) / hz }')"
    result="$result wrk_cpu_s=${wrk_cpu:-0} server_cpu_s=$server_cpu $machine"
    # wrk counts HTTP statuses > 399 both in done() and in its own "Non-2xx" line.
    local non2xx
    non2xx="$(grep -o 'Non-2xx or 3xx responses: [0-9]\+' "$out" | grep -o '[0-9]\+$' || echo 0)"
    if [[ "$non2xx" != 0 || "$(bench_field "$result" non2xx)" != 0 ]]; then
        bench_die "wrk saw non-2xx responses ($label): $(grep -E 'Non-2xx|RESULT' "$out" | tr '\n' ' ')"
    fi
    local field
    for field in connect read write timeout; do
        if [[ "$(bench_field "$result" "$field")" != 0 ]]; then
            bench_die "wrk saw socket errors ($label): $result"
        fi
    done
    printf '%s\n' "$result"
}

# User + system CPU clock ticks used so far by PID (fields 14 and 15 of /proc/PID/stat,
# counted after the parenthesised command name, which may contain spaces).
bench_cpu_ticks() {
    local stat
    stat="$(cat "/proc/$1/stat")" || bench_die "cannot read /proc/$1/stat"
    stat="${stat##*) }"
    awk '{print $12 + $13}' <<<"$stat"
}

# Whole-machine "TASKS IRQ STEAL" clock ticks from the first line of /proc/stat: user +
# nice + system (time charged to processes), irq + softirq (on loopback this is mostly the
# TCP stack working for the benchmark), and steal (the hypervisor ran something else).
bench_machine_ticks() {
    awk '/^cpu / {print $2 + $3 + $4, $7 + $8, $9; exit}' /proc/stat
}

# Waits (at most QUIET_WAIT s, sampling 1 s at a time) until the whole machine is less than
# QUIET_BUSY % busy, so that other load on a shared host does not skew a run. Only logs a
# warning when the machine stays busy; the run's "other" CPU column then shows it.
bench_wait_quiet() {
    local limit="${QUIET_WAIT:-60}" threshold="${QUIET_BUSY:-15}" waited=0 before after busy
    ((limit > 0)) || return 0
    while :; do
        before="$(bench_machine_ticks) $(awk '/^cpu / {print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit}' /proc/stat)"
        sleep 1
        after="$(bench_machine_ticks) $(awk '/^cpu / {print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit}' /proc/stat)"
        busy="$(awk -v a="$before" -v b="$after" 'BEGIN {
            split(a, x, " "); split(b, y, " "); total = y[4] - x[4]
            if (total <= 0) { print 0; exit }
            printf "%.0f", 100 * ((y[1] - x[1]) + (y[2] - x[2]) + (y[3] - x[3])) / total }')"
        if ((busy < threshold)); then
            ((waited == 0)) || bench_log "machine quiet again (${busy}% busy) after ${waited}s"
            return 0
        fi
        if ((waited >= limit)); then
            bench_log "warning: machine still ${busy}% busy after ${waited}s; measuring anyway (results disturbed)"
            return 0
        fi
        ((waited == 0)) && bench_log "machine ${busy}% busy with other work; waiting up to ${limit}s for it to settle"
        waited=$((waited + 1))
    done
}

# Reads key=value from a RESULT line.
bench_field() {
    local line=$1 key=$2
    printf '%s\n' "$line" | tr ' ' '\n' | sed -n "s/^$key=//p"
}

# Median of the numbers given as arguments (mean of the middle two for an even count).
bench_median() {
    printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {
        if (NR == 0) exit 1
        if (NR % 2) printf "%.6g\n", v[(NR + 1) / 2]
        else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Formats microseconds as milliseconds with two decimals.
bench_ms() {
    awk -v us="$1" 'BEGIN {printf "%.2f ms", us / 1000}'
}

# Formats a rate with thousands separators: 41234.5 -> 41,235.
bench_thousands() {
    awk -v n="$1" 'BEGIN {
        s = sprintf("%.0f", n); out = ""
        while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
        print s out }'
}

# One line describing the machine and the build, for pasting next to the tables.
bench_machine_line() {
    local cpu kernel rev dirty=""
    cpu="$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)"
    kernel="$(uname -sr)"
    rev="$(git -C "$BENCH_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    if [[ -n "$(git -C "$BENCH_ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
        dirty="+dirty"
    fi
    printf 'Machine: nproc %s, %s, %s; rampart %s%s (release).\n' \
        "$(nproc)" "${cpu:-unknown CPU}" "$kernel" "$rev" "$dirty"
}

# CPU used during a run by other processes plus hypervisor steal, in % of one core: busy
# time on the whole machine (tasks + softirq + steal) minus what the server and wrk used
# (their times already include the softirq charged to them). Noise, not benchmark.
bench_other_share() {
    local result=$1
    awk -v t="$(bench_field "$result" tasks_s)" -v i="$(bench_field "$result" irq_s)" \
        -v st="$(bench_field "$result" steal_s)" -v s="$(bench_field "$result" server_cpu_s)" \
        -v w="$(bench_field "$result" wrk_cpu_s)" -v d="$(bench_field "$result" duration_us)" \
        'BEGIN {o = 100 * (t + i + st - s - w) / (d / 1e6); printf "%.0f", o < 0 ? 0 : o}'
}

# Measures one run, and measures it again (at most RETRIES times, after waiting for the
# machine to be quiet) while other load took more than DISTURBED % of a core; prints the
# least disturbed attempt's RESULT line. Usage: bench_least_disturbed LABEL COMMAND ARGS...,
# where `COMMAND LABEL.ATTEMPT ARGS...` prints one RESULT line (e.g. bench_wrk).
bench_least_disturbed() {
    local label=$1 command=$2
    shift 2
    local attempt result best="" best_other=0 other_now
    for attempt in $(seq 0 "${RETRIES:-2}"); do
        bench_wait_quiet
        result="$("$command" "$label.$attempt" "$@")"
        other_now="$(bench_other_share "$result")"
        if [[ -z "$best" ]] || ((other_now < best_other)); then
            best=$result
            best_other=$other_now
        fi
        ((other_now > ${DISTURBED:-10})) || break
        if ((attempt < ${RETRIES:-2})); then
            bench_log "$label: disturbed (other processes+steal ${other_now}% of CPU); measuring again"
        else
            bench_log "$label: still disturbed after ${RETRIES:-2} retries; keeping the least disturbed attempt"
        fi
    done
    printf '%s\n' "$best"
}

# Checks the wrk settings every wrk-based bench script takes from the environment (RUNS,
# DURATION, WARMUP, THREADS, CONNECTIONS, RETRIES; exit 2 on a bad one), that the tools are
# installed, and installs the cleanup traps. The settings are the calling script's variables.
# shellcheck disable=SC2153
bench_wrk_setup() {
    for name in RUNS DURATION WARMUP THREADS CONNECTIONS RETRIES; do
        [[ "${!name}" =~ ^[0-9]+$ ]] || { echo "$name must be a whole number, got '${!name}'" >&2; exit 2; }
    done
    ((RUNS >= 1 && RUNS <= 20)) || { echo "RUNS must be 1..20" >&2; exit 2; }
    ((DURATION >= 1 && DURATION <= 300)) || { echo "DURATION must be 1..300 seconds" >&2; exit 2; }
    ((WARMUP <= 60)) || { echo "WARMUP must be 0..60 seconds" >&2; exit 2; }
    ((RETRIES <= 5)) || { echo "RETRIES must be 0..5" >&2; exit 2; }
    ((THREADS >= 1 && THREADS <= 64)) || { echo "THREADS must be 1..64" >&2; exit 2; }
    ((CONNECTIONS >= THREADS && CONNECTIONS <= 10000)) || { echo "CONNECTIONS must be THREADS..10000" >&2; exit 2; }

    bench_require curl jq wrk awk getconf
    [[ -n "${RAMPART_BIN:-}" || "${SKIP_BUILD:-0}" == 1 ]] || bench_require cargo
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}
