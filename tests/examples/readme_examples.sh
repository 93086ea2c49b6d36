#!/usr/bin/env bash
# readme_examples.sh: every ```python block of results/README.md, run as a
# reader would run it, against results files this posbench just made (the
# bench example against the committed results/bench/bench-reference.h5), and
# as written from the top of the checkout where the file it names is
# committed. Each run must exit 0, print no warning or error (stderr empty,
# under python -bb -W error: bytes printed or compared as str, the mistake
# h5py's fixed-length strings invite, are errors too) and name every encoding
# the file holds. Blocks are extracted from the README, not copied here: an
# edited example is tested as edited.
#
# Each example's first line names the file it reads, `path = "..."`; this
# script replaces that line with a fixture's path. The table FIXTURES maps
# the README's names to fixtures: a block naming another file fails until a
# row is added for it.
#
# Python: $EXAMPLES_PYTHON if set, else Debian's /usr/bin/python3, else
# python3 on PATH, the first that imports h5py and numpy; skips (77) when
# none does, since the normal test command needs no Python (Debian:
# apt-get install python3-h5py python3-numpy).
# usage: readme_examples.sh POSBENCH_BINARY
set -u
bin=$(readlink -f "$1")
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
readme=$root/results/README.md
. "$root/tests/lib.sh"

py=
for c in ${EXAMPLES_PYTHON:-/usr/bin/python3 python3}; do
  if command -v "$c" >/dev/null && "$c" -c 'import h5py, numpy' >/dev/null 2>&1; then py=$c; break; fi
done
# CI installs h5py and sets POSBENCH_REQUIRE_PYTHON=1: there a skip is a failure.
[ -n "$py" ] || { echo "readme_examples: skipped: no python3 with h5py and numpy (apt-get install python3-h5py)";
                  [ "${POSBENCH_REQUIRE_PYTHON:-0}" = 1 ] && exit 1; exit 77; }

# ---- fixtures: one small file of each kind the examples read ------------------
F=$tmp/fixtures
mkdir -p "$F" "$tmp/work"
printf 'abcdefghij%.0s' $(seq 200) >"$F/letters.txt"
# learned_absolute cannot reach 16 past its table of 8: NaN with a `reason`.
tiny=(--encodings none,alibi,learned_absolute --steps 2 --seeds 2 --dim 8 --heads 1 --layers 1 --batch 2 --quiet)
"$bin" generalize "${tiny[@]}" --train-len 8 --eval-lens 8,16 --eval-tokens 64 --data "$F/letters.txt" \
       -o "$F/gen.h5" >/dev/null &&
"$bin" generalize "${tiny[@]}" --data task:copy --train-len 16 --eval-lens 16,32 --examples 4 \
       -o "$F/task.h5" >/dev/null &&
"$bin" export alibi --len 8 --dim 8 --heads 2 -o "$F/export.h5" >/dev/null &&
cp "$root/results/bench/bench-reference.h5" "$F/bench.h5" ||
  { echo "readme_examples: cannot make the fixture results files" >&2; exit 1; }

# FIXTURES: the file an example names | fixture run in its place | words its output must hold
FIXTURES="
alibi.h5                         | export.h5 | alibi
results/bench/bench-reference.h5 | bench.h5  | learned_absolute sinusoidal relative_bias alibi rope none sgemm
results/reference/run-full.h5    | gen.h5    | none alibi learned_absolute
results/reference/run-full.h5    | task.h5   | none alibi learned_absolute
"

# run_example LABEL SCRIPT DIR WORDS...: runs SCRIPT in DIR; checks status, stderr, words.
run_example() {
  local label=$1 script=$2 dir=$3 w; shift 3
  if (cd "$dir" && "$py" -bb -W error "$script") >"$tmp/out" 2>"$tmp/err"; then
    if [ -s "$tmp/err" ]; then bad "$label: wrote to stderr: $(head -5 "$tmp/err")"; return; fi
    for w in "$@"; do
      grep -qw -- "$w" "$tmp/out" || { bad "$label: output does not name '$w': $(head -5 "$tmp/out")"; return; }
    done
    ok
  else
    bad "$label: exit status $?: $(tail -5 "$tmp/err")"
  fi
}

# ---- the blocks: README line of each opening fence, then one file per block ----
starts=$(grep -n '^```python$' "$readme" | cut -d: -f1)
[ -n "$starts" ] || { echo "readme_examples: no \`\`\`python blocks in $readme" >&2; exit 1; }
blocks=0
for start in $starts; do
  blocks=$((blocks + 1))
  ex=$tmp/example-line$start.py
  awk -v s="$start" 'NR > s && /^```$/ {exit} NR > s {print}' "$readme" >"$ex"
  label="results/README.md example at line $start"
  first=$(head -1 "$ex")
  name=$(printf '%s\n' "$first" | sed -n 's/^path = "\([^"]*\)".*$/\1/p')
  if [ -z "$name" ]; then
    bad "$label: its first line must name the file it reads, path = \"...\" (it is: $first)"
    continue
  fi
  rows=$(printf '%s\n' "$FIXTURES" | awk -F' *[|] *' -v n="$name" '$1 == n')
  if [ -z "$rows" ]; then
    bad "$label: reads '$name', which has no row in FIXTURES (tests/examples/readme_examples.sh)"
    continue
  fi
  while IFS='|' read -r _ fixture words; do
    fixture=${fixture// /}
    { echo "path = \"$F/$fixture\""; tail -n +2 "$ex"; } >"$tmp/run.py"
    # shellcheck disable=SC2086  # words: one argument each
    run_example "$label on a fresh $fixture" "$tmp/run.py" "$tmp/work" $words
  done <<<"$rows"
  # As written, from the top of the checkout, where the named file is committed.
  if [ -f "$root/$name" ]; then
    run_example "$label as written ($name)" "$ex" "$root"
  fi
done
echo "readme_examples: $blocks python blocks, run with $py ($("$py" -c 'import h5py, numpy; print("h5py", h5py.__version__, "numpy", numpy.__version__)'))"
finish readme_examples
