# tests/lib.sh: what the shell tests share (sourced, after `set -u`): a
# temporary directory removed on exit, pass/fail counting, and reading HDF5
# files with h5dump.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
# finish NAME: the summary line; status 0 only when nothing failed.
finish() { echo "$1: $passed passed, $failed failed"; [ "$failed" -eq 0 ]; }
# Skips the test (status 77) where h5dump (hdf5-tools) is missing.
require_h5dump() { command -v h5dump >/dev/null || { echo "h5dump not installed (hdf5-tools); skipping"; exit 77; }; }
# attr FILE PATH: an attribute's first value; data FILE DATASET: its DATA
# block; values FILE DATASET: one value per line (numbers and strings).
attr() { h5dump -a "$2" "$1" 2>/dev/null | sed -n 's/^ *(0): *//p' | head -1; }
data() { h5dump -d "$2" -m '%.9g' "$1" 2>/dev/null | sed -n '/DATA {/,/}/p'; }
values() { data "$1" "$2" | sed 's/([0-9,]*)://g' | tr -s ' ,' '\n' | grep -E '^-?([0-9]|nan|inf|")'; }
# wait_for REGEX FILE PID: until FILE has a line matching REGEX (0), or PID
# has ended or a minute has passed (1).
wait_for() {
  local pattern=$1 file=$2 pid=$3
  for _ in $(seq 1200); do
    grep -qE "$pattern" "$file" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
