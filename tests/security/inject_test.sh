#!/usr/bin/env bash
# inject_test.sh: no string from a results file, a file name or an option ever
# becomes gnuplot code (harness/report/gnuplot.h). Every string that `plot` or
# `show` displays gets each payload: the corpus name (through a real file
# name and through the attribute), encoding names in generalize, task and
# bench files (a newline in a group name included), a bench row's variant
# (shown in its spec by show, plot and compare), an export's encoding and
# variant, and the plot directory's own name. Each payload tries to run
# `touch CANARY` or to move gnuplot's output; plot must draw (names are shown
# sanitised, not refused), show must print one clean line per name, and no
# canary or stray file may appear anywhere.
# usage: inject_test.sh POSBENCH_BINARY H5EDIT_BINARY
set -u
P=$(readlink -f "$1")
H5EDIT=$(readlink -f "$2")
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$root/tests/security/lib.sh"
cd "$tmp" || exit 1
# gnuplot runs in a directory of posbench's choosing, so a relative `touch`
# could land anywhere below: the canary is looked for everywhere.
canary_anywhere() {
  local found; found=$(find "$tmp" -name 'CANARY*' -o -name 'EVIL*' | head -3)
  [ -z "$found" ] && ok || { bad "$1: an injected command ran or output moved: $found"; find "$tmp" \( -name 'CANARY*' -o -name 'EVIL*' \) -delete; }
}
payloads=(
  "x'.system('touch CANARY1').'y"
  "x'"$'\n'"!touch CANARY2"$'\n'"print '"
  "x\`touch CANARY3\`y"
  "q'; set output 'EVIL.png'; print '"
  "x';"$'\n'"system('touch CANARY4')"$'\n'"#"
  "bob's \\"
  $'esc\e[31mred\e[0m bell\a'
  # a leading quote (gnuplot reads '' as an empty string), also where a
  # plot's note wraps a name onto a line of its own
  "'q'; set output 'EVIL.png'; print '"
)
tiny=(--train-len 8 --eval-lens 8,16 --steps 2 --seeds 1 --dim 8 --heads 1 --layers 1 --batch 2 --eval-tokens 64 --quiet)
printf 'abcdefghij%.0s' $(seq 200) >letters.txt

# plots_ok NAME FILE: plot draws FILE (exit 0, PNG and SVG written), show
# prints it with no control character but newlines, and nothing ran.
plots_ok() {
  local name=$1 file=$2 rc=0
  rm -rf "$tmp/p"
  timeout 120 "$P" plot "$file" -o "$tmp/p" >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
  if [ $rc -ne 0 ]; then bad "$name: plot exit $rc: $(tail -2 "$tmp/err")"
  elif ! ls "$tmp/p"/*.svg >/dev/null 2>&1; then bad "$name: plot drew nothing"
  elif grep -qE 'Sanitizer|runtime error|HDF5-DIAG' "$tmp/err"; then bad "$name: report on stderr"
  else ok; fi
  rc=0
  timeout 60 "$P" show "$file" >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
  if [ $rc -ne 0 ]; then bad "$name: show exit $rc: $(tail -2 "$tmp/err")"
  elif LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$tmp/out"; then bad "$name: show printed a control character"
  else ok; fi
  canary_anywhere "$name"
}

# compare_ok NAME FILE: FILE against a copy of itself (so every name is
# matched and drawn): `plot A B` draws, `compare` and `compare --json` print
# no control character but newlines, and nothing ran.
compare_ok() {
  local name=$1 file=$2 rc=0
  cp "$file" "$tmp/twin.h5" && rm -rf "$tmp/p"
  timeout 120 "$P" plot "$file" "$tmp/twin.h5" -o "$tmp/p" >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
  if [ $rc -ne 0 ] || [ ! -f "$tmp/p/compare.svg" ]; then bad "$name: plot A B exit $rc: $(tail -2 "$tmp/err")"; else ok; fi
  for form in "" --json; do
    rc=0
    timeout 60 "$P" compare "$file" "$tmp/twin.h5" $form >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
    if [ $rc -ne 0 ]; then bad "$name: compare $form exit $rc: $(tail -2 "$tmp/err")"
    elif LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$tmp/out"; then bad "$name: compare $form printed a control character"
    else ok; fi
  done
  canary_anywhere "$name (compare)"
}

# shown NAME FILE TEXT: the SVG plots hold TEXT: the name was drawn literally.
shown() { grep -qF -- "$3" "$tmp"/p/*.svg && ok || bad "$1: '$3' is not in the plots"; }

# ---- 1. a corpus file whose name is a payload (no crafting needed) ---------
for i in "${!payloads[@]}"; do
  pl=${payloads[$i]}
  case $pl in */*) continue ;; esac
  cp letters.txt "$pl" 2>/dev/null || continue
  if "$P" generalize --encodings none "${tiny[@]}" --data "$tmp/$pl" -o "corpus$i.h5" >/dev/null 2>"$tmp/err"; then
    ok
    plots_ok "corpus named payload $i" "corpus$i.h5"
  else
    bad "generalize --data payload $i failed: $(tail -1 "$tmp/err")"
  fi
  rm -f -- "$pl"
done
# bob's corpus: the apostrophe is drawn as an apostrophe
cp letters.txt "bob's corpus.txt"
"$P" generalize --encodings none "${tiny[@]}" --data "$tmp/bob's corpus.txt" -o bob.h5 >/dev/null 2>&1 && ok ||
  bad "generalize --data \"bob's corpus.txt\" failed"
plots_ok "bob's corpus" bob.h5
shown "bob's corpus" bob.h5 "bob's corpus.txt"

# ---- 2. crafted strings in results files -------------------------------------
"$P" generalize --encodings none,alibi "${tiny[@]}" --data "$tmp/letters.txt" -o gen.h5 >/dev/null 2>&1 &&
"$P" generalize --encodings none,alibi --data task:copy --train-len 8 --eval-lens 8,16 --steps 2 --seeds 1 --dim 8 \
     --heads 1 --layers 1 --batch 2 --examples 4 --quiet -o task.h5 >/dev/null 2>&1 &&
"$P" generalize --encodings rope --extend pi --extend-finetune 2 "${tiny[@]}" --data "$tmp/letters.txt" -o ext.h5 >/dev/null 2>&1 &&
"$P" export alibi --len 8 --dim 8 --heads 2 -o export.h5 >/dev/null 2>&1 ||
  { echo "inject: cannot make the fixture files" >&2; exit 1; }
bench_ref=$root/results/bench/bench-reference.h5

for i in "${!payloads[@]}"; do
  pl=${payloads[$i]}
  printf '%s' "$pl" >"payload$i"
  # the corpus name attribute
  cp gen.h5 "data$i.h5" && "$H5EDIT" "data$i.h5" attr-bytes /generalization data "payload$i" &&
    plots_ok "data attribute, payload $i" "data$i.h5"
  # export attributes
  cp export.h5 "export$i.h5" && "$H5EDIT" "export$i.h5" attr-bytes / encoding "payload$i" &&
    "$H5EDIT" "export$i.h5" attr-bytes / variant "payload$i" && plots_ok "export attributes, payload $i" "export$i.h5"
  # an encoding name (a group name: no '/'), in the corpus study and a task
  case $pl in */*) continue ;; esac
  printf 'none,%s' "$pl" >"list$i"
  cp gen.h5 "name$i.h5" && "$H5EDIT" "name$i.h5" move /generalization/alibi "/generalization/$pl" &&
    "$H5EDIT" "name$i.h5" move /training/alibi "/training/$pl" &&
    "$H5EDIT" "name$i.h5" attr-bytes /generalization encodings "list$i" &&
    plots_ok "encoding name, payload $i" "name$i.h5" && compare_ok "encoding name, payload $i" "name$i.h5"
  # an extended model's name: its SPEC+METHOD(+ft) keys name the extension plots
  printf '%s,%s+pi,%s+pi+ft,%s+none+ft' "$pl" "$pl" "$pl" "$pl" >"xlist$i"
  cp ext.h5 "ext$i.h5" && "$H5EDIT" "ext$i.h5" move /generalization/rope "/generalization/$pl" &&
    "$H5EDIT" "ext$i.h5" move /generalization/rope+pi "/generalization/$pl+pi" &&
    "$H5EDIT" "ext$i.h5" move /generalization/rope+pi+ft "/generalization/$pl+pi+ft" &&
    "$H5EDIT" "ext$i.h5" move /generalization/rope+none+ft "/generalization/$pl+none+ft" &&
    "$H5EDIT" "ext$i.h5" attr-bytes "/generalization/$pl+pi" parent "payload$i" &&
    "$H5EDIT" "ext$i.h5" attr-bytes /generalization encodings "xlist$i" &&
    plots_ok "extended model's name, payload $i" "ext$i.h5" &&
    { [ -s "$tmp/p/extend-ppl-vs-length.svg" ] && ok || bad "payload $i: no extension plot drawn for the renamed model"; }
  cp task.h5 "tname$i.h5" && "$H5EDIT" "tname$i.h5" move /tasks/copy/alibi "/tasks/copy/$pl" &&
    "$H5EDIT" "tname$i.h5" attr-bytes /tasks/copy encodings "list$i" &&
    plots_ok "task encoding name, payload $i" "tname$i.h5"
  # a bench row's encoding name (the committed reference file's first rows)
  if [ -f "$bench_ref" ]; then
    cp "$bench_ref" "bench$i.h5" && "$H5EDIT" "bench$i.h5" bench-str /bench/throughput 0 encoding "payload$i" &&
      plots_ok "bench encoding name, payload $i" "bench$i.h5" && compare_ok "bench encoding name, payload $i" "bench$i.h5"
    # a row's variant (shown in its spec beside a registered encoding's name)
    cp "$bench_ref" "benchv$i.h5" && "$H5EDIT" "benchv$i.h5" bench-str /bench/throughput 0 variant "payload$i" &&
      plots_ok "bench variant, payload $i" "benchv$i.h5" && compare_ok "bench variant, payload $i" "benchv$i.h5"
  fi
done
[ -f name0.h5 ] && { plots_ok "drawn literally" name0.h5; shown "encoding name drawn" name0.h5 "x'.system('touch CANARY1').'y"; }
# a name with control characters is shown sanitised by show and plot, not dropped
if [ -f name6.h5 ]; then
  plots_ok "control characters in a name" name6.h5
  shown "sanitised name drawn" name6.h5 "esc?[31mred?[0m bell?"
  "$P" show name6.h5 2>/dev/null | grep -qF "esc?[31mred?[0m bell?" && ok || bad "show dropped the sanitised name"
fi

# ---- 3. the plot directory's own name ----------------------------------------
for i in "${!payloads[@]}"; do
  pl=${payloads[$i]}
  case $pl in */*) continue ;; esac
  rm -rf -- "$pl"
  "$P" plot export.h5 -o "$tmp/$pl" >/dev/null 2>"$tmp/err" && [ -f "$tmp/$pl/bias.svg" ] && ok ||
    bad "plot -o payload $i failed: $(tail -1 "$tmp/err")"
  rm -rf -- "${tmp:?}/$pl"
  canary_anywhere "plot directory named payload $i"
done
finish inject
