#!/usr/bin/env bash
# generalize_smoke.sh: `posbench generalize` end to end at toy size (seconds):
# the HDF5 schema of results/README.md, NaN with a reason for
# learned_absolute past its table, the same seed giving the same numbers
# (two runs compared dataset by dataset), a synthetic task, plot and show
# reading the files back, and no overwrite without --force.
# usage: generalize_smoke.sh POSBENCH_BINARY
set -u
bin=$1
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_h5dump

args=(generalize --encodings learned_absolute,alibi --train-len 16 --eval-lens 16,32,64
      --steps 15 --seeds 2 --dim 32 --heads 2 --layers 2 --batch 16 --eval-tokens 1024 --stride 8 --bins 8)
"$bin" "${args[@]}" -o "$tmp/a.h5" >"$tmp/out" 2>"$tmp/err" && ok || bad "generalize failed: $(tail -3 "$tmp/err")"
"$bin" "${args[@]}" -o "$tmp/b.h5" >/dev/null 2>&1 && ok || bad "second generalize failed"


[ "$(attr "$tmp/a.h5" /kind)" = '"generalize"' ] && ok || bad "root kind is $(attr "$tmp/a.h5" /kind)"
for a in posbench_version git_commit created_utc command_line schema_version; do
  h5dump -a "/$a" "$tmp/a.h5" >/dev/null 2>&1 && ok || bad "root attribute $a missing"
done
for a in train_len steps seeds seed_values layers dim heads data tokenizer vocab batch lr; do
  h5dump -a "/generalization/$a" "$tmp/a.h5" >/dev/null 2>&1 && ok || bad "/generalization attribute $a missing"
done
shape() { h5dump -H -d "$2" "$1" 2>/dev/null | grep -o 'SIMPLE { ( [0-9, ]* )' | sed 's/SIMPLE { ( //; s/ )//'; }
for e in learned_absolute alibi; do
  g=/generalization/$e
  [ "$(shape "$tmp/a.h5" $g/eval_len)" = "3" ] && ok || bad "$g/eval_len shape $(shape "$tmp/a.h5" $g/eval_len)"
  for d in loss ppl loss_sliding ppl_sliding; do
    [ "$(shape "$tmp/a.h5" $g/$d)" = "2, 3" ] && ok || bad "$g/$d shape $(shape "$tmp/a.h5" $g/$d), expected 2, 3"
  done
  [ "$(shape "$tmp/a.h5" $g/loss_by_position)" = "2, 3, 8" ] && ok || bad "$g/loss_by_position shape"
  [ "$(shape "$tmp/a.h5" $g/eval_peak_bytes)" = "3" ] && ok || bad "$g/eval_peak_bytes shape"
  [ "$(attr "$tmp/a.h5" $g/train_len)" = "16" ] && ok || bad "$g train_len attribute"
  [ "$(shape "$tmp/a.h5" /training/$e/loss)" = "2, 15" ] && ok || bad "/training/$e/loss shape $(shape "$tmp/a.h5" /training/$e/loss)"
done
# learned_absolute: finite at L, NaN past it, with the reason.
la=$(data "$tmp/a.h5" /generalization/learned_absolute/ppl | tr -s ' ,' '\n' | grep -E '^[-0-9.naNinf]+$')
[ "$(echo "$la" | grep -ci nan)" = "4" ] && ok || bad "learned_absolute ppl: expected 4 NaN (2 seeds x 2 lengths past L), got: $(echo $la)"
h5dump -a /generalization/learned_absolute/ppl/reason "$tmp/a.h5" 2>/dev/null | grep -q "table" && ok || bad "no reason attribute on learned_absolute/ppl"
h5dump -a /generalization/learned_absolute/not_applicable "$tmp/a.h5" >/dev/null 2>&1 && ok || bad "no not_applicable attribute"
al=$(data "$tmp/a.h5" /generalization/alibi/ppl)
echo "$al" | grep -qi nan && bad "alibi has NaN perplexity: $al" || ok
# Eval memory grows with length (row-at-a-time attention: about linearly).
pk=$(data "$tmp/a.h5" /generalization/alibi/eval_peak_bytes | tr -s ' ,' '\n' | grep -E '^[0-9.e+]+$' | tr '\n' ' ')
awk -v p="$pk" 'BEGIN { n = split(p, v, " "); exit !(n == 3 && v[1] > 0 && v[3] > v[1] && v[3] < 8 * v[1]) }' \
  && ok || bad "eval_peak_bytes not growing about linearly: $pk"

# Same seed, same numbers: every dataset of the two files equal.
for d in $(h5dump -n "$tmp/a.h5" | awk '$1 == "dataset" && $2 !~ /tokens_per_s/ {print $2}'); do
  if [ "$(data "$tmp/a.h5" "$d")" = "$(data "$tmp/b.h5" "$d")" ]; then ok; else bad "$d differs between two runs with the same seed"; fi
done
# ... and another seed gives other numbers.
"$bin" "${args[@]}" --seed 5 -o "$tmp/c.h5" >/dev/null 2>&1
[ "$(data "$tmp/a.h5" /generalization/alibi/loss)" != "$(data "$tmp/c.h5" /generalization/alibi/loss)" ] && ok || bad "--seed 5 gave the same losses"

# A synthetic task.
"$bin" generalize --encodings learned_absolute,rope --data task:copy --train-len 16 --steps 10 --seeds 2 \
  --dim 32 --heads 2 --layers 2 --batch 16 --examples 16 -o "$tmp/t.h5" >/dev/null 2>"$tmp/err" && ok || bad "task run failed: $(tail -3 "$tmp/err")"
[ "$(shape "$tmp/t.h5" /tasks/copy/rope/accuracy)" = "2, 4" ] && ok || bad "/tasks/copy/rope/accuracy shape"
[ "$(shape "$tmp/t.h5" /tasks/copy/rope/eval_len)" = "4" ] && ok || bad "/tasks/copy/rope/eval_len shape"
h5dump -a /tasks/copy/learned_absolute/accuracy/reason "$tmp/t.h5" >/dev/null 2>&1 && ok || bad "task: no reason for learned_absolute past its table"
"$bin" generalize --data task:nope -o "$tmp/x.h5" >/dev/null 2>&1 && bad "unknown task accepted" || ok

# Randomized positions (Ruoss et al. 2023): NAME+randpos keys train at sorted
# random positions of [0, LMAX), recorded per study and per key; plain keys
# beside them train as before.
rargs=(generalize --encodings learned_absolute,learned_absolute+randpos,none --randomize-positions 64
       --train-len 16 --eval-lens 16,64 --steps 15 --seeds 1 --dim 32 --heads 2 --layers 2 --batch 16
       --eval-tokens 1024 --quiet)
"$bin" "${rargs[@]}" -o "$tmp/r.h5" >/dev/null 2>"$tmp/err" && ok || bad "randomized generalize failed: $(tail -3 "$tmp/err")"
"$bin" "${rargs[@]}" -o "$tmp/r2.h5" >/dev/null 2>&1 && ok || bad "second randomized generalize failed"
[ "$(attr "$tmp/r.h5" /generalization/randomize_positions)" = "64" ] && ok || bad "study randomize_positions: $(attr "$tmp/r.h5" /generalization/randomize_positions)"
[ "$(attr "$tmp/r.h5" /generalization/learned_absolute+randpos/randomize_positions)" = "64" ] && ok || bad "+randpos key lacks randomize_positions 64"
[ "$(attr "$tmp/r.h5" /generalization/learned_absolute/randomize_positions)" = "0" ] && ok || bad "plain key's randomize_positions is not 0"
[ "$(attr "$tmp/r.h5" /generalization/learned_absolute+randpos/encoding)" = '"learned_absolute"' ] && ok || bad "+randpos key's encoding attribute"
# Its table holds LMAX rows: finite at 64 = 4L, where the plain table ends at L.
rp=$(data "$tmp/r.h5" /generalization/learned_absolute+randpos/ppl)
echo "$rp" | grep -qi nan && bad "learned_absolute+randpos has NaN perplexity: $rp" || ok
data "$tmp/r.h5" /generalization/learned_absolute/ppl | grep -qi nan && ok || bad "plain learned_absolute not NaN past its table"
[ "$(data "$tmp/r.h5" /training/learned_absolute/loss)" != "$(data "$tmp/r.h5" /training/learned_absolute+randpos/loss)" ] \
  && ok || bad "randomized positions trained exactly as plain positions"
for d in /generalization/learned_absolute+randpos/loss /training/learned_absolute+randpos/loss; do
  [ "$(data "$tmp/r.h5" $d)" = "$(data "$tmp/r2.h5" $d)" ] && ok || bad "$d differs between two runs with the same seed"
done
"$bin" show "$tmp/r.h5" 2>&1 | grep -q "randomized positions.*\[0, 64)" && ok || bad "show does not explain +randpos"
# Without a +randpos key, every encoding that reads positions gets one; none does not.
"$bin" generalize --encodings rope,none --randomize-positions 32 --train-len 16 --eval-lens 16 --steps 3 --seeds 1 \
  --dim 16 --heads 2 --layers 1 --eval-tokens 256 --quiet -o "$tmp/r3.h5" >/dev/null 2>&1 && ok || bad "--randomize-positions alone failed"
h5dump -n "$tmp/r3.h5" 2>/dev/null | grep -q "group      /generalization/rope+randpos$" && ok || bad "rope did not become rope+randpos"
h5dump -n "$tmp/r3.h5" 2>/dev/null | grep -q "group      /generalization/none$" && ok || bad "none did not stay none"
# Bad input: exit 2, one line, no file.
# A refused generalize: exit 2, one line naming the fragment, no file.
rbad() {
  local what=$1 fragment=$2; shift 2
  "$bin" generalize --train-len 16 --steps 3 --quiet "$@" -o "$tmp/rbad.h5" >/dev/null 2>"$tmp/err"
  local rc=$?
  if [ $rc -ne 2 ]; then bad "$what: exit $rc, expected 2: $(cat "$tmp/err")"
  elif [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -qF -- "$fragment" "$tmp/err"; then bad "$what: $(cat "$tmp/err")"
  elif [ -e "$tmp/rbad.h5" ]; then bad "$what: wrote a file"
  else ok; fi
}
rbad "none+randpos" "reads no token positions" --encodings none+randpos --randomize-positions 64
rbad "+randpos without LMAX" "--randomize-positions" --encodings rope+randpos
rbad "LMAX below L" "shorter than the training length" --encodings rope --randomize-positions 8

# Context extension (--extend): SPEC+METHOD keys evaluate the rope model as
# trained, under each method; at L the default factor T/L is 1, so every
# static method equals the model there, bit for bit.
xargs_=(generalize --encodings rope,alibi --extend all --train-len 16 --eval-lens 16,64 --steps 15 --seeds 2
        --dim 32 --heads 2 --layers 2 --batch 16 --eval-tokens 1024 --quiet)
"$bin" "${xargs_[@]}" -o "$tmp/x.h5" >/dev/null 2>"$tmp/err" && ok || bad "generalize --extend failed: $(tail -3 "$tmp/err")"
for m in pi ntk dynamic-ntk yarn llama3; do
  g=/generalization/rope+$m
  [ "$(attr "$tmp/x.h5" $g/extend)" = "\"$m\"" ] && ok || bad "$g/extend is $(attr "$tmp/x.h5" $g/extend)"
  [ "$(attr "$tmp/x.h5" $g/parent)" = '"rope"' ] && ok || bad "$g/parent is $(attr "$tmp/x.h5" $g/parent)"
  [ "$(data "$tmp/x.h5" /training/rope+$m/loss)" = "$(data "$tmp/x.h5" /training/rope/loss)" ] && ok || bad "$g was trained again"
  l16=$(data "$tmp/x.h5" $g/loss | tr -s ' ,' '\n' | grep -E '^[-0-9.e]+$' | sed -n '1p;3p' | tr '\n' ' ')
  r16=$(data "$tmp/x.h5" /generalization/rope/loss | tr -s ' ,' '\n' | grep -E '^[-0-9.e]+$' | sed -n '1p;3p' | tr '\n' ' ')
  [ -n "$l16" ] && [ "$l16" = "$r16" ] && ok || bad "$g at L: '$l16', the model's '$r16'"
done
h5dump -n "$tmp/x.h5" | grep -q "alibi+" && bad "alibi got an extension" || ok
[ "$(attr "$tmp/x.h5" /generalization/extend)" = '"pi,ntk,dynamic-ntk,yarn,llama3"' ] && ok || bad "study extend attribute"
"$bin" show "$tmp/x.h5" 2>&1 | grep -q "rope+yarn .*of its model's ppl at L" && ok || bad "show lacks the extension verdicts"
if command -v gnuplot >/dev/null; then
  "$bin" plot "$tmp/x.h5" -o "$tmp/xplots" >/dev/null 2>"$tmp/err" && ok || bad "plot of extensions failed: $(cat "$tmp/err")"
  for f in extend-ppl-vs-length extend-loss-by-position extend-ramp; do
    [ -s "$tmp/xplots/$f.svg" ] && ok || bad "plot $f missing"
  done
  grep -q "rope+pi" "$tmp/xplots/ppl-vs-length.svg" && bad "ppl-vs-length draws the extensions" || ok
fi
# Fine-tuned extensions (--extend-finetune): SPEC+METHOD+ft keys continue
# the trained model at --extend-len under the method, at the factor it was
# tuned at (64 / 16 = 4) at every length, where the zero-shot key takes T/L.
# A learning rate of 1e-12 leaves the weights where they were, so each tuned
# model must read as the zero-shot one at 64 (and, for pi, not at 16); a
# real one must move away from it and, at the tuned length, below it.
fargs=(generalize --encodings rope --extend pi,yarn,dynamic-ntk --train-len 16 --eval-lens 16,64
       --steps 15 --seeds 1 --dim 32 --heads 2 --layers 2 --batch 16 --eval-tokens 1024 --quiet
       --extend-finetune 10 --extend-len 64)
"$bin" "${fargs[@]}" --extend-lr 1e-12 -o "$tmp/f0.h5" >/dev/null 2>"$tmp/err" && ok || bad "fine-tune at lr 1e-12 failed: $(tail -3 "$tmp/err")"
"$bin" "${fargs[@]}" -o "$tmp/f1.h5" >/dev/null 2>"$tmp/err" && ok || bad "fine-tune failed: $(tail -3 "$tmp/err")"
at64() { values "$1" "$2" | sed -n 2p | awk '{ printf "%.5g", $1 }'; }
for m in pi yarn dynamic-ntk; do
  g=/generalization/rope+$m+ft
  [ "$(attr "$tmp/f1.h5" $g/extend)" = "\"$m\"" ] && ok || bad "$g/extend is $(attr "$tmp/f1.h5" $g/extend)"
  [ "$(attr "$tmp/f1.h5" $g/finetune_steps)" = "10" ] && ok || bad "$g/finetune_steps"
  [ "$(attr "$tmp/f1.h5" $g/finetune_len)" = "64" ] && ok || bad "$g/finetune_len"
  zero=$(at64 "$tmp/f0.h5" /generalization/rope+$m/loss)
  [ -n "$zero" ] && [ "$(at64 "$tmp/f0.h5" $g/loss)" = "$zero" ] && ok ||
    bad "$g at lr 1e-12: $(at64 "$tmp/f0.h5" $g/loss) at 64, zero-shot $zero"
  tuned=$(values "$tmp/f1.h5" $g/loss | sed -n 2p) shot=$(values "$tmp/f1.h5" /generalization/rope+$m/loss | sed -n 2p)
  awk -v a="$tuned" -v b="$shot" 'BEGIN { exit !(a < b) }' && ok || bad "$g at 64: loss $tuned, zero-shot $shot"
done
[ "$(values "$tmp/f0.h5" /generalization/rope+pi+ft/loss | sed -n 1p)" != "$(values "$tmp/f0.h5" /generalization/rope+pi/loss | sed -n 1p)" ] &&
  ok || bad "rope+pi+ft at L reads as the zero-shot factor 1, not the tuned 4"
[ "$(attr "$tmp/f1.h5" /generalization/rope+none+ft/extend)" = '"none"' ] && ok || bad "plain fine-tune rope+none+ft missing"
[ "$(attr "$tmp/f1.h5" /generalization/extend_finetune)" = "10" ] && ok || bad "study extend_finetune attribute"
rbad "--extend-finetune without --extend" "go with --extend" --encodings rope --extend-finetune 5
rbad "--extend-len without a fine-tune" "--extend-finetune N" --encodings rope --extend pi --extend-len 64
rbad "--extend-len not past L" "must exceed the training length" --encodings rope --extend pi --extend-finetune 5 --extend-len 16
rbad "a fine-tune on a task" "corpus studies only" --data task:copy --encodings rope --extend pi --extend-finetune 5
rbad "--extend without rope" "none of the encodings" --encodings alibi,none --extend yarn
rbad "--extend-factor below 1" "--extend-factor" --encodings rope --extend pi --extend-factor 0.5
rbad "unknown method" "unknown extension method" --encodings rope --extend yarm
rbad "a derived key in --encodings" "--extend yarn" --encodings rope+yarn

# show and plot from the files alone.
"$bin" show "$tmp/a.h5" >"$tmp/show" 2>&1 && ok || bad "show failed: $(cat "$tmp/show")"
grep -q "extrapolate" "$tmp/show" && ok || bad "show lacks the verdict"
grep -q "n/a" "$tmp/show" && ok || bad "show does not mark learned_absolute past its table"
if command -v gnuplot >/dev/null; then
  "$bin" plot "$tmp/a.h5" -o "$tmp/plots" >/dev/null 2>"$tmp/err" && ok || bad "plot failed: $(cat "$tmp/err")"
  for f in ppl-vs-length ppl-sliding-vs-length loss-by-position-T64 training-loss eval-memory; do
    [ -s "$tmp/plots/$f.png" ] && [ -s "$tmp/plots/$f.svg" ] && ok || bad "plot $f missing"
  done
  "$bin" plot "$tmp/t.h5" -o "$tmp/tplots" >/dev/null 2>&1 && [ -s "$tmp/tplots/task-copy-accuracy.svg" ] && ok || bad "task plot missing"
fi

# No overwrite without --force.
before=$(md5sum < "$tmp/a.h5")
"$bin" "${args[@]}" -o "$tmp/a.h5" >/dev/null 2>"$tmp/err" && bad "overwrote without --force" || ok
grep -q -- "--force" "$tmp/err" && ok || bad "the refusal does not name --force"
[ "$(md5sum < "$tmp/a.h5")" = "$before" ] && ok || bad "the file changed"

finish generalize_smoke
