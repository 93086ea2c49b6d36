#!/usr/bin/env bash
# cli_test.sh: the posbench command line as a user meets it: the seed
# walk-through's output, and bad input answered by one line on stderr with
# exit status 2 and no crash.
# usage: cli_test.sh POSBENCH_BINARY [THE_VERDICT_TXT]
set -u
bin=$1
verdict=${2:-}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# expect_error "description" "message fragment" args...
expect_error() {
  local what=$1 fragment=$2; shift 2
  "$bin" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  local rc=$?
  local lines; lines=$(wc -l <"$tmp/err")
  if [ $rc -ne 2 ]; then bad "$what: exit $rc, expected 2 ($(head -c 300 "$tmp/err"))"
  elif [ "$lines" -ne 1 ]; then bad "$what: $lines lines on stderr, expected 1: $(cat "$tmp/err")"
  elif ! grep -qF -- "$fragment" "$tmp/err"; then bad "$what: message lacks '$fragment': $(cat "$tmp/err")"
  elif [ -s "$tmp/out" ]; then bad "$what: wrote to stdout"
  else ok; fi
}

# expect_output "description" "fragment" args...
expect_output() {
  local what=$1 fragment=$2; shift 2
  if ! "$bin" "$@" >"$tmp/out" 2>"$tmp/err"; then bad "$what: failed: $(cat "$tmp/err")"
  elif ! grep -qF -- "$fragment" "$tmp/out"; then bad "$what: output lacks '$fragment'"
  else ok; fi
}

printf 'hello world' >"$tmp/small.txt"
: >"$tmp/empty.txt"

expect_error "no such command" "unknown command 'frobnicate'" frobnicate
expect_error "unknown option" "unknown option '--bogus'" batches "$tmp/small.txt" --bogus
expect_error "missing value" "--batch needs a value" batches "$tmp/small.txt" --batch
expect_error "non-numeric" "'eight' is not a whole number" batches "$tmp/small.txt" --batch eight
expect_error "zero batch" "0 is out of range" batches "$tmp/small.txt" --batch 0
expect_error "negative stride" "-4 is out of range" batches "$tmp/small.txt" --stride -4
expect_error "huge context" "out of range" batches "$tmp/small.txt" --context 99999999999
expect_error "missing file" "cannot open '$tmp/nope.txt'" batches "$tmp/nope.txt"
expect_error "directory" "is a directory" batches "$tmp"
expect_error "empty file" "is empty" batches "$tmp/empty.txt"
expect_error "too short" "too short for one window" batches "$tmp/small.txt" --context 4
expect_error "shuffle without seed" "--shuffle needs an explicit --seed" batches "$tmp/small.txt" --shuffle
expect_error "missing argument" "missing argument" batches
expect_error "bad tokenizer" "is not one of gpt2|bytes" tokenize --tokenizer gpt3 "$tmp/small.txt"
expect_error "unknown encoding" "unknown encoding 'sinusoidall'" embed "$tmp/small.txt" --encoding sinusoidall
expect_error "embed: odd dim, sinusoidal" "must be even" embed "$tmp/small.txt" --encoding sinusoidal --dim 7
expect_error "embed: text too short" "too short for one window" embed "$tmp/small.txt" --context 64
expect_error "train: unknown encoding" "unknown encoding" train --encoding sinusoidall --data "$tmp/small.txt"
expect_error "train: non-numeric lr" "--lr" train --encoding none --lr abc
expect_error "train: heads not dividing dim" "divide" train --encoding none --dim 30 --heads 4
expect_error "train: zero steps" "out of range" train --encoding none --steps 0
expect_error "export: --extend on a bias encoding" "no rotation" export alibi --len 8 --extend pi --original 4 -o "$tmp/ext.h5"
expect_error "export: extension factor below 1" "--factor" export rope --len 8 --extend pi --original 4 --factor 0.5 -o "$tmp/ext.h5"
expect_error "export: unknown extension method" "unknown extension method" export rope --len 8 --extend yarm --original 4 -o "$tmp/ext.h5"
[ ! -e "$tmp/ext.h5" ] && ok || bad "a refused export wrote $tmp/ext.h5"
expect_error "train: LMAX below the context" "shorter than the context" train --encoding rope --context 16 --randomize-positions 8 --data "$tmp/small.txt"
expect_error "export: no output" "-o FILE.h5" export alibi
expect_error "export: bad variant" "has no variant 'sideways'" export rope --variant sideways -o "$tmp/r.h5"
expect_error "export: bad setting" "no setting 'bass'" export rope --set bass=3 -o "$tmp/r.h5"
[ ! -e "$tmp/r.h5" ] && ok || bad "a failed export left a file"
printf '1 2 x' >"$tmp/ids.txt"
expect_error "non-numeric ids" "expected a token id" detokenize "$tmp/ids.txt"
printf '1 99999' >"$tmp/ids.txt"
expect_error "id out of vocabulary" "99999" detokenize "$tmp/ids.txt"

# A small width with the byte vocabulary: the LM head's gradient is the
# largest product (V*C + V > 4C*C + 4C), once a heap overflow in its scratch.
printf 'abcdefghij%.0s' $(seq 200) >"$tmp/letters.txt"
if "$bin" train --encoding alibi --data "$tmp/letters.txt" --dim 32 --heads 2 --batch 8 --context 16 --steps 3 >"$tmp/out" 2>"$tmp/err"
then ok; else bad "train with dim 32, batch 8 failed: $(tail -2 "$tmp/err")"; fi

# Round trips through the command line, both tokenizers.
for tok in gpt2 bytes; do
  printf 'Caf\xc3\xa9 \xff\xfe bytes\n<|endoftext|> 42' >"$tmp/mixed.txt"
  if "$bin" tokenize --tokenizer $tok "$tmp/mixed.txt" | "$bin" detokenize --tokenizer $tok - | cmp -s - "$tmp/mixed.txt"
  then ok; else bad "tokenize | detokenize round trip ($tok)"; fi
done
expect_output "endoftext is 50256" "50256" tokenize "$tmp/mixed.txt"
expect_output "help" "usage: posbench batches" batches --help

if [ -n "$verdict" ] && [ -f "$verdict" ]; then
  expect_output "walk-through ids" "[[   40,   367,  2885,  1464]," embed "$verdict"
  expect_output "walk-through tokens" "5145 tokens" embed "$verdict"
  expect_output "walk-through token shape" "token embeddings      [8, 4, 256]" embed "$verdict"
  expect_output "walk-through positional shape" "positional embeddings [4, 256]" embed "$verdict"
  expect_output "walk-through input shape" "input embeddings      [8, 4, 256]" embed "$verdict"
  expect_output "batches JSON" '{"inputs": [[40, 367, 2885, 1464], [1807, 3619, 402, 271]' batches "$verdict" --limit 1
  expect_output "batches targets" '"targets": [[367, 2885, 1464, 1807]' batches "$verdict" --limit 1
  n=$("$bin" batches "$verdict" --batch 8 --context 4 --stride 4 | wc -l)
  [ "$n" -eq 160 ] && ok || bad "the-verdict gives $n batches of 8x4, expected 160"
  a=$("$bin" batches "$verdict" --shuffle --seed 5 --limit 2); b=$("$bin" batches "$verdict" --shuffle --seed 5 --limit 2)
  [ "$a" = "$b" ] && ok || bad "shuffle with the same seed differs"
elif [ "${POSBENCH_REQUIRE_VERDICT:-0}" = 1 ]; then
  bad "the-verdict.txt is required but missing at '$verdict'"
else
  echo "note: the-verdict.txt not found; skipping the walk-through checks"
fi

finish cli
