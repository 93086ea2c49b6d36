#!/usr/bin/env bash
# plots_test.sh: plots a reader can trust (harness/report/palette.h, plot_*.c).
# An encoding has one look (colour, dash pattern, point type) in every plot,
# whatever order a file lists it in and whichever kind of file it is: two
# generalize files with the encodings in different orders and the reference
# bench file agree, and so does a name no registry knows (hashed). No look is
# Okabe-Ito's yellow, and no two encodings of a plot share one. Titles state
# steps, seeds and the interval alike; x tics are the evaluation lengths and
# the training length is marked; a bench panel names the encodings it lacks.
# usage: plots_test.sh POSBENCH_BINARY H5EDIT_BINARY
set -u
P=$(readlink -f "$1")
H5EDIT=$(readlink -f "$2")
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$root/tests/lib.sh"
command -v gnuplot >/dev/null || { echo "gnuplot not installed; skipping"; exit 77; }
cd "$tmp" || exit 1

tiny=(--train-len 8 --eval-lens 8,16,32 --steps 3 --seeds 2 --dim 8 --heads 1 --layers 1 --batch 2
      --eval-tokens 128 --stride 4 --quiet)
"$P" generalize --encodings rope,none,alibi,learned_absolute "${tiny[@]}" -o a.h5 >/dev/null 2>err &&
"$P" generalize --encodings learned_absolute,alibi,sinusoidal,rope "${tiny[@]}" -o b.h5 >/dev/null 2>err ||
  { echo "plots: cannot make the fixture files: $(tail -2 err)" >&2; exit 1; }
# A name from elsewhere, in both files at different places.
"$H5EDIT" a.h5 move /generalization/none /generalization/my_variant &&
"$H5EDIT" a.h5 move /training/none /training/my_variant &&
printf 'rope,my_variant,alibi,learned_absolute' >list_a && "$H5EDIT" a.h5 attr-bytes /generalization encodings list_a &&
"$H5EDIT" a.h5 attr-bytes /training encodings list_a &&
"$H5EDIT" b.h5 move /generalization/sinusoidal /generalization/my_variant &&
"$H5EDIT" b.h5 move /training/sinusoidal /training/my_variant &&
printf 'learned_absolute,alibi,my_variant,rope' >list_b && "$H5EDIT" b.h5 attr-bytes /generalization encodings list_b &&
"$H5EDIT" b.h5 attr-bytes /training encodings list_b ||
  { echo "plots: cannot rename a group" >&2; exit 1; }
for f in a b; do
  "$P" plot $f.h5 -o "$tmp/$f" >/dev/null 2>err && ok || bad "plot $f.h5: $(tail -2 err)"
done
bench=$root/results/bench/bench-reference.h5
have_bench=0
[ -f "$bench" ] && "$P" plot "$bench" -o "$tmp/bench" >/dev/null 2>err && have_bench=1
[ -f "$bench" ] && { [ $have_bench = 1 ] && ok || bad "plot the bench reference: $(tail -2 err)"; }

# look SVG NAME: the key sample of series NAME (keyed "NAME" or "NAME (...)"):
# "rgb(...) dasharray gpPtN".
look() {
  awk -v a="<text>$2</text>" -v b="<text>$2 (" '
    index($0, a) || index($0, b) { found = 1; next }
    found && /stroke=.rgb\(/ {
      match($0, /stroke=.rgb\([^)]*\)/); c = substr($0, RSTART + 8, RLENGTH - 8)
      d = "solid"; if (match($0, /stroke-dasharray=.[^ ]*/)) d = substr($0, RSTART + 17, RLENGTH - 17)
      p = "-"; if (match($0, /gpPt[0-9]+/)) p = substr($0, RSTART, RLENGTH)
      print c, d, p; exit }' "$1"
}
yellow='rgb(240, 228,  66)'

for e in rope alibi learned_absolute my_variant; do
  la=$(look a/ppl-vs-length.svg $e) lb=$(look b/ppl-vs-length.svg $e)
  [ -n "$la" ] && [ "$la" = "$lb" ] && ok || bad "$e looks '$la' in one file and '$lb' in the other"
  lt=$(look b/training-loss.svg $e)
  [ "$la" = "$lt" ] && ok || bad "$e looks '$la' in ppl-vs-length, '$lt' in training-loss"
  case $la in "$yellow"*) bad "$e is yellow" ;; *) ok ;; esac
  if [ $have_bench = 1 ] && [ $e != my_variant ]; then
    lc=$(look bench/throughput-attention-C64.svg $e)
    [ "$la" = "$lc" ] && ok || bad "$e looks '$la' in generalize plots, '$lc' in bench plots"
  fi
done
# no two encodings of one plot look alike
n=$(for e in rope alibi learned_absolute my_variant; do look a/ppl-vs-length.svg $e; done | sort -u | wc -l)
[ "$n" -eq 4 ] && ok || bad "4 encodings drawn with $n looks"

# titles: steps, seeds and the interval alike; sliding windows as its sibling
for f in ppl-vs-length ppl-sliding-vs-length eval-memory training-loss loss-by-position-T32; do
  grep -q '3 steps, 2 seeds (95% CI)' "a/$f.svg" && ok || bad "$f: the title lacks '3 steps, 2 seeds (95% CI)'"
done
# x tics at the evaluation lengths, the training length marked inside the plot
for t in 8 16 32; do grep -q ">$t</text>" a/ppl-vs-length.svg && ok || bad "ppl-vs-length: no tic at $t"; done
grep -q '>train length 8</text>' a/ppl-vs-length.svg && ok || bad "ppl-vs-length: no training length marker"
# a key claims only what the data hold: learned_absolute is n/a past its longest value
grep -q '>learned_absolute (n/a past 8)</text>' a/ppl-vs-length.svg && ok ||
  bad "ppl-vs-length: learned_absolute not keyed 'n/a past 8'"

# bench: the op backward panel names the encodings without backward work
if [ $have_bench = 1 ]; then
  grep -q '>not drawn, no backward work: sinusoidal, alibi, none</text>' bench/throughput-op-C64.svg && ok ||
    bad "throughput-op-C64: the backward panel does not name the encodings it lacks"
  grep -q 'H 4, batch 8' bench/throughput-op-C64.svg && ok || bad "throughput-op-C64: title lacks the file's H and batch"
fi
finish plots
