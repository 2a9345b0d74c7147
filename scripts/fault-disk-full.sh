#!/usr/bin/env bash
# Fault: the data directory's filesystem fills up. Runs the release server with its data
# dir on a small tmpfs, fills the filesystem, and checks that the server degrades cleanly.
#
# What it does (root is needed to mount the tmpfs; everything is on loopback):
#   1. cargo build --release -p rampart-cli (once; SKIP_BUILD=1 to reuse the binary);
#   2. mounts a TMPFS_MB (16) MiB tmpfs in a temp dir and starts `rampart serve` on a free
#      127.0.0.1 port with its data dir there (the log stays off the tmpfs);
#   3. loads 20 flags + 2 segments, the flag `probe` for admin writes, and the flag
#      `checkout` with a rollout of `on` (steps 50%, 100%, soak 1h) fed with events for the
#      whole run (wrk + bench-events.lua, ~5 batches of 500/s), so the controller saves
#      health windows every second;
#   4. fills the filesystem (dd until ENOSPC) and then sends admin writes: PUTs of `probe`
#      with a WRITE_KIB (32) KiB description, until FAIL_STREAK (5) fail in a row or
#      MAX_WRITES (200) were sent; then a kill-switch toggle and a rollout pause;
#   5. while it is full: the server is alive, /healthz answers, OFREP single and bulk
#      evaluations answer 200 at the last committed revision, `GET /v1/flags/probe` shows
#      the last committed description, events are still accepted; the controller keeps
#      ticking for TICKS_WHILE_FULL (3) s;
#   6. frees the space (removes the filler) and writes again;
#   7. checks nothing was half-written: the revision rose by exactly the writes answered
#      200, the ledger grew by exactly one entry per committed change and verifies, the
#      rollout's saved health windows have no gap (the ones that could not be saved while
#      full were saved later); then restarts the server on the same data dir (start-up
#      integrity check included) and checks it serves the same revision.
# Verdict (exit 1 on FAIL): at least one write refused while full; every refused write
# answered 507 STORAGE_FULL or 503 STORAGE_UNAVAILABLE with a message saying the data
# directory is full / cannot be written, never 500; reads and events kept working at the
# last committed revision; the server stayed up; writes resumed after freeing; revision,
# ledger and health windows consistent; the restart serves the same revision.
#
# Run:   sudo scripts/fault-disk-full.sh        (root: mount/umount)
# Env:   TMPFS_MB (16), WRITE_KIB (32), MAX_WRITES (200), FAIL_STREAK (5),
#        TICKS_WHILE_FULL s (3), plus RAMPART_BIN, SKIP_BUILD=1, BENCH_LOG=1 (see
#        bench-lib.sh).
# Needs: root, cargo, curl, jq, wrk, python3, mount, dd.
set -euo pipefail

# shellcheck source=scripts/bench-lib.sh
source "$(dirname "$0")/bench-lib.sh"
bench_args "$@"

TMPFS_MB="${TMPFS_MB:-16}"
WRITE_KIB="${WRITE_KIB:-32}"
MAX_WRITES="${MAX_WRITES:-200}"
FAIL_STREAK="${FAIL_STREAK:-5}"
TICKS_WHILE_FULL="${TICKS_WHILE_FULL:-3}"
for name in TMPFS_MB WRITE_KIB MAX_WRITES FAIL_STREAK TICKS_WHILE_FULL; do
    [[ "${!name}" =~ ^[0-9]+$ ]] || { echo "$name must be a whole number, got '${!name}'" >&2; exit 2; }
done
((TMPFS_MB >= 4 && TMPFS_MB <= 1024)) || { echo "TMPFS_MB must be 4..1024" >&2; exit 2; }
((WRITE_KIB >= 1 && WRITE_KIB <= 512)) || { echo "WRITE_KIB must be 1..512 (the body limit is 1 MiB)" >&2; exit 2; }
((MAX_WRITES >= 1 && MAX_WRITES <= 10000)) || { echo "MAX_WRITES must be 1..10000" >&2; exit 2; }
((FAIL_STREAK >= 1 && TICKS_WHILE_FULL <= 60)) || { echo "FAIL_STREAK >= 1, TICKS_WHILE_FULL <= 60" >&2; exit 2; }
[[ "$(id -u)" == 0 ]] || { echo "this script mounts a tmpfs: run it as root" >&2; exit 2; }
bench_require curl jq wrk awk python3 mount umount dd
[[ -n "${RAMPART_BIN:-}" || "${SKIP_BUILD:-0}" == 1 ]] || bench_require cargo

MNT=""
EVENTS_PID=""
unmount() {
    if [[ -n "$EVENTS_PID" ]]; then
        kill -TERM "$EVENTS_PID" 2>/dev/null || true
        wait "$EVENTS_PID" 2>/dev/null || true
    fi
    if [[ -n "$MNT" ]] && mountpoint -q "$MNT"; then
        umount "$MNT" || bench_log "warning: could not unmount $MNT"
    fi
}
BENCH_CLEANUP_HOOK=unmount
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

verdict=PASS
checks=""
check() { # NAME MEASURED EXPECTED OK(0/1)
    local status=PASS
    if [[ "$4" != 1 ]]; then status=FAIL; verdict=FAIL; fi
    checks+="| $1 | $2 | $3 | $status |"$'\n'
    bench_log "check: $1: $2 -> $status"
}

# curl wrapper: METHOD PATH [BODY]; prints "CODE BODY" (the body on one line).
call() {
    local method=$1 path=$2 body=${3:-} out="$BENCH_TMP/call.out" code
    local -a data=()
    [[ -z "$body" ]] || data=(--data-binary "@$body")
    code="$(curl -sS --max-time 10 -o "$out" -w '%{http_code}' -X "$method" \
        -H 'Content-Type: application/json' -H 'X-Rampart-Actor: fault' \
        "${data[@]+"${data[@]}"}" "$BENCH_URL$path" 2>/dev/null)" || code=000
    printf '%s %s\n' "$code" "$(tr '\n' ' ' <"$out" 2>/dev/null | head -c 2000)"
}
json_file() { # writes $2 to a temp file, prints its path
    printf '%s' "$2" >"$BENCH_TMP/$1.json"
    printf '%s' "$BENCH_TMP/$1.json"
}
revision() { curl -fsS --max-time 5 "$BENCH_URL/healthz" | jq -r '.revision'; }
ledger_seq() { curl -fsS --max-time 5 "$BENCH_URL/v1/ledger/head" | jq -r '.seq // 0'; }
avail_kib() { df --output=avail -k "$MNT" | tail -n 1 | tr -d ' '; }
probe_body() { # DESCRIPTION-SEED
    jq -nc --arg d "$(head -c $((WRITE_KIB * 1024)) </dev/zero | tr '\0' 'x')-$1" \
        '{key: "probe", kind: "boolean", variants: {on: true, off: false}, default_variant: "off", description: $d}'
}

bench_build
bench_make_tmp
MNT="$BENCH_TMP/mnt"
mkdir -p "$MNT"
mount -t tmpfs -o "size=${TMPFS_MB}m,mode=0700" rampart-fault-disk-full "$MNT" \
    || bench_die "cannot mount a tmpfs on $MNT"
BENCH_DATA_DIR="$MNT/data"
bench_start_server
bench_load_flags 20 20
[[ "$(call POST /v1/flags "$(json_file probe "$(probe_body 0)")" | cut -d' ' -f1)" == 201 ]] \
    || bench_die "cannot create the flag probe"
[[ "$(call POST /v1/flags "$(json_file checkout '{"key":"checkout","kind":"boolean","variants":{"on":true,"off":false},"default_variant":"off"}')" | cut -d' ' -f1)" == 201 ]] \
    || bench_die "cannot create the flag checkout"
answer="$(call POST /v1/rollouts "$(json_file rollout '{"flag":"checkout","candidate":"on","strategy":"custom","steps":[{"percent":50},{"percent":100}],"soak":"1h"}')")"
[[ "${answer%% *}" == 201 ]] || bench_die "cannot start the rollout: $answer"
rollout_id="$(jq -r '.id' <<<"${answer#* }")"
wrk -t1 -c1 -d300s --timeout 5s -s "$BENCH_SCRIPTS_DIR/bench-events.lua" "$BENCH_URL" -- \
    /v1/events 0 0 200 >"$BENCH_TMP/wrk-events.txt" 2>&1 &
EVENTS_PID=$!
sleep 3
bench_log "set up: 22 flags, rollout $rollout_id fed with events; data dir on a ${TMPFS_MB} MiB tmpfs ($(avail_kib) KiB free)"

rev_before="$(revision)"
seq_before="$(ledger_seq)"

# Fill the filesystem: dd stops at ENOSPC (bounded by the tmpfs size).
dd if=/dev/zero of="$MNT/filler" bs=64k status=none 2>/dev/null || true
dd if=/dev/zero of="$MNT/filler-tail" bs=4k status=none 2>/dev/null || true
bench_log "filled: $(avail_kib) KiB free (filler $(du -k "$MNT/filler" | cut -f1) KiB)"

ok_writes=0
ok_puts=0
refused=0
bad_refusals=0
streak=0
sent=0
first_refusal=""
codes=""
last_ok_description="-0"
last_ok_revision="$rev_before"
for i in $(seq 1 "$MAX_WRITES"); do
    sent=$i
    answer="$(call PUT /v1/flags/probe "$(json_file put "$(probe_body "$i")")")"
    code="${answer%% *}"
    codes+="$code "
    if [[ "$code" == 200 ]]; then
        ok_writes=$((ok_writes + 1))
        ok_puts=$((ok_puts + 1))
        streak=0
        last_ok_description="-$i"
        last_ok_revision="$(jq -r '.meta.revision // .revision // empty' <<<"${answer#* }" 2>/dev/null || true)"
        [[ -n "$last_ok_revision" ]] || last_ok_revision="$(revision)"
        continue
    fi
    refused=$((refused + 1))
    streak=$((streak + 1))
    [[ -n "$first_refusal" ]] || first_refusal="$answer"
    error_code="$(jq -r '.error.code // empty' <<<"${answer#* }" 2>/dev/null || true)"
    message="$(jq -r '.error.message // empty' <<<"${answer#* }" 2>/dev/null || true)"
    if ! { [[ "$code" == 507 && "$error_code" == STORAGE_FULL && "$message" == *"data directory is full"* ]] \
        || [[ "$code" == 503 && "$error_code" == STORAGE_UNAVAILABLE && "$message" == *"data directory cannot be"* ]]; }; then
        bad_refusals=$((bad_refusals + 1))
        bench_log "write $i refused unclearly: $answer"
    fi
    ((streak < FAIL_STREAK)) || break
done
bench_log "while full: $sent writes sent, $ok_writes answered 200 (into space SQLite already had), $refused refused; codes: $(tr ' ' '\n' <<<"$codes" | grep -v '^$' | sort | uniq -c | awk '{printf "%s×%s ", $1, $2}')"
bench_log "first refusal: $first_refusal"
toggle="$(call POST /v1/flags/bench-0001/disable)"
pause="$(call POST "/v1/rollouts/$rollout_id/pause")"
bench_log "kill switch while full: ${toggle:0:300}"
bench_log "rollout pause while full: ${pause:0:300}"
for answer in "$toggle" "$pause"; do
    code="${answer%% *}"
    if [[ "$code" == 200 ]]; then
        ok_writes=$((ok_writes + 1))
    else
        refused=$((refused + 1))
        [[ "$code" == 507 || "$code" == 503 ]] || bad_refusals=$((bad_refusals + 1))
    fi
done
toggle_code="${toggle%% *}"
pause_code="${pause%% *}"

check "writes refused while full" "$refused of $((sent + 2)) ($ok_writes answered 200 first, into space SQLite already had)" "≥ 1" "$((refused >= 1 ? 1 : 0))"
check "refusals are 507 STORAGE_FULL / 503 STORAGE_UNAVAILABLE with a clear message" \
    "$((refused - bad_refusals)) of $refused; first: \`$(cut -c1-220 <<<"$first_refusal")\`" "all" "$((bad_refusals == 0 ? 1 : 0))"

# Reads while full.
sleep "$TICKS_WHILE_FULL"
alive=0
kill -0 "$BENCH_PID" 2>/dev/null && alive=1
served_rev="$(revision 2>/dev/null || echo none)"
single="$(curl -sS --max-time 5 -o "$BENCH_TMP/single.out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data-binary "$(bench_sample_context)" "$BENCH_URL/ofrep/v1/evaluate/flags/probe" || echo 000)"
single_rev="$(jq -r '.metadata.revision // empty' "$BENCH_TMP/single.out" 2>/dev/null || true)"
bulk="$(curl -sS --max-time 5 -o "$BENCH_TMP/bulk.out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data-binary "$(bench_sample_context)" "$BENCH_URL/ofrep/v1/evaluate/flags" || echo 000)"
bulk_n="$(jq '.flags | length' "$BENCH_TMP/bulk.out" 2>/dev/null || echo 0)"
description_tail="$(curl -fsS --max-time 5 "$BENCH_URL/v1/flags/probe" | jq -r '.description // .flag.description // .spec.description // empty' | grep -o -- '-[0-9]*$' || true)"
readyz="$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "$BENCH_URL/readyz" || echo 000)"
events="$(curl -sS --max-time 5 -o "$BENCH_TMP/events.out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data-binary '[{"flag":"checkout","variant":"on","outcome":"success","latency_ms":5},{"flag":"checkout","variant":"off","outcome":"success","latency_ms":5}]' \
    "$BENCH_URL/v1/events" || echo 000)"
health_warnings="$(grep -c 'cannot save health windows' "$BENCH_TMP/server.log" || true)"
expected_rev=$((rev_before + ok_writes))
check "server stays up" "$([[ $alive == 1 ]] && echo alive || echo exited)" "alive" "$alive"
check "OFREP reads serve the last committed config" \
    "/healthz rev $served_rev, single $single at rev ${single_rev:-?}, bulk $bulk ($bulk_n flags), probe description ending ${description_tail:-?} (last write answered 200: ${last_ok_description})" \
    "200s at rev $expected_rev" \
    "$([[ "$served_rev" == "$expected_rev" && "$single" == 200 && "$single_rev" == "$expected_rev" && "$bulk" == 200 && "$bulk_n" -ge 22 && "$description_tail" == "$last_ok_description" ]] && echo 1 || echo 0)"
check "events still accepted" "$events $(head -c 120 "$BENCH_TMP/events.out")" "200" "$([[ "$events" == 200 ]] && echo 1 || echo 0)"
bench_log "while full: /readyz $readyz; 'cannot save health windows' warnings in the log: $health_warnings"

# Free the space and write again.
rm -f -- "$MNT/filler" "$MNT/filler-tail"
bench_log "freed: $(avail_kib) KiB free"
resumed=""
for attempt in 1 2 3; do
    answer="$(call PUT /v1/flags/probe "$(json_file put "$(probe_body "after-$attempt")")")"
    if [[ "${answer%% *}" == 200 ]]; then resumed=$attempt; break; fi
    bench_log "write after freeing, attempt $attempt: ${answer:0:300}"
    sleep 1
done
# One kill-switch change: undo the toggle if it went through while full, else make it now.
if [[ "$toggle_code" == 200 ]]; then
    after_toggle="$(call POST /v1/flags/bench-0001/enable)"
else
    after_toggle="$(call POST /v1/flags/bench-0001/disable)"
fi
check "writes resume after freeing" "PUT answered 200 at attempt ${resumed:-never}; kill switch ${after_toggle%% *}" "200" \
    "$([[ -n "$resumed" && "${after_toggle%% *}" == 200 ]] && echo 1 || echo 0)"
post_writes=2
sleep "$TICKS_WHILE_FULL"
# wrk prints its summary when interrupted.
kill -INT "$EVENTS_PID" 2>/dev/null || true
wait "$EVENTS_PID" 2>/dev/null || true
EVENTS_PID=""
events_result="$(grep '^RESULT ' "$BENCH_TMP/wrk-events.txt" | tail -n 1 || true)"
if [[ -n "$events_result" ]]; then
    events_result="$(bench_field "$events_result" requests) batches of 500, non-2xx $(bench_field "$events_result" non2xx), bad answers $(bench_field "$events_result" bad), unjudged $(bench_field "$events_result" unjudged), socket errors $(($(bench_field "$events_result" connect) + $(bench_field "$events_result" read) + $(bench_field "$events_result" write) + $(bench_field "$events_result" timeout)))"
fi

rev_after="$(revision)"
seq_after="$(ledger_seq)"
verify="$(curl -fsS --max-time 30 -X POST -H 'Content-Type: application/json' -d '{}' "$BENCH_URL/v1/ledger/verify" || echo '{}')"
check "revision: one per committed write, none for refused ones" "$rev_before → $rev_after" "$rev_before + $ok_writes + $post_writes = $((rev_before + ok_writes + post_writes))" \
    "$((rev_after == rev_before + ok_writes + post_writes ? 1 : 0))"
# Every entry since the fill, by subject: one per committed PUT of probe, one per committed
# toggle of bench-0001, and the rollout's only if its pause was committed.
curl -fsS --max-time 10 "$BENCH_URL/v1/ledger?after=$seq_before&limit=1000" >"$BENCH_TMP/ledger.json" \
    || bench_die "GET /v1/ledger failed"
probe_entries="$(jq '[.entries[] | select(.subject | test("(^|[:/ ])probe$"))] | length' "$BENCH_TMP/ledger.json")"
toggle_entries="$(jq '[.entries[] | select(.subject | test("(^|[:/ ])bench-0001$"))] | length' "$BENCH_TMP/ledger.json")"
other_entries="$(jq '[.entries[] | select(.subject | test("(^|[:/ ])(probe|bench-0001)$") | not)] | length' "$BENCH_TMP/ledger.json")"
subjects="$(jq -r '[.entries[] | "\(.action) \(.subject)"] | group_by(.) | map("\(length)× \(.[0])") | join(", ")' "$BENCH_TMP/ledger.json")"
bench_log "ledger entries since the fill: $subjects"
want_toggle=$(( (toggle_code == 200 ? 1 : 0) + 1 ))
ledger_ok=0
if [[ "$probe_entries" == $((ok_puts + 1)) && "$toggle_entries" == "$want_toggle" \
    && "$(jq -r '.ok' <<<"$verify")" == true ]] && { [[ "$pause_code" == 200 ]] || [[ "$other_entries" == 0 ]]; }; then
    ledger_ok=1
fi
check "ledger: one entry per committed change, chain verifies" \
    "seq $seq_before → $seq_after: probe $probe_entries, bench-0001 $toggle_entries, other $other_entries; verify ok=$(jq -r '.ok' <<<"$verify") ($(jq -r '.entries' <<<"$verify") entries)" \
    "probe $((ok_puts + 1)), bench-0001 $want_toggle, other 0$([[ "$pause_code" == 200 ]] && echo " + the pause's")" "$ledger_ok"

# Restart on the same data dir: the start-up integrity check runs; the revision is the same.
mv "$BENCH_TMP/server.log" "$BENCH_TMP/server-1.log"
bench_stop_server || bench_die "the server did not stop cleanly"
health="$(python3 - "$BENCH_DATA_DIR/rampart.db" "$rollout_id" <<'PY'
import sqlite3, sys
conn = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
rows = conn.execute(
    "SELECT arm, count(*), min(window), max(window) FROM rollout_health WHERE rollout_id = ? GROUP BY arm",
    (int(sys.argv[2]),)).fetchall()
gaps = sum(hi - lo + 1 - n for (_, n, lo, hi) in rows)
print(f"rows={sum(r[1] for r in rows)} gaps={gaps} arms={len(rows)}")
PY
)"
check "health windows: none lost while full (saved later, no gap)" "$health; $health_warnings save failures logged while full" "gaps=0, 2 arms" \
    "$([[ "$health" == *"gaps=0 arms=2" ]] && echo 1 || echo 0)"
bench_start_server
grep -o 'database integrity check (quick_check) passed.*' "$BENCH_TMP/server.log" | head -n 1 | sed 's/^/[restart] /' >&2 || true
rev_restarted="$(revision)"
check "restart on the same data dir" "serves rev $rev_restarted" "rev $rev_after" "$((rev_restarted == rev_after ? 1 : 0))"
cat "$BENCH_TMP/server-1.log" >>"$BENCH_TMP/server.log"

cat <<EOF

### Disk full (scripts/fault-disk-full.sh)

\`sudo scripts/fault-disk-full.sh\` — data dir on a ${TMPFS_MB} MiB tmpfs filled with dd; admin writes are PUTs of a
flag with a ${WRITE_KIB} KiB description; a rollout is fed ~5 event batches/s throughout. While full: /readyz $readyz,
kill switch $toggle_code, rollout pause $pause_code; events load: ${events_result:-no result}.

| check | measured | expected | result |
|---|---|---|---|
${checks}
$(bench_machine_line)

**Disk full: $verdict**
EOF
[[ "$verdict" == PASS ]] || exit 1
