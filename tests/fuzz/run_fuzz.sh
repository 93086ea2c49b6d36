#!/usr/bin/env bash
# run_fuzz.sh: builds the libFuzzer targets with clang-14 (ASan + UBSan) in a
# sub-build and runs each for SECONDS on a scratch copy of its committed
# corpus; fails on any finding. Prints the executions run per target.
# usage: run_fuzz.sh SOURCE_DIR FUZZ_BUILD_DIR [SECONDS]
# To grow a corpus (then keep it small):
#   FUZZ_BUILD_DIR/tests/fuzz/fuzz_X -max_total_time=600 new/ tests/fuzz/corpus/fuzz_X
#   FUZZ_BUILD_DIR/tests/fuzz/fuzz_X -merge=1 min/ tests/fuzz/corpus/fuzz_X new/   # min/ replaces the corpus
set -u
src=$1 sub=$2 secs=${3:-8}
for tool in clang-14 clang++-14; do
  command -v $tool >/dev/null || { echo "fuzz: $tool not installed (tools/setup installs clang-14, libclang-rt-14-dev); skipped"; exit 77; }
done
if [ ! -f "$sub/CMakeCache.txt" ]; then
  nice -n 19 cmake -S "$src" -B "$sub" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPOSBENCH_FUZZ=ON \
    -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 >/tmp/posbench-fuzz-configure.$$.log 2>&1 ||
    { cat /tmp/posbench-fuzz-configure.$$.log; rm -rf "$sub" /tmp/posbench-fuzz-configure.$$.log
      echo "fuzz: configuring the clang sub-build failed"; exit 1; }
  rm -f /tmp/posbench-fuzz-configure.$$.log
fi
targets=(fuzz_tokenizer fuzz_args fuzz_results)
nice -n 19 cmake --build "$sub" --target "${targets[@]}" -j2 >"$sub/fuzz-build.log" 2>&1 ||
  { tail -40 "$sub/fuzz-build.log"; echo "fuzz: building the fuzz targets failed"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for t in "${targets[@]}"; do
  mkdir -p "$tmp/$t"
  (cd "$tmp" && nice -n 19 "$sub/tests/fuzz/$t" -max_total_time="$secs" -timeout=30 -rss_limit_mb=3072 \
     -max_len=2048 -error_exitcode=99 -timeout_exitcode=98 -print_final_stats=1 -artifact_prefix="$tmp/$t-" "$tmp/$t" "$src/tests/fuzz/corpus/$t") \
     >"$tmp/$t.log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/$t.log")
  if [ $rc -eq 3 ]; then
    echo "$t: skipped: $(grep -m1 'fuzz_' "$tmp/$t.log")"
  elif [ $rc -ne 0 ]; then
    failed=1
    echo "$t: FINDING (exit $rc) after ${execs:-?} executions:"
    grep -v '^#\|^INFO\|^stat::' "$tmp/$t.log" | head -40
    for a in "$tmp/$t"-*; do [ -f "$a" ] && { echo "input ($a):"; od -c "$a" | head -10; }; done
  else
    corpus=$(ls "$src/tests/fuzz/corpus/$t" | wc -l)
    echo "$t: ${execs:-?} executions in ${secs} s, no findings (committed corpus $corpus inputs, $(ls "$tmp/$t" | wc -l) new)"
  fi
done
exit $failed
