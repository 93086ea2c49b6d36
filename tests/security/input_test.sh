#!/usr/bin/env bash
# input_test.sh: untrusted inputs stay bounded, resumes check what they
# resume, and interrupts are prompt:
#   - bounded input (core/io.h): a gzip bomb and /dev/zero as the input of
#     tokenize, generalize and train stop at the input cap
#     (POSBENCH_MAX_INPUT_BYTES, here 64K) with status 2 and an error naming
#     the file, the cap and the variable; a bad value of the variable is a
#     clear error;
#   - resume checks content (harness/train/generalize.h, gen_h5_resume): a corpus
#     changed in place to the same token count (two equal-length words
#     swapped) is refused naming its SHA-256, the file's and this run's; so
#     are a changed setting (naming it and both values), a task with other
#     settings, and a file that records no SHA-256; a refused resume leaves
#     the file as it was; a corpus name with a control character resumes;
#   - train --resume F -o F updates F in place and ends where the
#     uninterrupted run does, bit for bit;
#   - slow interrupts: SIGTERM while generalize evaluates one very long
#     window, and while it generates and scores a million task examples,
#     ends the process with status 143 within 2 s, leaving a valid file
#     marked incomplete.
# usage: input_test.sh POSBENCH_BINARY H5EDIT_BINARY
set -u
P=$(readlink -f "$1")
H5EDIT=$(readlink -f "$2")
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_h5dump
cd "$tmp" || exit 1

# ---- bounded input ------------------------------------------------------------
# 4 MB of zeros inflate from about 4 KB: a bomb in miniature, for a 64K cap.
head -c 4000000 /dev/zero | gzip -9 >bomb.gz
yes 'alpha omega' | head -c 12000 >words.txt
tiny=(--encodings none --train-len 8 --eval-lens 8,16 --steps 2 --seeds 1 --dim 8 --heads 1 --layers 1
      --batch 2 --eval-tokens 64 --bins 2 --quiet)
capped=(env POSBENCH_MAX_INPUT_BYTES=64K timeout 20)
for input in bomb.gz /dev/zero; do
  verb=holds; [ "$input" = bomb.gz ] && verb="inflates to"
  re="'$input' $verb more than the input cap of 64 KiB; .*raise the cap with POSBENCH_MAX_INPUT_BYTES"
  fails_cleanly "tokenize $input" 2 "$re" "${capped[@]}" "$P" tokenize --tokenizer bytes "$input"
  fails_cleanly "generalize --data $input" 2 "$re" "${capped[@]}" "$P" generalize "${tiny[@]}" --data "$input" -o g.h5
  fails_cleanly "train --data $input" 2 "$re" "${capped[@]}" "$P" train --encoding none --data "$input" -o t.h5
done
[ ! -e g.h5 ] && [ ! -e t.h5 ] && ok || bad "a refused input left an output file"
POSBENCH_MAX_INPUT_BYTES=64K "$P" tokenize --tokenizer bytes words.txt >/dev/null 2>&1 && ok \
  || bad "a 12 KB file under a 64K cap was refused"
for v in abc 0 12Q 1.5G -1 99999999999999999999G; do
  fails_cleanly "POSBENCH_MAX_INPUT_BYTES=$v" 2 "POSBENCH_MAX_INPUT_BYTES='$v' is not a size" \
    env POSBENCH_MAX_INPUT_BYTES="$v" "$P" tokenize --tokenizer bytes words.txt
done

# ---- resume checks content --------------------------------------------------------
# A sweep, complete; the copies marked incomplete are what --resume accepts.
"$P" generalize "${tiny[@]}" --data words.txt -o base.h5 >/dev/null 2>&1 || bad "cannot make the generalize fixture"
incomplete() { cp base.h5 "$1" && "$H5EDIT" "$1" attr-int / complete 0 || bad "h5edit failed on $1"; }
incomplete same.h5
"$P" generalize "${tiny[@]}" --data words.txt --resume same.h5 >/dev/null 2>"$tmp/err" && ok \
  || bad "resume with the same corpus refused: $(tail -1 "$tmp/err")"
sha=$(attr base.h5 /generalization/ids_sha256 | tr -d '"')
[[ $sha =~ ^[0-9a-f]{64}$ ]] && ok || bad "no ids_sha256 recorded: '$sha'"

# The corpus changed in place: its first two words swapped, same bytes count,
# same token count.
incomplete swapped.h5
cp swapped.h5 swapped0.h5
cp words.txt words0.txt
sed -i '0,/alpha omega/s//omega alpha/' words.txt
[ "$(stat -c %s words.txt)" = "$(stat -c %s words0.txt)" ] && ! cmp -s words.txt words0.txt && ok || bad "the swap fixture is wrong"
fails_cleanly "resume, corpus changed in place" 2 \
  "data words.txt are not those its runs were measured on: setting 'ids_sha256' \(SHA-256 of the token ids\) is $sha, this run's is [0-9a-f]{64} " \
  "$P" generalize "${tiny[@]}" --data words.txt --resume swapped.h5
cmp -s swapped.h5 swapped0.h5 && ok || bad "a refused resume changed the file"
cp words0.txt words.txt

# A changed setting: named, with the file's value and this run's.
incomplete lr.h5
fails_cleanly "resume, another --lr" 2 "setting 'lr' is 0.00300000003, this run's is 0.00200000009; resume with the options" \
  "$P" generalize "${tiny[@]}" --data words.txt --lr 2e-3 --resume lr.h5
fails_cleanly "resume, another --bins" 2 "setting 'bins' is 2, this run's is 3" \
  "$P" generalize "${tiny[@]}" --data words.txt --bins 3 --resume lr.h5

# Written before the SHA-256 was recorded: nothing shows the data are the same.
incomplete old.h5
"$H5EDIT" old.h5 del-attr /generalization ids_sha256 || bad "h5edit del-attr failed"
fails_cleanly "resume, no ids_sha256" 2 "records no SHA-256 of its data .*run the sweep again without --resume" \
  "$P" generalize "${tiny[@]}" --data words.txt --resume old.h5

# A task: the settings that make its examples are compared.
task=(--encodings none --data task:copy --train-len 16 --eval-lens 16 --steps 2 --seeds 1 --dim 8 --heads 1
      --layers 1 --batch 2 --quiet)
"$P" generalize "${task[@]}" --examples 4 -o task.h5 >/dev/null 2>&1 && "$H5EDIT" task.h5 attr-int / complete 0 \
  || bad "cannot make the task fixture"
attr task.h5 /tasks/copy/ids_sha256 | grep -qE '^"[0-9a-f]{64}"$' && ok || bad "no ids_sha256 for a task"
fails_cleanly "task resume, other --examples" 2 "setting 'examples_per_length' is 4, this run's is 5" \
  "$P" generalize "${task[@]}" --examples 5 --resume task.h5
"$P" generalize "${task[@]}" --examples 4 --resume task.h5 >/dev/null 2>"$tmp/err" && ok \
  || bad "task resume with the same settings refused: $(tail -1 "$tmp/err")"

# A corpus name holding a control character is recorded sanitized; a resume
# compares it the same way and is not refused.
tab=$'tab\there.txt'
cp words.txt "$tab"
"$P" generalize "${tiny[@]}" --data "$tab" -o tab.h5 >/dev/null 2>&1 && "$H5EDIT" tab.h5 attr-int / complete 0 \
  || bad "cannot make the control-character fixture"
"$P" generalize "${tiny[@]}" --data "$tab" --resume tab.h5 >/dev/null 2>"$tmp/err" && ok \
  || bad "resume of a corpus with a tab in its name refused: $(tail -1 "$tmp/err")"

# ---- train --resume F -o F ----------------------------------------------------------
T=(train --encoding alibi --dim 16 --heads 2 --context 16 --batch 4 --steps 4000 --data words.txt)
"$P" "${T[@]}" -o full.h5 >/dev/null 2>"$tmp/err" || bad "uninterrupted train failed: $(tail -1 "$tmp/err")"
"$P" "${T[@]}" --log-every 1 -o part.h5 >/dev/null 2>part.err &
pid=$!
for _ in $(seq 1000); do grep -q '^step 2/' part.err && break; kill -0 $pid 2>/dev/null || break; sleep 0.01; done
kill -INT $pid
wait $pid
rc=$?
[ $rc = 130 ] && grep -q "interrupted at step" part.err && ok || bad "train after SIGINT: status $rc, $(tail -1 part.err)"
"$P" train --resume part.h5 -o part.h5 >/dev/null 2>"$tmp/err" && ok || bad "train --resume F -o F: $(tail -1 "$tmp/err")"
for d in /params/wte /params/qkv_weight /optimizer/v/fc_weight /train/loss; do
  [ -n "$(data full.h5 $d)" ] && [ "$(data full.h5 $d)" = "$(data part.h5 $d)" ] && ok \
    || bad "train --resume F -o F: $d differs from the uninterrupted run"
done
[ "$(attr part.h5 /train/step)" = 4000 ] && ok || bad "the resumed checkpoint is not at step 4000"
[ -z "$(ls | grep '\.tmp\.')" ] && ok || bad "temporary files left: $(ls | grep '\.tmp\.')"

# ---- slow interrupts ------------------------------------------------------------------
# term_within NAME FILE CMD...: SIGTERM term_delay (default 1) seconds after CMD starts; status
# 143 within 2 s of the signal (a watchdog kills it at 10 s), and FILE, if
# written, valid and marked incomplete.
# Sanitizer builds run 2-3x slower (and niced, beside another test): 5 s.
term_limit_ms=2000
ldd "$P" 2>/dev/null | grep -q libasan && term_limit_ms=5000
term_within() {
  local name=$1 file=$2; shift 2
  "$@" >/dev/null 2>"$tmp/slow.err" &
  local pid=$! rc
  sleep "${term_delay:-1}"
  local t0; t0=$(date +%s%N)
  kill -TERM $pid
  ( sleep 10; kill -KILL $pid 2>/dev/null ) &
  local dog=$!
  wait $pid
  rc=$?
  local ms=$((($(date +%s%N) - t0) / 1000000))
  kill $dog 2>/dev/null; wait $dog 2>/dev/null
  echo "$name: status $rc after ${ms} ms"
  [ $rc = 143 ] && ok || bad "$name: status $rc, expected 143: $(tail -1 "$tmp/slow.err")"
  [ $ms -le $term_limit_ms ] && ok || bad "$name: SIGTERM took $ms ms to be honoured (at most $term_limit_ms)"
  if [ -e "$file" ]; then
    "$P" show "$file" >"$tmp/show" 2>&1 && grep -q INCOMPLETE "$tmp/show" && ok \
      || bad "$name: $file is not a valid incomplete file: $(tail -1 "$tmp/show")"
  fi
}
# One window of 131072 tokens: minutes of attention before a poll existed
# inside it (the validation tail of a 1.5 MB corpus holds one).
yes 'alpha omega' | head -c 1500000 >long.txt
term_within "SIGTERM in one long evaluation" long.h5 \
  "$P" generalize --encodings none --train-len 16 --eval-lens 16,131072 --steps 2 --seeds 1 --dim 8 --heads 1 \
  --layers 1 --batch 2 --bins 2 --data long.txt --quiet -o long.h5
# A million test examples of a task, generated and scored in batches of 8.
term_within "SIGTERM in task example generation" examples.h5 \
  "$P" generalize --encodings none --data task:copy --train-len 16 --eval-lens 256 --steps 2 --seeds 1 --dim 8 \
  --heads 1 --layers 1 --batch 2 --examples 1048576 --quiet -o examples.h5

# One bench cell asked to repeat for 30 s: stopped between its passes. After
# 4 s Google Benchmark runs one batch of passes meant to last the 30 s (before
# this poll, SIGTERM waited for the batch: 3.7-4.9 s measured).
term_delay=4 term_within "SIGTERM inside a long bench cell" cell.h5 \
  "$P" bench --benchmark_filter=attention/backward/alibi/T:1024/C:256 --benchmark_min_time=30 -o cell.h5

finish input_test
