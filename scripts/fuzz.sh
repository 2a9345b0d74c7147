#!/usr/bin/env bash
# Coverage-guided fuzzing of Rampart's input handling with AFL++ (afl.rs). See fuzz/README.md.
set -euo pipefail

TARGETS=(flag document plan context_eval events ledger_canonical)

usage() {
  cat <<EOF
Usage: scripts/fuzz.sh [options] [TARGET|all]...

Builds the fuzz targets in fuzz/ with \`cargo afl build\` (AFL++ instrumentation on the
stable toolchain) and runs each named target (default: all) under afl-fuzz for a bounded
time, one after the other, starting from its seed corpus in fuzz/corpus/TARGET/.
Per target it prints executions, exec/s, coverage (edges found / edges instrumented, and
corpus paths), crashes and hangs. Exits 1 if any target found a crash (hangs are reported
but do not fail the run), 2 on usage errors.

Targets: ${TARGETS[*]}

Options:
  -s, --seconds N    fuzz each target for N seconds (default: 300)
  -o, --out DIR      AFL++ output directory root (default: fuzz/out); each target writes
                     to DIR/TARGET, and crashes land in DIR/TARGET/default/crashes/
  -t, --timeout MS   per-input time limit before an input counts as a hang (default: 1000)
      --resume       continue from DIR/TARGET's queue instead of the seed corpus
      --no-build     use the binaries already built in fuzz/target/release
      --replay       do not fuzz: replay the committed corpus and regressions through every
                     target, and a fixed stream of structure-aware random inputs, as a plain
                     stable \`cargo test\` (what CI runs)
  -h, --help         show this help

Setup (once per machine; see fuzz/README.md):
  cargo install cargo-afl --version 0.18.2 --locked   # builds AFL++ 4.40c for this toolchain
  cargo afl config --build                              # only if the install did not build it

Triage a crash:
  cargo run --manifest-path fuzz/Cargo.toml --bin replay -- TARGET fuzz/out/TARGET/default/crashes/id:*
EOF
}

root="$(cd "$(dirname "$0")/.." && pwd)"
fuzz_dir="$root/fuzz"
seconds=300
out="$fuzz_dir/out"
timeout_ms=1000
resume=false
build=true
replay=false
selected=()

while [[ $# -gt 0 ]]; do
  case "$1" in
    -s | --seconds) seconds="${2:?--seconds needs a value}"; shift 2 ;;
    -o | --out) out="${2:?--out needs a value}"; shift 2 ;;
    -t | --timeout) timeout_ms="${2:?--timeout needs a value}"; shift 2 ;;
    --resume) resume=true; shift ;;
    --no-build) build=false; shift ;;
    --replay) replay=true; shift ;;
    -h | --help) usage; exit 0 ;;
    all) selected+=("${TARGETS[@]}"); shift ;;
    -*) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    *)
      if [[ " ${TARGETS[*]} " != *" $1 "* ]]; then
        echo "unknown target: $1 (targets: ${TARGETS[*]})" >&2
        exit 2
      fi
      selected+=("$1"); shift ;;
  esac
done
[[ ${#selected[@]} -gt 0 ]] || selected=("${TARGETS[@]}")
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ && "$timeout_ms" =~ ^[1-9][0-9]*$ ]]; then
  echo "--seconds and --timeout take positive whole numbers" >&2
  exit 2
fi

if $replay; then
  # As CI does: the root's target dir, so the workspace's debug builds are reused.
  CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}" \
    exec cargo test --manifest-path "$fuzz_dir/Cargo.toml"
fi

if ! cargo afl --version >/dev/null 2>&1; then
  echo "cargo-afl is not installed: cargo install cargo-afl --version 0.18.2 --locked" >&2
  exit 2
fi

if $build; then
  echo "== building the AFL++ targets (cargo afl build --release)"
  (cd "$fuzz_dir" && cargo afl build --release --features afl --bins)
fi

# afl-fuzz refuses to start on some machine settings it cannot change here (no root access
# to /proc/sys in a container, CPU frequency governors); these make it go on regardless.
export AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
# The machine is shared: don't pin a core, and don't ask for a fresh one.
export AFL_NO_AFFINITY=1
export AFL_NO_STARTUP_CALIBRATION=1

afl_stat() { # afl_stat FILE KEY: one value of fuzzer_stats
  sed -n "s/^$2 *: *//p" "$1" | head -n1
}

crashed=0
summary=()
for target in "${selected[@]}"; do
  binary="$fuzz_dir/target/release/$target"
  if [[ ! -x "$binary" ]]; then
    echo "no binary $binary: build first (drop --no-build)" >&2
    exit 2
  fi
  target_out="$out/$target"
  mkdir -p "$target_out"
  input=("-i" "$fuzz_dir/corpus/$target")
  if $resume && [[ -d "$target_out/default/queue" ]]; then
    input=("-i" "-")
  else
    rm -rf "$target_out/default"
  fi
  dict=()
  [[ -f "$fuzz_dir/dict/$target.dict" ]] && dict=("-x" "$fuzz_dir/dict/$target.dict")
  echo "== fuzzing $target for ${seconds}s (output: $target_out)"
  # -V bounds the run; timeout(1) backs it up should afl-fuzz not stop by itself.
  status=0
  timeout --kill-after=30 $((seconds + 120)) \
    cargo afl fuzz "${input[@]}" -o "$target_out" -V "$seconds" -t "$timeout_ms" "${dict[@]}" \
    -- "$binary" >"$target_out/afl.log" 2>&1 || status=$?
  stats="$target_out/default/fuzzer_stats"
  if [[ ! -f "$stats" ]]; then
    echo "afl-fuzz did not run $target (exit $status); the end of its log:" >&2
    tail -n 30 "$target_out/afl.log" >&2
    exit 1
  fi
  crashes="$(afl_stat "$stats" saved_crashes)"
  hangs="$(afl_stat "$stats" saved_hangs)"
  line="$(printf '%-17s execs %-10s exec/s %-8s edges %s/%s (%s)  paths %-5s stability %-7s crashes %-3s hangs %s' \
    "$target" "$(afl_stat "$stats" execs_done)" "$(afl_stat "$stats" execs_per_sec)" \
    "$(afl_stat "$stats" edges_found)" "$(afl_stat "$stats" total_edges)" "$(afl_stat "$stats" bitmap_cvg)" \
    "$(afl_stat "$stats" corpus_count)" "$(afl_stat "$stats" stability)" "$crashes" "$hangs")"
  echo "$line"
  summary+=("$line")
  if [[ "${crashes:-0}" != 0 ]]; then
    crashed=1
    echo "   crashes: $target_out/default/crashes/ (replay: cargo run --manifest-path fuzz/Cargo.toml --bin replay -- $target FILE)"
  fi
  if [[ "${hangs:-0}" != 0 ]]; then
    echo "   hangs: $target_out/default/hangs/"
  fi
done

echo "== summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
exit "$crashed"
