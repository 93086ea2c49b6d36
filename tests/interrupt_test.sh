#!/usr/bin/env bash
# interrupt_test.sh: nothing is lost to an interrupt or a divergence.
#   generalize: SIGINT after the first run -> status 130, the message naming
#     the file, the file marked complete=0 holding the finished runs; --resume
#     finishes it with every number equal to an uninterrupted sweep's; a
#     second resume has nothing to do; a resume with other options is refused
#     naming the setting; SIGTERM -> 143; a second SIGINT quits at once and
#     leaves no half-written file; no stray temporary files anywhere.
#   bench: SIGINT after the first cell -> 130, the kept cells in a complete=0
#     file; --resume measures the others and keeps the kept rows as they
#     were. The number of cells is derived from `posbench list`.
#   divergence: a huge --lr makes every run diverge; each is named with its
#     step, recorded as diverged, and the sweep goes on to the end.
# Signals are sent once the progress output shows the first run or cell done.
# usage: interrupt_test.sh POSBENCH_BINARY
set -u
bin=$1
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_h5dump

no_temp() { # no "<file>.tmp.<pid>" left in the directory
  local left
  left=$(ls "$tmp" | grep '\.tmp\.' || true)
  [ -z "$left" ] && ok || bad "$1: temporary files left: $left"
}

# sigint_after REGEX ERR CMD...: runs CMD (stderr into ERR) and sends it
# SIGINT once ERR has a line matching REGEX; its exit status into rc.
sigint_after() {
  local regex=$1 err=$2 pid
  shift 2
  "$@" >/dev/null 2>"$err" &
  pid=$!
  wait_for "$regex" "$err" $pid || bad "'$regex' never appeared: $(cat "$err")"
  kill -INT $pid
  wait $pid
  rc=$?
}

# same_datasets FULL RESUMED MIN WHAT: every dataset of FULL equal in
# RESUMED, at least MIN of them. Measurements of the machine are not
# deterministic: tokens/s. The evaluation heap peak is (core/alloc.c counts
# the bytes asked for).
same_datasets() {
  local n=0 d
  for d in $(h5dump -n "$1" | awk '$1 == "dataset" && $2 !~ /tokens_per_s/ {print $2}'); do
    n=$((n + 1))
    [ "$(data "$1" "$d")" = "$(data "$2" "$d")" ] && ok || bad "$4: $d differs from the uninterrupted sweep"
  done
  [ $n -ge "$3" ] && ok || bad "$4: compared only $n datasets"
}

G=(generalize --encodings alibi,rope --train-len 32 --eval-lens 32,64 --steps 400 --seeds 2
   --dim 32 --heads 2 --layers 2 --batch 16 --eval-tokens 1024 --bins 4 --stride 16)

# ---- generalize -------------------------------------------------------------
"$bin" "${G[@]}" -o "$tmp/full.h5" >/dev/null 2>"$tmp/full.err" && ok || bad "uninterrupted generalize failed: $(tail -2 "$tmp/full.err")"
[ "$(attr "$tmp/full.h5" /complete)" = 1 ] && ok || bad "an uninterrupted sweep is not marked complete=1"

sigint_after 'seed 0: final' "$tmp/part.err" "$bin" "${G[@]}" -o "$tmp/part.h5"
[ $rc = 130 ] && ok || bad "generalize after SIGINT: status $rc, expected 130"
msg=$(grep 'interrupted:' "$tmp/part.err" | tail -1)
echo "$msg" | grep -qE "^posbench generalize: interrupted: [1-3] of 4 runs kept in $tmp/part.h5; continue with --resume $tmp/part.h5\$" \
  && ok || bad "generalize interrupt message: '$msg'"
kept=$(echo "$msg" | sed -n 's/.*interrupted: \([0-9]*\) of.*/\1/p')
[ "$(attr "$tmp/part.h5" /complete)" = 0 ] && ok || bad "interrupted file not marked complete=0"
m=$(values "$tmp/part.h5" /generalization/alibi/measured; values "$tmp/part.h5" /generalization/rope/measured)
[ "$(echo "$m" | grep -c '^1$')" = "$kept" ] && ok || bad "measured flags ($(echo $m)) do not count $kept runs"
# The kept run (alibi seed 0) holds the numbers of the uninterrupted sweep.
row0() { values "$1" "$2" | head -"$3" | tr '\n' ' '; }
for d in loss ppl ppl_sliding; do
  [ "$(row0 "$tmp/part.h5" /generalization/alibi/$d 2)" = "$(row0 "$tmp/full.h5" /generalization/alibi/$d 2)" ] \
    && ok || bad "kept run: /generalization/alibi/$d differs from the uninterrupted sweep"
done
no_temp "generalize interrupted"
"$bin" show "$tmp/part.h5" 2>&1 | grep -q "INCOMPLETE" && ok || bad "show does not say the file is incomplete"
cp "$tmp/part.h5" "$tmp/part0.h5"

# A resume with other options is refused, naming the setting; the file stays.
"$bin" "${G[@]/400/300}" --resume "$tmp/part.h5" >/dev/null 2>"$tmp/err"
rc=$?
[ $rc = 2 ] && grep -q "setting 'steps' is 400, this run's is 300" "$tmp/err" && ok || bad "mismatched resume: status $rc, $(cat "$tmp/err")"
cmp -s "$tmp/part.h5" "$tmp/part0.h5" && ok || bad "a refused resume changed the file"

# --resume finishes it: every dataset equals the uninterrupted sweep's.
"$bin" "${G[@]}" --resume "$tmp/part.h5" >"$tmp/res.out" 2>"$tmp/res.err" && ok || bad "resume failed: $(tail -2 "$tmp/res.err")"
grep -q "resuming $tmp/part.h5: $kept of 4 runs kept" "$tmp/res.err" && ok || bad "resume did not say what it kept: $(head -1 "$tmp/res.err")"
[ "$(attr "$tmp/part.h5" /complete)" = 1 ] && ok || bad "resumed file not marked complete=1"
same_datasets "$tmp/full.h5" "$tmp/part.h5" 20 "resumed sweep"
no_temp "generalize resumed"
"$bin" "${G[@]}" --resume "$tmp/part.h5" >"$tmp/out" 2>&1 && grep -q "nothing to resume" "$tmp/out" && ok || bad "resume of a complete file: $(cat "$tmp/out")"

# SIGTERM: status 143.
"$bin" "${G[@]}" -o "$tmp/term.h5" >/dev/null 2>"$tmp/term.err" &
pid=$!
wait_for 'seed 0: final' "$tmp/term.err" $pid
kill -TERM $pid
wait $pid
rc=$?
[ $rc = 143 ] && ok || bad "generalize after SIGTERM: status $rc, expected 143"
[ "$(attr "$tmp/term.h5" /complete)" = 0 ] && ok || bad "SIGTERM: no incomplete file"

# Context extensions, zero-shot and fine-tuned, are measured inside their
# parent's run: an interrupt keeps or drops them together, and a resume
# gives the uninterrupted sweep's file (rope seed 0 is kept whole).
X=(generalize --encodings rope --extend pi,yarn --extend-finetune 20 --extend-len 64 --train-len 32 --eval-lens 32,64
   --steps 400 --seeds 2 --dim 32 --heads 2 --layers 2 --batch 16 --eval-tokens 1024 --bins 4)
"$bin" "${X[@]}" -o "$tmp/xfull.h5" >/dev/null 2>"$tmp/xfull.err" && ok || bad "extension sweep failed: $(tail -2 "$tmp/xfull.err")"
sigint_after 'rope.none.ft seed 0: final' "$tmp/xpart.err" "$bin" "${X[@]}" -o "$tmp/xpart.h5"
[ $rc = 130 ] && ok || bad "extension sweep after SIGINT: status $rc, expected 130"
for k in rope rope+pi rope+yarn+ft rope+none+ft; do
  [ "$(values "$tmp/xpart.h5" /generalization/$k/measured | tr '\n' ' ')" = "1 0 " ] && ok ||
    bad "interrupted extension sweep: $k measured $(values "$tmp/xpart.h5" /generalization/$k/measured | tr '\n' ' ')"
done
"$bin" "${X[@]}" --resume "$tmp/xpart.h5" >/dev/null 2>"$tmp/xres.err" && ok || bad "extension resume failed: $(tail -2 "$tmp/xres.err")"
same_datasets "$tmp/xfull.h5" "$tmp/xpart.h5" 30 "resumed extension sweep"

# Two SIGINTs during a resume: out at once; the file is the old incomplete one
# or a whole new one, never half written; no temporary file stays.
cp "$tmp/part0.h5" "$tmp/twice.h5"
"$bin" "${G[@]}" --resume "$tmp/twice.h5" >/dev/null 2>"$tmp/twice.err" &
pid=$!
wait_for 'resuming' "$tmp/twice.err" $pid
kill -INT $pid; sleep 0.01; kill -INT $pid 2>/dev/null
wait $pid
rc=$?
[ $rc = 130 ] && ok || bad "two SIGINTs: status $rc, expected 130"
[ "$(attr "$tmp/twice.h5" /complete)" = 0 ] && "$bin" show "$tmp/twice.h5" >/dev/null 2>&1 && ok \
  || bad "two SIGINTs: twice.h5 is not a readable incomplete file"
no_temp "two SIGINTs"

# ---- bench ------------------------------------------------------------------
B=(bench --quick "--benchmark_filter=attention/.*/T:256/" --benchmark_min_time=0.02 --benchmark_repetitions=2)
# The filter selects, at one length of the quick grid (one width), a forward
# and a backward cell per registered encoding: count them from the registry,
# so a new encoding changes the expected count, not this script.
n_enc=$("$bin" list | awk 'NR > 1 && /^[a-z_]+$/' | wc -l)
[ "$n_enc" -ge 1 ] && ok || bad "posbench list printed $n_enc encodings"
cells=$((2 * n_enc))
"$bin" "${B[@]}" -o "$tmp/bench.h5" >/dev/null 2>"$tmp/bench.err" &
pid=$!
wait_for '^\[1\] ' "$tmp/bench.err" $pid || bad "bench: the first cell never finished: $(cat "$tmp/bench.err")"
kill -INT $pid
wait $pid
rc=$?
[ $rc = 130 ] && ok || bad "bench after SIGINT: status $rc, expected 130"
msg=$(grep 'interrupted:' "$tmp/bench.err" | tail -1)
echo "$msg" | grep -qE "^posbench bench: interrupted: [0-9]+ of $cells cells kept in $tmp/bench.h5; continue with --resume $tmp/bench.h5\$" \
  && ok || bad "bench interrupt message: '$msg' (expected $cells cells)"
kept=$(echo "$msg" | sed -n 's/.*interrupted: \([0-9]*\) of.*/\1/p')
[ -n "$kept" ] && [ "$kept" -ge 1 ] && [ "$kept" -lt "$cells" ] && ok || bad "bench kept '$kept' of $cells cells, expected 1..$((cells - 1))"
[ "$(attr "$tmp/bench.h5" /complete)" = 0 ] && ok || bad "interrupted bench file not marked complete=0"
"$bin" show "$tmp/bench.h5" >"$tmp/bench.show0" 2>&1 && ok || bad "show of an interrupted bench file failed"
grep -q "^INCOMPLETE: interrupted" "$tmp/bench.show0" && ok || bad "show does not say the bench file is incomplete"
rows() { grep -E '^attention ' "$1"; }
[ "$(rows "$tmp/bench.show0" | wc -l)" = "$kept" ] && ok || bad "interrupted bench file holds $(rows "$tmp/bench.show0" | wc -l) rows, expected $kept"
no_temp "bench interrupted"
"$bin" "${B[@]}" --resume "$tmp/bench.h5" >/dev/null 2>"$tmp/bres.err" && ok || bad "bench --resume failed: $(tail -2 "$tmp/bres.err")"
[ "$(attr "$tmp/bench.h5" /complete)" = 1 ] && ok || bad "resumed bench file not marked complete=1"
"$bin" show "$tmp/bench.h5" >"$tmp/bench.show1" 2>&1
grep -q "INCOMPLETE" "$tmp/bench.show1" && bad "show calls the resumed bench file incomplete" || ok
[ "$(rows "$tmp/bench.show1" | wc -l)" = "$cells" ] && ok || bad "resumed bench file holds $(rows "$tmp/bench.show1" | wc -l) rows, expected $cells"
[ "$(rows "$tmp/bench.show1" | head -"$kept")" = "$(rows "$tmp/bench.show0")" ] && ok || bad "the kept bench rows changed on resume"
grep -q "^\[$((kept + 1))\] " "$tmp/bres.err" && ! grep -q "^\[1\] " "$tmp/bres.err" && ok || bad "bench --resume measured kept cells again"
no_temp "bench resumed"

# ---- divergence -------------------------------------------------------------
"$bin" generalize --encodings alibi,rope --train-len 16 --eval-lens 16,32 --steps 30 --seeds 2 --dim 32 --heads 2 \
  --layers 1 --batch 8 --eval-tokens 512 --bins 4 --lr 1e6 -o "$tmp/div.h5" >/dev/null 2>"$tmp/div.err"
rc=$?
[ $rc = 0 ] && ok || bad "diverging sweep: status $rc: $(tail -2 "$tmp/div.err")"
for e in alibi rope; do
  for s in 0 1; do
    grep -qE "^$e seed $s diverged at step [0-9]+ of 30: .*not finite.*; recorded as diverged, the sweep goes on\$" "$tmp/div.err" \
      && ok || bad "no divergence message naming $e seed $s and the step"
  done
  [ "$(values "$tmp/div.h5" /generalization/$e/diverged | tr '\n' ' ')" = "1 1 " ] && ok || bad "/generalization/$e/diverged not 1, 1"
  attr "$tmp/div.h5" /generalization/$e/diverged_reason | grep -qE "$e seed 0 diverged at step [0-9]+" && ok || bad "$e: no diverged_reason naming the step"
done
[ "$(attr "$tmp/div.h5" /complete)" = 1 ] && ok || bad "a sweep with divergences is still complete"
no_temp "divergence"

# ---- train: Ctrl-C saves the checkpoint of the step reached ------------------
T=(train --encoding alibi --dim 32 --heads 2 --context 32 --batch 4 --log-every 1)
"$bin" "${T[@]}" --steps 100000 -o "$tmp/ck.h5" >/dev/null 2>"$tmp/ck.err" &
pid=$!
wait_for '^step 3/' "$tmp/ck.err" $pid || bad "train: no progress: $(tail -2 "$tmp/ck.err")"
kill -INT $pid
wait $pid
rc=$?
[ $rc = 130 ] && ok || bad "train after SIGINT: status $rc, expected 130"
msg=$(grep 'interrupted at step' "$tmp/ck.err" | tail -1)
echo "$msg" | grep -qE "^posbench train: interrupted at step [0-9]+ of 100000; checkpoint in $tmp/ck.h5; continue with posbench train --resume $tmp/ck.h5\$" \
  && ok || bad "train interrupt message: '$msg'"
at=$(echo "$msg" | sed -n 's/.*at step \([0-9]*\) of.*/\1/p')
"$bin" train --resume "$tmp/ck.h5" --steps $((at + 2)) >/dev/null 2>"$tmp/ck2.err" && ok || bad "train --resume after SIGINT: $(tail -2 "$tmp/ck2.err")"
grep -q "resuming at step $at\$" "$tmp/ck2.err" && ok || bad "train did not resume at step $at: $(grep resuming "$tmp/ck2.err")"
no_temp "train interrupted"

finish interrupt_test
