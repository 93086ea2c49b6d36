# tests/security/lib.sh: what the security scripts share (sourced after
# `set -u`, with P=posbench and H5EDIT=h5edit set): tests/lib.sh's temp dir
# and counting, a canary that injected commands would create, and checks that
# a command failed cleanly.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
# The canary: every payload that would run a command tries to create this
# file; it must never exist. Its path holds no quote, so payloads can embed it.
canary=$tmp/CANARY
canary_absent() { if [ -e "$canary" ]; then bad "$1: the canary exists: an injected command ran"; rm -f "$canary"; else ok; fi; }
# fails_cleanly NAME STATUS REGEX CMD...: CMD exits with STATUS (no signal, no
# sanitizer report, no hang past 60 s), its stderr's last line matches REGEX.
fails_cleanly() {
  local name=$1 want=$2 re=$3; shift 3
  local rc=0
  timeout 60 "$@" >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
  if [ "$rc" -ne "$want" ]; then bad "$name: exit $rc, expected $want: $(tail -3 "$tmp/err")"; return; fi
  if grep -qE 'AddressSanitizer|runtime error|HDF5-DIAG' "$tmp/err"; then bad "$name: sanitizer or HDF5 report"; return; fi
  if ! tail -1 "$tmp/err" | grep -qE -- "$re"; then bad "$name: error '$(tail -1 "$tmp/err")' does not match /$re/"; return; fi
  ok
}
