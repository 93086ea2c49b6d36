#!/usr/bin/env bash
# export_view_test.sh: `plot` and `show` of an encoding export see every
# tensor in it, whatever its name. For every registered encoding (from
# `posbench list`), a tiny export is plotted into a fresh directory: each
# dataset in the file (h5ls) has its own PNG and SVG, drawn from it (the
# SVG's title names the dataset and its shape), and no other figure; `show`
# lists each dataset with its shape and range. A crafted export with tensors
# nobody registered (h5edit) is drawn and shown too; a tensor plot cannot
# draw is named on stdout; names that map to one file name get two files;
# a hostile name reaches neither the terminal nor a path.
# usage: export_view_test.sh POSBENCH_BINARY H5EDIT_BINARY
set -u
bin=$1 h5edit=$2
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v h5ls >/dev/null || { echo "h5ls not installed (hdf5-tools); skipping"; exit 77; }
command -v gnuplot >/dev/null || { echo "gnuplot not installed; skipping"; exit 77; }

# NAME SHAPE per line, "[16, 8]" as show prints it (names here have no spaces).
datasets() { h5ls "$1" | awk '$2 == "Dataset" {name = $1; $1 = $2 = ""; gsub(/^ +/, ""); gsub(/\{/, "["); gsub(/\}/, "]"); print name, $0}'; }

# check_views FILE.h5 DIR [SKIPPED...]: every dataset of FILE.h5 has one
# figure in DIR, titled with its name and shape, and a line in `show` with
# its shape and range; the SKIPPED ones have no figure and a note in
# $tmp/plot (plot's stdout) instead.
check_views() {
  local f=$1 dir=$2 name shape n=0
  shift 2
  local skipped=" $* "
  "$bin" show "$f" >"$tmp/show" 2>&1 || bad "show $f failed: $(tail -2 "$tmp/show")"
  while read -r name shape; do
    awk -v n="$name" -v s="$shape" '$1 == n && index($0, " " s " ") && / min .* max .* mean / {found = 1}
                                    END {exit !found}' "$tmp/show" &&
      ok || bad "$f: show lacks '$name $shape' with min/max/mean: $(cat "$tmp/show")"
    if [ "${skipped/ $name /}" != "$skipped" ]; then
      [ ! -e "$dir/$name.png" ] && grep -qF "not drawn: $name " "$tmp/plot" && ok || bad "$f: $name drawn or not named"
      continue
    fi
    n=$((n + 1))
    if [ -s "$dir/$name.png" ] && [ -s "$dir/$name.svg" ] &&
       [ "$(head -c 4 "$dir/$name.png" | tail -c 3)" = PNG ]; then ok; else bad "$f: no $name.png/.svg in $dir"; fi
    grep -qF -e ": $name $shape" -e "($name $shape)" "$dir/$name.svg" 2>/dev/null &&
      ok || bad "$f: $name.svg is not titled with $name $shape"
  done < <(datasets "$f")
  local pngs
  pngs=$(find "$dir" -name '*.png' | wc -l)
  [ "$pngs" -eq "$n" ] && ok || bad "$f: $pngs PNGs for $n datasets drawn"
}

encodings=$("$bin" list | awk 'NR > 1 && /^[a-z_]+$/ {print $1}')
[ -n "$encodings" ] && ok || bad "posbench list printed no encodings"
for e in $encodings; do
  f=$tmp/$e.h5
  "$bin" export "$e" --len 12 --dim 8 --heads 2 -o "$f" >/dev/null 2>"$tmp/err" || { bad "export $e: $(cat "$tmp/err")"; continue; }
  "$bin" plot "$f" -o "$tmp/$e-plots" >"$tmp/plot" 2>&1 || { bad "plot $e: $(cat "$tmp/plot")"; continue; }
  ! grep -q "^not drawn" "$tmp/plot" && ok || bad "plot $e skipped a tensor: $(cat "$tmp/plot")"
  check_views "$f" "$tmp/$e-plots"
  if [ -z "$(datasets "$f")" ]; then
    grep -q "defines no tensors" "$tmp/plot" && grep -q "no tensors" "$tmp/show" && ok ||
      bad "$e has no tensors, and plot or show does not say so"
  fi
done

# A tensor nobody registered, beside the known ones: drawn with generic
# labels, and listed; rank 4 and a rank-3 tensor that is not [H, T, T] are
# named and skipped; a [1, N] table is drawn as a line.
c=$tmp/crafted.h5
"$bin" export alibi --len 12 --dim 8 --heads 2 -o "$c" >/dev/null
"$h5edit" "$c" floats /mytensor 4 5 && "$h5edit" "$c" ints /counts 7 && "$h5edit" "$c" floats /row 1 6 &&
  "$h5edit" "$c" floats /perhead 2 12 12 && "$h5edit" "$c" floats /rank4 2 2 2 2 &&
  "$h5edit" "$c" floats /notheads 3 4 4 || bad "h5edit could not craft $c"
"$bin" plot "$c" -o "$tmp/crafted-plots" >"$tmp/plot" 2>&1 || bad "plot of the crafted export failed: $(cat "$tmp/plot")"
check_views "$c" "$tmp/crafted-plots" rank4 notheads
grep -q "^not drawn: rank4 float32 \[2, 2, 2, 2\]" "$tmp/plot" && ok || bad "rank-4 tensor not named: $(cat "$tmp/plot")"
grep -q ">column<" "$tmp/crafted-plots/mytensor.svg" && grep -q ">row<" "$tmp/crafted-plots/mytensor.svg" &&
  ok || bad "mytensor.svg lacks the generic axis labels"
grep -q ">index<" "$tmp/crafted-plots/counts.svg" && ok || bad "counts.svg lacks the generic 'index' label"
grep -q ">key j<" "$tmp/crafted-plots/bias.svg" && ok || bad "bias.svg lost its 'key j' label"
grep -q ">head 1<" "$tmp/crafted-plots/perhead.svg" && ok || bad "perhead.svg [H,T,T] is not drawn per head"
"$bin" show "$c" >"$tmp/show" 2>&1 || bad "show of the crafted export failed"
for want in "mytensor +float32 +\[4, 5\] +min 0 +max 0 +mean 0" "counts +int32 +\[7\] +min 0" \
            "rank4 +float32 +\[2, 2, 2, 2\] +min 0" "slopes +float32 +\[2\] +min 0.00390625 +max 0.0625" \
            "^encoding +alibi$" "^variant +causal$" "^settings " "^T +12$" "^C +8$" "^H +2$"; do
  grep -qE "$want" "$tmp/show" && ok || bad "show lacks /$want/: $(cat "$tmp/show")"
done

# Names that differ only in characters unsafe in a file name get a file
# each; a hostile name reaches gnuplot only as a literal and the terminal
# only sanitized.
h=$tmp/hostile.h5
"$bin" export rope --len 12 --dim 8 --heads 2 -o "$h" >/dev/null
"$h5edit" "$h" floats /my_tensor 3 && "$h5edit" "$h" floats /x 5 &&
  "$h5edit" "$h" move /x "/my tensor" && "$h5edit" "$h" floats /y 4 &&
  "$h5edit" "$h" move /y "$(printf "/q'\`touch pwned\`\n\033[31m..")" || bad "h5edit could not craft $h"
"$bin" plot "$h" -o "$tmp/hostile-plots" >"$tmp/plot" 2>&1 || bad "plot of hostile names failed: $(cat "$tmp/plot")"
n=$(find "$tmp/hostile-plots" -name '*.svg' | wc -l)
[ "$n" -eq 4 ] && ok || bad "hostile export: $n SVGs for 4 tensors: $(ls "$tmp/hostile-plots")"
grep -q "my_tensor \[3\]" "$tmp/hostile-plots/my_tensor.svg" && ok || bad "my_tensor.svg is not my_tensor's"
grep -q "my tensor \[5\]" "$tmp/hostile-plots/my_tensor-2.svg" && ok || bad "'my tensor' did not get my_tensor-2.svg"
[ -z "$(find "$tmp" -name pwned)" ] && ok || bad "a tensor name ran a command"
"$bin" show "$h" >"$tmp/show" 2>&1 || bad "show of hostile names failed"
! grep -q $'\033' "$tmp/show" "$tmp/plot" && ok || bad "an escape sequence reached the terminal"
[ "$(grep -c '^  ' "$tmp/show")" -eq 4 ] && ok || bad "a name forged a line of show: $(cat "$tmp/show")"

finish export_views
