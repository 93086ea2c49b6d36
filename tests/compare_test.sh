#!/usr/bin/env bash
# compare_test.sh: `posbench compare` and `posbench plot A B` on small real
# files made here: the same measurements compared give no change; a cell
# slowed by the test knob (POSBENCH_TEST_SLOW_CELL, harness/bench/bench.h)
# is flagged and trips --fail-if-slower; generalization runs pair by seed or
# fall back to Welch; bad input exits 2 and writes nothing.
# usage: compare_test.sh POSBENCH_BINARY H5EDIT_BINARY
set -u
bin=$1 h5edit=$2
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# One encoding's two attention cells at T 64 (the op cells take microseconds
# and swing widely on a busy machine): 5 repetitions each, enough for a U
# test (the exact two-sided p of a complete separation is 2/252 = 0.0079).
# Thresholds are far above noise: the slowed cell is 30 times slower.
enc=$("$bin" list | awk 'NR > 1 && /^[a-z_]+$/ {print $1; exit}')
[ -n "$enc" ] || bad "posbench list printed no encoding"
slow_cell="attention/forward/$enc/T:64/C:64"
bench() { "$bin" bench --quick "--benchmark_filter=^attention/.*/$enc/T:64/" --benchmark_repetitions=5 \
  --benchmark_min_time=0.005 -o "$1" >"$tmp/bench.out" 2>&1 || bad "bench $1: $(tail -3 "$tmp/bench.out")"; }
bench "$tmp/a.h5"
bench "$tmp/b.h5"
POSBENCH_TEST_SLOW_CELL="$slow_cell=30" bench "$tmp/slow.h5"

# The repetitions are kept: [2 cells, 5].
shape=$(h5dump -H -d /bench/repetitions_ns "$tmp/a.h5" 2>/dev/null | grep -o 'SIMPLE { ( [0-9, ]* )' | head -1)
[ "$shape" = "SIMPLE { ( 2, 5 )" ] && ok || bad "/bench/repetitions_ns shape '$shape', want 2 x 5"

# The same measurements in another file: ratio 1, p 1, nothing marked.
cp "$tmp/a.h5" "$tmp/a_copy.h5"
"$bin" compare "$tmp/a.h5" "$tmp/a_copy.h5" >"$tmp/same" 2>&1 && ok || bad "compare of a copy failed: $(cat "$tmp/same")"
[ "$(grep -c "1.000x *1.000x *1.0000 *$" "$tmp/same")" -eq 2 ] && ok || bad "a copy: not 2 cells at 1.000x, p 1: $(cat "$tmp/same")"
grep -q "settings: the same" "$tmp/same" && ok || bad "a copy: settings reported as different"

# Two runs of the same build: noise, never a 10x change.
if "$bin" compare "$tmp/a.h5" "$tmp/b.h5" --fail-if-slower 900 >"$tmp/ab" 2>&1; then ok
else bad "two identical runs tripped --fail-if-slower 900: $(cat "$tmp/ab")"; fi
grep -q "geometric mean of time B/A: attention/forward" "$tmp/ab" && ok || bad "no geometric means: $(cat "$tmp/ab")"

# The slowed cell (30 times slower) is flagged, and only it.
"$bin" compare "$tmp/a.h5" "$tmp/slow.h5" --threshold 900 >"$tmp/slow.out" 2>&1
grep -E "^attention/forward/$enc/T:64/C:64/H:[0-9]+ .* 0\.0[0-4][0-9]+ +slower$" "$tmp/slow.out" >/dev/null && ok ||
  bad "slowed cell not flagged slower at p < 0.05: $(cat "$tmp/slow.out")"
[ "$(grep -c ' slower$' "$tmp/slow.out")" -eq 1 ] && ok || bad "more than the slowed cell flagged: $(cat "$tmp/slow.out")"
"$bin" compare "$tmp/a.h5" "$tmp/slow.h5" --fail-if-slower 900 >/dev/null 2>"$tmp/gate"
rc=$?
[ "$rc" -eq 1 ] && grep -q "1 of 2 cells significantly slower" "$tmp/gate" && ok ||
  bad "--fail-if-slower: exit $rc, want 1: $(cat "$tmp/gate")"

# JSON: one object with the two cells (checked by Python where it exists).
"$bin" compare "$tmp/a.h5" "$tmp/slow.h5" --json >"$tmp/cmp.json" 2>&1 || bad "--json failed"
if command -v python3 >/dev/null; then
  python3 - "$tmp/cmp.json" <<'EOF' && ok || bad "--json output: $(head -c 600 "$tmp/cmp.json")"
import json, sys
d = json.load(open(sys.argv[1]))
cells = d["bench"]
assert d["kind"] == "bench" and len(cells) == 2, d
slow = [c for c in cells if c["significant"] and c["time_ratio"] > 10]
assert len(slow) == 1 and slow[0]["cell"].startswith("attention/forward/"), cells
assert all(c["repetitions_a"] == 5 and c["repetitions_b"] == 5 for c in cells)
EOF
fi

# A version-1 bench file (no repetitions) still compares: too few repetitions.
cp "$tmp/b.h5" "$tmp/v1.h5"
"$h5edit" "$tmp/v1.h5" del /bench/repetitions_ns && "$h5edit" "$tmp/v1.h5" attr-int / schema_version 1 ||
  bad "h5edit could not make a version-1 file"
"$bin" compare "$tmp/v1.h5" "$tmp/a.h5" >"$tmp/v1.out" 2>&1 && ok || bad "compare of a v1 file failed: $(cat "$tmp/v1.out")"
[ "$(grep -c 'too few reps' "$tmp/v1.out")" -eq 2 ] && grep -q "too few repetitions for a U test" "$tmp/v1.out" && ok ||
  bad "v1 file: p-values invented: $(cat "$tmp/v1.out")"

# One picture from two files; deterministic.
"$bin" plot "$tmp/a.h5" "$tmp/slow.h5" -o "$tmp/plot" >/dev/null 2>"$tmp/err" && ok || bad "plot A B: $(cat "$tmp/err")"
[ -s "$tmp/plot/compare.png" ] && [ -s "$tmp/plot/compare.svg" ] && ok || bad "plot A B drew no compare.png/.svg"
grep -q "slower (p &lt; 0.05)" "$tmp/plot/compare.svg" && ok || bad "the plot's key lacks the slowed series"

# Generalization (alibi: an encoding that evaluates past its training length):
# same seeds and data pair by seed (training is deterministic,
# so the difference is exactly 0); other seeds fall back to Welch.
gen() { "$bin" generalize --encodings alibi --steps 5 --train-len 8 --eval-lens 8,16 --eval-tokens 256 --dim 16 \
  --heads 2 --layers 1 --quiet "$@" >"$tmp/gen.out" 2>&1 || bad "generalize $*: $(tail -3 "$tmp/gen.out")"; }
gen --seeds 2 -o "$tmp/g1.h5"
gen --seeds 2 -o "$tmp/g2.h5"
gen --seeds 3 --seed 7 -o "$tmp/g3.h5"
"$bin" compare "$tmp/g1.h5" "$tmp/g2.h5" >"$tmp/g12" 2>&1 && ok || bad "compare generalize: $(cat "$tmp/g12")"
grep -q "paired by seed (same seeds, same data)" "$tmp/g12" && ok || bad "same seeds not paired: $(cat "$tmp/g12")"
[ "$(grep -c "^generalization .*+0.0000 ± 0 *1.0000 *$" "$tmp/g12")" -eq 2 ] && ok ||
  bad "identical runs: difference not exactly 0 at both lengths: $(cat "$tmp/g12")"
grep -q "verdicts: none changed" "$tmp/g12" && ok || bad "verdicts reported changed: $(cat "$tmp/g12")"
"$bin" compare "$tmp/g1.h5" "$tmp/g3.h5" >"$tmp/g13" 2>&1 && ok || bad "compare generalize (Welch): $(cat "$tmp/g13")"
grep -q "Welch's t (the files' seeds or data differ)" "$tmp/g13" && ok || bad "other seeds not Welch: $(cat "$tmp/g13")"
grep -q "generalization/seed_values *0,1 -> 7,8,9" "$tmp/g13" && ok || bad "seed difference not listed: $(cat "$tmp/g13")"

# Bad input: exit 2, one line, nothing written.
expect_2() {
  local what=$1; shift
  "$bin" "$@" >"$tmp/o" 2>"$tmp/e"
  local rc=$?
  if [ "$rc" -eq 2 ] && [ "$(wc -l <"$tmp/e")" -eq 1 ] && [ ! -s "$tmp/o" ]; then ok
  else bad "$what: exit $rc, stderr '$(cat "$tmp/e")', stdout '$(head -3 "$tmp/o")'"; fi
}
expect_2 "same file" compare "$tmp/a.h5" "$tmp/a.h5"
expect_2 "same file by another path" compare "$tmp/a.h5" "$tmp/../$(basename "$tmp")/a.h5"
expect_2 "different kinds" compare "$tmp/a.h5" "$tmp/g1.h5"
expect_2 "a missing file" compare "$tmp/a.h5" "$tmp/nonexistent.h5"
expect_2 "one file" compare "$tmp/a.h5"
expect_2 "a negative threshold" compare "$tmp/a.h5" "$tmp/b.h5" --threshold -1
"$bin" export alibi --len 8 --dim 16 --heads 2 -o "$tmp/x1.h5" >/dev/null 2>&1 &&
  "$bin" export alibi --len 16 --dim 16 --heads 2 -o "$tmp/x2.h5" >/dev/null 2>&1 || bad "export failed"
before=$(ls "$tmp" | sort)
expect_2 "exports" compare "$tmp/x1.h5" "$tmp/x2.h5"
# No common cell: another encoding's bench.
other=$("$bin" list | awk 'NR > 1 && /^[a-z_]+$/ {print $1}' | sed -n 2p)
"$bin" bench --quick "--benchmark_filter=/$other/T:64/" --benchmark_min_time=0.002 -o "$tmp/other.h5" >/dev/null 2>&1 ||
  bad "bench of $other failed"
before=$(ls "$tmp" | sort)
expect_2 "no common cells" compare "$tmp/a.h5" "$tmp/other.h5"
grep -q "nothing to compare" "$tmp/e" && ok || bad "no common cells: $(cat "$tmp/e")"
expect_2 "plot of no common cells" plot "$tmp/a.h5" "$tmp/other.h5" -o "$tmp/noplot"
[ "$(ls "$tmp" | sort)" = "$before" ] && ok || bad "bad input left files: $(ls "$tmp")"

finish compare
