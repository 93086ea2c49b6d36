#!/usr/bin/env bash
# bench_smoke.sh: `posbench bench --quick` end to end, as the issue's "done
# when" states it: the HDF5 holds rows for every registered encoding, both
# passes, every scope (op, attention, tiled), at 3 or more lengths; the
# tiled path keeps fewer activation bytes than the stored one at every T; plot and show read it back; an
# existing file is not overwritten without --force.
# usage: bench_smoke.sh POSBENCH_BINARY
set -u
bin=$1
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# A short min_time keeps this a smoke test; the figures are not the point.
if "$bin" bench --quick --benchmark_min_time=0.002 --benchmark_repetitions=2 -o "$tmp/q.h5" >"$tmp/out" 2>"$tmp/err"
then ok; else bad "bench --quick failed: $(tail -3 "$tmp/err")"; fi

"$bin" show "$tmp/q.h5" >"$tmp/show" 2>&1 || bad "show failed: $(cat "$tmp/show")"
encodings=$("$bin" list | awk 'NR > 1 && /^[a-z_]+$/ {print $1}')
[ -n "$encodings" ] || bad "posbench list printed no encodings"
for e in $encodings; do
  for scope in op attention tiled; do
    for pass in forward backward; do
      n=$(awk -v e="$e" -v s="$scope" -v p="$pass" '$1 == s && $2 == p && $3 == e {print $4}' "$tmp/show" | sort -u | wc -l)
      if [ "$n" -ge 3 ]; then ok; else bad "$e $scope $pass: rows at $n lengths, expected >= 3"; fi
    done
  done
done
grep -q "references: copy" "$tmp/show" && ok || bad "show lacks the reference figures"
# The memory the two training paths keep, from the file: tiled smaller at
# every length, and growing at most linearly (x4 from T 256 to 1024 + 1%).
# show's columns: scope pass encoding T C H ... act MiB ($12).
mem_check=$(awk '$2 == "backward" && ($1 == "attention" || $1 == "tiled") { act[$1 "/" $3 "/" $4] = $12; t[$4] = 1; e[$3] = 1 }
  END {
    for (x in e) for (n in t) {
      s = act["attention/" x "/" n]; l = act["tiled/" x "/" n]
      if (s == "" || l == "") { print x " T " n ": a path has no row"; continue }
      if (l + 0 >= s + 0) print x " T " n ": tiled keeps " l " MiB, stored " s
    }
    for (x in e) { a = act["tiled/" x "/256"]; b = act["tiled/" x "/1024"]
      if (a + 0 <= 0 || b + 0 > 4.04 * a) print x ": tiled activations " a " MiB at T 256, " b " at 1024: not linear" }
  }' "$tmp/show")
[ -z "$mem_check" ] && ok || bad "tiled memory: $mem_check"

if "$bin" plot "$tmp/q.h5" -o "$tmp/plots" >/dev/null 2>"$tmp/err"; then ok; else bad "plot failed: $(cat "$tmp/err")"; fi
for f in throughput-op-C64 throughput-attention-C64 throughput-tiled-C64 relative-attention-C64 memory-attention-C64 \
  memory-tiled-C64 memory-heap-tiled-C64; do
  [ -s "$tmp/plots/$f.png" ] && [ -s "$tmp/plots/$f.svg" ] && ok || bad "plot $f.png/.svg missing"
done
# Same file in, same plots out.
"$bin" plot "$tmp/q.h5" -o "$tmp/plots2" >/dev/null 2>&1
cmp -s "$tmp/plots/throughput-op-C64.svg" "$tmp/plots2/throughput-op-C64.svg" && ok || bad "plotting twice gave different SVGs"

# No overwrite without --force; the file stays intact.
before=$(sha256sum <"$tmp/q.h5")
if "$bin" bench --quick -o "$tmp/q.h5" >/dev/null 2>"$tmp/err"; then bad "bench overwrote an existing file"
elif ! grep -q -- "--force" "$tmp/err"; then bad "refusal does not name --force: $(cat "$tmp/err")"
else ok; fi
[ "$before" = "$(sha256sum <"$tmp/q.h5")" ] && ok || bad "existing results file changed"

# Bad files for show and plot: clear message, exit 2.
printf 'not hdf5' >"$tmp/bad.h5"
"$bin" show "$tmp/bad.h5" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q "not an HDF5 file" "$tmp/err" && ok || bad "show of a non-HDF5 file: exit $rc, $(cat "$tmp/err")"
head -c 3000 "$tmp/q.h5" >"$tmp/trunc.h5"
"$bin" plot "$tmp/trunc.h5" -o "$tmp/p3" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && ok || bad "plot of a truncated file: exit $rc, $(cat "$tmp/err")"
"$bin" bench --quick --benchmark_nonsense=1 -o "$tmp/x.h5" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && [ ! -e "$tmp/x.h5" ] && ok || bad "unknown --benchmark flag: exit $rc, $(cat "$tmp/err")"

finish bench_smoke
