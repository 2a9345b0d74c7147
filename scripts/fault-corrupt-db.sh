#!/usr/bin/env bash
# Fault: a damaged SQLite file. Corrupts a populated data dir's rampart.db in several ways
# and checks that `rampart serve` refuses to start on each: a clear message (what is wrong,
# which file, what to do: restore from a backup), a non-zero exit, no panic, never serving,
# nothing written to the damaged file.
#
# What it does (loopback only; each start attempt is bounded by START_LIMIT s):
#   1. cargo build --release -p rampart-cli (once; SKIP_BUILD=1 to reuse the binary);
#   2. populates a data dir through a server on a free 127.0.0.1 port: 200 flags + 2
#      segments, a rollout fed with events (health windows), 200 kill-switch toggles (ledger
#      entries); stops it cleanly, so the WAL is checkpointed into rampart.db, and keeps
#      that dir as the pristine copy;
#   3. control: a copy of the pristine dir starts and serves (and logs how long its
#      start-up integrity check took);
#   4. for each case, a fresh copy, damaged with python3, then `rampart serve` on it:
#        truncate-half   the file cut to half its length (a partial copy or restore)
#        truncate-zero   the file cut to 0 bytes (SQLite alone would take it for a new,
#                        empty database and write a fresh schema over it)
#        header          the first 100 bytes (SQLite's header) overwritten
#        mid-page        8 bytes flipped in a table leaf page in the middle of the file, at
#                        the cell nearest the page's middle (its size, rowid and record
#                        header): SQLite opens such a file without noticing
#      each must exit non-zero (not 101, a panic; not killed by the time limit, i.e. it
#      served) within START_LIMIT s, print a message with "damaged", the file's path and
#      "backup", never log that it is serving, and leave the file's bytes unchanged;
#   5. informational, not part of the verdict: one character changed inside a ledger
#      entry's text (its actor). Structurally the file is fine, so the server starts; the
#      ledger's hash chain is what catches it (POST /v1/ledger/verify names the entry).
#   6. MEASURE_CHECK=1 also measures the start-up check's cost on a data dir with 1,000
#      flags and 100,000 ledger entries (100 rounds of /v1/apply changing every flag; a few
#      minutes): database size, the check's time as the server logs it, and the time from
#      start to /healthz answering, each the median of 3 starts (warm page cache).
# Prints a markdown table for BENCHMARKS.md; exits 1 if any case was not refused cleanly.
#
# Run:   scripts/fault-corrupt-db.sh
#        MEASURE_CHECK=1 scripts/fault-corrupt-db.sh
# Env:   START_LIMIT s (30), MEASURE_CHECK (0), plus RAMPART_BIN, SKIP_BUILD=1, BENCH_LOG=1
#        (see bench-lib.sh).
# Needs: cargo, curl, jq, python3, timeout, sha256sum.
set -euo pipefail

# shellcheck source=scripts/bench-lib.sh
source "$(dirname "$0")/bench-lib.sh"
bench_args "$@"

START_LIMIT="${START_LIMIT:-30}"
MEASURE_CHECK="${MEASURE_CHECK:-0}"
[[ "$START_LIMIT" =~ ^[0-9]+$ ]] && ((START_LIMIT >= 5 && START_LIMIT <= 300)) \
    || { echo "START_LIMIT must be 5..300 seconds" >&2; exit 2; }
[[ "$MEASURE_CHECK" == 0 || "$MEASURE_CHECK" == 1 ]] || { echo "MEASURE_CHECK must be 0 or 1" >&2; exit 2; }
bench_require curl jq python3 timeout sha256sum awk
[[ -n "${RAMPART_BIN:-}" || "${SKIP_BUILD:-0}" == 1 ]] || bench_require cargo
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

post() { # PATH BODY [ACTOR] -> dies unless 200/201
    local code
    code="$(curl -sS --max-time 30 -o "$BENCH_TMP/post.out" -w '%{http_code}' -X POST \
        -H 'Content-Type: application/json' -H "X-Rampart-Actor: ${3:-fault}" \
        --data-binary "$2" "$BENCH_URL$1")" || bench_die "POST $1 failed"
    [[ "$code" == 200 || "$code" == 201 ]] || bench_die "POST $1 answered $code: $(head -c 400 "$BENCH_TMP/post.out")"
}

# Damages DB in the way named by MODE; prints what it did.
damage() {
    python3 - "$1" "$2" <<'PY'
import os, sys
path, mode = sys.argv[1], sys.argv[2]
data = bytearray(open(path, "rb").read())
if mode == "truncate-half":
    os.truncate(path, len(data) // 2)
    print(f"cut from {len(data)} to {len(data) // 2} bytes")
elif mode == "truncate-zero":
    os.truncate(path, 0)
    print(f"cut from {len(data)} to 0 bytes")
elif mode == "header":
    data[:100] = b"\xa5" * 100
    open(path, "wb").write(data)
    print("bytes 0-99 overwritten with 0xA5")
elif mode == "mid-page":
    size = int.from_bytes(data[16:18], "big")
    size = 65536 if size == 1 else size
    pages = len(data) // size
    middle = pages // 2
    for distance in range(pages):
        for number in (middle + distance, middle - distance):
            if not 2 <= number <= pages:
                continue
            start = (number - 1) * size
            cells = int.from_bytes(data[start + 3:start + 5], "big")
            if data[start] != 0x0D or cells < 4:
                continue
            offsets = [int.from_bytes(data[start + 8 + 2 * i:start + 10 + 2 * i], "big") for i in range(cells)]
            cell = min(offsets, key=lambda o: abs(o - size // 2))
            for i in range(8):
                data[start + cell + i] ^= 0xFF
            open(path, "wb").write(data)
            print(f"8 bytes flipped at offset {cell} of page {number} of {pages} (a table leaf with {cells} cells)")
            sys.exit(0)
    sys.exit("no table leaf page with 4 or more cells found")
elif mode == "ledger-text":
    marker = b"fault-marker-actor"
    at = data.find(marker)
    if at < 0:
        sys.exit("marker not found")
    count = 0
    while at >= 0:
        data[at] = ord("F")
        count += 1
        at = data.find(marker, at + 1)
    open(path, "wb").write(data)
    print(f"'f' -> 'F' in {count} copies of the actor name (ledger, flag and history rows)")
else:
    sys.exit(f"unknown mode {mode}")
PY
}

bench_build
bench_start_server
bench_load_flags 200 100
post /v1/flags '{"key":"checkout","kind":"boolean","variants":{"on":true,"off":false},"default_variant":"off"}'
post /v1/rollouts '{"flag":"checkout","candidate":"on","strategy":"custom","steps":[{"percent":50},{"percent":100}],"soak":"1h"}'
events="$(jq -nc '[range(200) | {flag: "checkout", variant: (if . % 2 == 0 then "on" else "off" end), outcome: "success", latency_ms: 5}]')"
for i in $(seq 1 200); do
    flag="$(printf 'bench-%04d' $((i % 200)))"
    action=$([[ $((i / 200 % 2)) == 0 ]] && echo disable || echo enable)
    post "/v1/flags/$flag/$action" '' "$([[ $i == 100 ]] && echo fault-marker-actor || echo fault)"
    ((i % 50)) || post /v1/events "$events"
done
sleep 2
revision="$(curl -fsS --max-time 5 "$BENCH_URL/healthz" | jq -r '.revision')"
head_seq="$(curl -fsS --max-time 5 "$BENCH_URL/v1/ledger/head" | jq -r '.seq')"
bench_stop_server || bench_die "the populating server did not stop cleanly"
PRISTINE="$BENCH_TMP/pristine"
mv "$BENCH_TMP/data" "$PRISTINE"
# A stopped server leaves its WAL beside the file (it does not close its connections), and
# SQLite reads the newest pages from there: checkpoint it into rampart.db first, as a backup
# or a restore would have it, so the damage below is what SQLite reads.
wal_left=no
if [[ -e "$PRISTINE/rampart.db-wal" ]]; then
    wal_left="yes ($(stat -c %s "$PRISTINE/rampart.db-wal") bytes)"
    python3 - "$PRISTINE/rampart.db" <<'PY' || bench_die "cannot checkpoint the WAL"
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
conn.close()
PY
    [[ ! -e "$PRISTINE/rampart.db-wal" ]] || bench_die "the WAL is still there after a checkpoint"
fi
bench_log "WAL left by the stopped server: $wal_left (checkpointed into rampart.db)"
db_bytes="$(stat -c %s "$PRISTINE/rampart.db")"
bench_log "populated: revision $revision, $head_seq ledger entries, rampart.db $db_bytes bytes"

# Control: an undamaged copy starts and serves.
cp -a "$PRISTINE" "$BENCH_TMP/control"
BENCH_DATA_DIR="$BENCH_TMP/control"
bench_start_server
control_rev="$(curl -fsS --max-time 5 "$BENCH_URL/healthz" | jq -r '.revision')"
control_check="$(grep -o 'elapsed_ms=[0-9]*' "$BENCH_TMP/server.log" | head -n 1 | cut -d= -f2)"
bench_stop_server || true
unset BENCH_DATA_DIR
[[ "$control_rev" == "$revision" ]] || bench_die "the undamaged copy serves revision $control_rev, not $revision"
bench_log "control: the undamaged copy serves revision $control_rev (quick_check ${control_check:-?} ms)"

verdict=PASS
rows=""
for mode in truncate-half truncate-zero header mid-page; do
    dir="$BENCH_TMP/case-$mode"
    cp -a "$PRISTINE" "$dir"
    db="$dir/rampart.db"
    how="$(damage "$db" "$mode")" || bench_die "could not damage the file ($mode): $how"
    before="$(sha256sum "$db" | cut -d' ' -f1)"
    out="$BENCH_TMP/serve-$mode.txt"
    started=${EPOCHREALTIME//[!0-9]/}
    status=0
    NO_COLOR=1 timeout "$START_LIMIT" "$BENCH_BIN" serve --listen 127.0.0.1:0 --data-dir "$dir" --log info \
        >"$out" 2>&1 || status=$?
    took_ms=$(((${EPOCHREALTIME//[!0-9]/} - started) / 1000))
    after="$(sha256sum "$db" | cut -d' ' -f1)"
    message="$(grep -m1 '^error:' "$out" || tail -n 1 "$out")"
    problems=()
    ((status != 0)) || problems+=("exit 0")
    ((status != 124)) || problems+=("still running after ${START_LIMIT}s (it served)")
    ((status != 101)) || problems+=("panicked")
    ((status < 128)) || problems+=("killed by a signal ($status)")
    ! grep -q 'panicked' "$out" || problems+=("a panic in the output")
    ! grep -q 'rampart is serving' "$out" || problems+=("it logged that it was serving")
    [[ "$message" == *damaged* ]] || problems+=("no 'damaged'")
    [[ "$message" == *"$db"* ]] || problems+=("the file is not named")
    [[ "$message" == *backup* ]] || problems+=("no 'backup'")
    [[ "$before" == "$after" ]] || problems+=("the damaged file was written to")
    result=PASS
    if ((${#problems[@]} > 0)); then
        result="FAIL: $(IFS=';'; echo "${problems[*]}")"
        verdict=FAIL
    fi
    bench_log "$mode: $how; exit $status in ${took_ms} ms; $message -> $result"
    short="${message//$BENCH_TMP/\$TMP}"
    rows+="| $mode | $how | $status | $took_ms ms | \`${short:0:600}\` | $result |"$'\n'
done

# Informational: text inside a ledger entry changed. The server starts; verification names it.
dir="$BENCH_TMP/case-ledger-text"
cp -a "$PRISTINE" "$dir"
how="$(damage "$dir/rampart.db" ledger-text)" || bench_die "could not damage the ledger text: $how"
BENCH_DATA_DIR="$dir"
bench_start_server
verify="$(curl -fsS --max-time 30 -X POST -H 'Content-Type: application/json' -d '{}' "$BENCH_URL/v1/ledger/verify" || echo '{}')"
bench_stop_server || true
unset BENCH_DATA_DIR
ledger_text="$how: the server starts (quick_check sees a well-formed file); POST /v1/ledger/verify → ok=$(jq -r '.ok' <<<"$verify"), first bad $(jq -c '.first_bad | {seq, reason}' <<<"$verify")"
bench_log "ledger-text: $ledger_text"

measure_section=""
if [[ "$MEASURE_CHECK" == 1 ]]; then
    bench_log "measuring the start-up check on 1,000 flags and 100,000 ledger entries (100 rounds of 1,000 changes)"
    rm -rf -- "$BENCH_TMP/big"
    BENCH_DATA_DIR="$BENCH_TMP/big"
    bench_start_server
    body="$BENCH_TMP/big-apply.json"
    for round in $(seq 0 99); do
        for start in 0 250 500 750; do
            bench_document_json "$start" 250 "$(((round == 0 && start == 0) ? 1 : 0))" \
                | jq -c --arg r "$round" '.document.flags |= map(.description = "round \($r): " + .description)' >"$body"
            bench_apply "$body"
        done
        ((round % 20)) || bench_log "round $round: ledger head $(curl -fsS --max-time 5 "$BENCH_URL/v1/ledger/head" | jq -r '.seq')"
    done
    big_seq="$(curl -fsS --max-time 5 "$BENCH_URL/v1/ledger/head" | jq -r '.seq')"
    big_flags="$(curl -fsS --max-time 10 "$BENCH_URL/v1/snapshot" | jq '.flags | length')"
    bench_stop_server || true
    big_bytes="$(stat -c %s "$BENCH_TMP/big/rampart.db")"
    checks=() starts=()
    for attempt in 1 2 3; do
        mv "$BENCH_TMP/server.log" "$BENCH_TMP/server-big-$attempt.log" 2>/dev/null || true
        started=${EPOCHREALTIME//[!0-9]/}
        bench_start_server
        starts+=($(((${EPOCHREALTIME//[!0-9]/} - started) / 1000)))
        checks+=("$(grep -o 'elapsed_ms=[0-9]*' "$BENCH_TMP/server.log" | head -n 1 | cut -d= -f2)")
        bench_stop_server || true
        bench_log "start $attempt: quick_check ${checks[-1]} ms, /healthz after ${starts[-1]} ms"
    done
    unset BENCH_DATA_DIR
    measure_section="
Start-up check cost (\`MEASURE_CHECK=1\`): $big_flags flags, $(bench_thousands "$big_seq") ledger entries (and as many
history rows), rampart.db $(awk -v b="$big_bytes" 'BEGIN {printf "%.1f MiB", b / 1048576}'); median of 3 starts, warm page cache:

| measure | median | runs |
|---|---|---|
| \`PRAGMA quick_check\` at start-up (server log, elapsed_ms) | $(bench_median "${checks[@]}") ms | ${checks[*]} ms |
| \`rampart serve\` start → /healthz answers (check included) | $(bench_median "${starts[@]}") ms | ${starts[*]} ms |
"
fi

cat <<EOF

### Damaged database file (scripts/fault-corrupt-db.sh)

\`scripts/fault-corrupt-db.sh\` — a data dir with 201 flags, a rollout with saved health windows and $head_seq ledger
entries (rampart.db $(bench_thousands "$db_bytes") bytes; WAL left by the stopped server: $wal_left, checkpointed
with python3's sqlite3 first), copied and damaged per case, then
\`rampart serve\` on it (limit ${START_LIMIT} s). The undamaged copy starts and serves revision $control_rev (start-up
quick_check ${control_check:-?} ms).

| case | damage | exit | time to exit | message | result |
|---|---|---|---|---|---|
${rows}
Informational (not in the verdict), ledger-text: $ledger_text.
$measure_section
$(bench_machine_line)

**Damaged database file: $verdict**
EOF
[[ "$verdict" == PASS ]] || exit 1
