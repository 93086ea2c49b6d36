#!/usr/bin/env bash
# h5read_test.sh: reading a hostile results file (harness/results/h5io.h). `show` and
# `plot` must refuse, with exit status 2, a one-line error naming the problem,
# no crash and no hang (each run has 10 s):
#   - the results path is a FIFO, /dev/zero or a directory (never opened);
#   - an external link, to a FIFO (would block) or to a regular file;
#   - a soft link; external storage (into a FIFO or a file), a virtual
#     dataset (into a FIFO);
#   - an export whose bias declares 2^49 values (no wrap), 2^72 (wraps the
#     element count to 0: plot crashed) or 2^62 floats (wraps the bytes);
#   - an attribute of 2 MB.
# Files posbench writes, with datasets far larger than the walk's slack,
# still show, plot and resume.
# And `show` prints strings from a file (provenance, a corpus name, a bench
# row's encoding and pass) and its own file name with control characters
# escaped: no byte below 0x20 but newline reaches stdout, no line is forged.
# Old posbench hung on the FIFOs, crashed on the 2^72 bias, printed all raw.
# usage: h5read_test.sh POSBENCH_BINARY H5EDIT_BINARY
set -u
P=$(readlink -f "$1")
H5EDIT=$(readlink -f "$2")
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$tmp" || exit 1
# Allocation failures must be reported even under AddressSanitizer.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}allocator_may_return_null=1

# ---- fixtures ------------------------------------------------------------------
printf 'abcdefghij%.0s' $(seq 200) >letters.txt
"$P" export alibi --len 16 --dim 8 --heads 2 -o export.h5 >/dev/null ||
  { echo "h5read: cannot make the export fixture" >&2; exit 1; }
mkfifo fifo
head -c 4096 /dev/zero >raw.bin
mkdir dir
# crafted NAME H5EDIT-ARGS [; H5EDIT-ARGS ...]: a copy of export.h5, edited
crafted() {
  local name=$1; shift
  cp export.h5 "$name"
  local args=()
  for a in "$@" ";"; do
    if [ "$a" = ";" ]; then
      "$H5EDIT" "$name" "${args[@]}" || { echo "h5read: h5edit ${args[*]} failed" >&2; exit 1; }
      args=()
    else
      args+=("$a")
    fi
  done
}
crafted elink-fifo.h5 ext-link /bias "$tmp/fifo" /bias
crafted elink-file.h5 ext-link /bias "$tmp/export.h5" /bias
crafted soft.h5 soft-link /bias /slopes
crafted external.h5 external /bias "$tmp/fifo" 2 16 16
crafted external-file.h5 external /bias "$tmp/raw.bin" 2 16 16
crafted virtual.h5 virtual /bias "$tmp/fifo" /bias 2 16 16
# T and H within check_export's range, their product not: the old count wrapped.
crafted huge.h5 attr-int / T 16777216 ";" huge /bias 2 16777216 16777216 ";" del /slopes
crafted wrap.h5 attr-int / T 16777216 ";" attr-int / H 16777216 ";" \
        huge /bias 16777216 16777216 16777216 ";" del /slopes
crafted wrap-bytes.h5 attr-int / T 1048576 ";" attr-int / H 4194304 ";" \
        huge /bias 4194304 1048576 1048576 ";" del /slopes
head -c 2000000 /dev/zero | tr '\0' a >big.txt
crafted big-attr.h5 attr-bytes /big blob big.txt

# ---- refusals ---------------------------------------------------------------------
# refused NAME REGEX CMD...: exit 2 within 10 s, no sanitizer report or HDF5
# stack, stderr exactly one line matching REGEX.
refused() {
  local name=$1 re=$2; shift 2
  local rc=0
  timeout 10 "$@" >out 2>err </dev/null || rc=$?
  if [ "$rc" -eq 124 ]; then bad "$name: hung (no answer in 10 s)"; return; fi
  if [ "$rc" -ne 2 ]; then bad "$name: exit $rc, expected 2: $(tail -3 err)"; return; fi
  if grep -qE 'Sanitizer|runtime error|HDF5-DIAG' err; then bad "$name: sanitizer or HDF5 report"; return; fi
  if [ "$(wc -l <err)" -ne 1 ]; then bad "$name: $(wc -l <err) lines on stderr, expected one"; return; fi
  if ! grep -qE -- "$re" err; then bad "$name: error '$(cat err)' does not match /$re/"; return; fi
  ok
}
crafted_error='\(damaged or crafted file\)$'
for cmd in show plot; do
  dest=(); [ $cmd = plot ] && dest=(-o "$tmp/p-$cmd")
  refused "$cmd FIFO path" "'$tmp/fifo' is not an HDF5 file: it is a FIFO" "$P" $cmd "$tmp/fifo" "${dest[@]}"
  refused "$cmd /dev/zero" "'/dev/zero' is not an HDF5 file: it is a character device" "$P" $cmd /dev/zero "${dest[@]}"
  refused "$cmd directory" "'$tmp/dir' is not an HDF5 file: it is a directory" "$P" $cmd "$tmp/dir" "${dest[@]}"
  refused "$cmd external link to a FIFO" "'elink-fifo.h5': /bias is an external link \(to /bias in '$tmp/fifo'\).*$crafted_error" \
    "$P" $cmd elink-fifo.h5 "${dest[@]}"
  refused "$cmd external link to a file" "'elink-file.h5': /bias is an external link.*$crafted_error" \
    "$P" $cmd elink-file.h5 "${dest[@]}"
  refused "$cmd soft link" "'soft.h5': /bias is a soft link \(to /slopes\).*$crafted_error" "$P" $cmd soft.h5 "${dest[@]}"
  refused "$cmd external storage (FIFO)" "'external.h5': /bias keeps its data in the external file '$tmp/fifo'" \
    "$P" $cmd external.h5 "${dest[@]}"
  refused "$cmd external storage (file)" "'external-file.h5': /bias keeps its data in the external file" \
    "$P" $cmd external-file.h5 "${dest[@]}"
  refused "$cmd virtual dataset" "'virtual.h5': /bias is a virtual dataset" "$P" $cmd virtual.h5 "${dest[@]}"
  refused "$cmd huge bias (2^49)" "'huge.h5': /bias declares 2\^49 elements .*more than the file's [0-9]+ bytes hold" \
    "$P" $cmd huge.h5 "${dest[@]}"
  refused "$cmd wrapping bias (2^72)" "'wrap.h5': /bias declares 2\^72 elements .*more than the file's" \
    "$P" $cmd wrap.h5 "${dest[@]}"
  refused "$cmd wrapping bytes (2^62 floats)" "'wrap-bytes.h5': /bias declares 2\^62 elements \(2\^64 bytes\)" \
    "$P" $cmd wrap-bytes.h5 "${dest[@]}"
  refused "$cmd 2 MB attribute" "'big-attr.h5': attribute 'blob' of /big declares .*2000000 bytes.*1 MiB" \
    "$P" $cmd big-attr.h5 "${dest[@]}"
  [ -e "$tmp/p-$cmd" ] && bad "$cmd: a refused file left $tmp/p-$cmd behind" || ok
done

# ---- what posbench writes still reads: datasets far past the slack ---------------
# (a 256 KiB position table, a checkpoint's 128 KiB tensors)
"$P" export learned_absolute --len 1024 --dim 64 -o large.h5 >/dev/null 2>err &&
  "$P" show large.h5 >/dev/null 2>err && ok || bad "show of a large export: $(tail -1 err)"
if command -v gnuplot >/dev/null; then
  "$P" plot large.h5 -o large-plots >/dev/null 2>err && ok || bad "plot of a large export: $(tail -1 err)"
fi
for _ in 1 2 3 4 5 6 7 8; do cat letters.txt; done >letters8.txt
"$P" train --encoding learned_absolute --data letters8.txt --context 256 --batch 2 --steps 2 --dim 64 --heads 1 \
  -o ckpt.h5 >/dev/null 2>err && "$P" train --resume ckpt.h5 --steps 3 -o ckpt3.h5 >/dev/null 2>err && ok ||
  bad "train --resume of a checkpoint with 128 KiB tensors: $(tail -1 err)"

# ---- display: show escapes what it prints ---------------------------------------
payload=$(printf 'X\033[31mRED\nFORGED LINE\a\033]0;title\a')
printf '%s' "$payload" >payload.txt
# clean NAME FILE: exit 0, no byte below 0x20 but newline, no forged line.
clean() {
  local name=$1; shift
  local rc=0
  timeout 10 "$@" >out 2>err </dev/null || rc=$?
  if [ "$rc" -ne 0 ]; then bad "$name: exit $rc: $(tail -2 err)"; return; fi
  if LC_ALL=C grep -q '[[:cntrl:]]' <(tr -d '\n' <out); then
    bad "$name: control characters reach stdout: $(LC_ALL=C grep -n '[[:cntrl:]]' out | head -2 | od -c | head -3)"
    return
  fi
  if grep -q '^FORGED' out; then bad "$name: a forged line"; return; fi
  if ! grep -q 'X?\[31mRED?FORGED LINE?' out; then bad "$name: the payload is not shown escaped"; return; fi
  ok
}
crafted prov.h5 attr-bytes / command_line payload.txt ";" attr-bytes / host payload.txt ";" \
        attr-bytes / cpu_model payload.txt
clean "show: provenance strings" "$P" show prov.h5
# a file name from the command line
evil="$tmp/$payload.h5"
cp export.h5 "$evil"
clean "show: the file name" "$P" show "$evil"
# a corpus name: no crafting needed, the name is a real file's
cp letters.txt "$payload.txt"
"$P" generalize --encodings none --train-len 8 --eval-lens 8 --steps 2 --seeds 1 --dim 8 --heads 1 --layers 1 \
  --batch 2 --eval-tokens 64 --data "$payload.txt" --quiet -o gen.h5 >/dev/null 2>err ||
  bad "generalize on a corpus named with escapes failed: $(tail -1 err)"
[ -f gen.h5 ] && clean "show: a corpus name" "$P" show gen.h5
# an encoding name in a bench row
bench_ref=$src/results/bench/bench-reference.h5
if [ -f "$bench_ref" ]; then
  cp "$bench_ref" bench.h5
  "$H5EDIT" bench.h5 bench-str /bench/throughput 0 encoding payload.txt &&
    "$H5EDIT" bench.h5 bench-str /bench/throughput 1 pass payload.txt || bad "h5edit bench-str failed"
  clean "show: a bench row's encoding and pass" "$P" show bench.h5
fi
finish h5read
