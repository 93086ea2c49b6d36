#!/usr/bin/env bash
# mpi_test.sh: generalize across MPI ranks, on the local machine only
# (mpirun --oversubscribe, shared memory and loopback: no network).
#   equal: a tiny corpus sweep and a tiny task sweep under mpirun -n 2 and
#     -n 3 give files equal to one process's in every deterministic dataset
#     (all but tokens/s and rank; the evaluation heap peak too, exactly:
#     core/alloc.c counts the bytes asked for, not malloc's rounding, which
#     depends on the process's heap history);
#     rank says which worker ran each run, host the local machine's name.
#   fault: a worker killed (SIGKILL) on its first run: the job ends, the
#     run it held is named with its rank, the file is marked complete = 0
#     and --resume (under mpirun, and in one process) completes it equal to
#     the single-process file.
#   failure: a run that fails on a worker is reported by name (encoding,
#     seed, rank, host), the others are written, complete = 0, exit 2, and
#     --resume runs only the missing run.
#   run (--no-bench): the corpus and task runs shared out together, equal to
#     one process's file, with its plots.
#   other commands are refused under mpirun with several ranks.
# Every side runs with OMP_NUM_THREADS=1: results are bit-identical for the
# same seed and the same OpenMP thread count.
# usage: mpi_test.sh POSBENCH_BINARY MPIRUN
set -u
bin=$1
mpirun=$2
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_h5dump
[ -x "$mpirun" ] || { echo "mpirun not found ($mpirun); skipping"; exit 77; }

export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
# Open MPI refuses root without these; tests run as root in CI containers.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Loopback only: shared memory (vader) and self; no binding, so ranks share
# the cores as the OS sees fit; quiet about the missing network.
MPI=("$mpirun" --oversubscribe --bind-to none --mca btl self,vader --mca btl_base_warn_component_unused 0)
host=$(uname -n)


# same REF FILE WHAT: every deterministic dataset of REF equals FILE's.
same() {
  local ref=$1 f=$2 what=$3 n=0 d
  for d in $(h5dump -n "$ref" | awk '$1 == "dataset" && $2 !~ /tokens_per_s|\/rank$|\/host$/ {print $2}'); do
    n=$((n + 1))
    [ "$(data "$ref" "$d")" = "$(data "$f" "$d")" ] && ok ||
      bad "$what: $d differs from one process's: $(values "$f" "$d" | head -8 | tr '\n' ' ') vs $(values "$ref" "$d" | head -8 | tr '\n' ' ')"
  done
  [ $n -ge 10 ] && ok || bad "$what: compared only $n datasets"
  [ "$(attr "$f" /complete)" = 1 ] && ok || bad "$what: not marked complete = 1"
}

# ranks FILE GROUP N: every run's rank is a worker 1..N-1 and host this one.
ranks() {
  local f=$1 g=$2 n=$3 d r
  for d in $(h5dump -n "$f" | awk -v g="$g" '$1 == "dataset" && index($2, g) == 1 && $2 ~ /\/rank$/ {print $2}'); do
    for r in $(values "$f" "$d"); do
      [ "$r" -ge 1 ] && [ "$r" -lt "$n" ] && ok || bad "$d: rank $r is not a worker of $n ranks"
    done
    for r in $(values "$f" "${d%rank}host"); do
      [ "$r" = "\"$host\"" ] && ok || bad "${d%rank}host: $r, expected \"$host\""
    done
  done
}

G=(generalize --encodings learned_absolute,alibi,rope --train-len 16 --eval-lens 16,32,64 --steps 60 --seeds 2
   --dim 16 --heads 2 --layers 1 --batch 8 --eval-tokens 512 --bins 4 --stride 8 --quiet)
T=(generalize --data task:copy --encodings alibi,rope --train-len 16 --steps 30 --seeds 2
   --dim 16 --heads 2 --layers 1 --batch 8 --examples 16 --quiet)

# ---- one process, the reference -----------------------------------------------
"$bin" "${G[@]}" -o "$tmp/one.h5" >/dev/null 2>"$tmp/err" && ok || bad "one process: $(tail -2 "$tmp/err")"
"$bin" "${T[@]}" -o "$tmp/task1.h5" >/dev/null 2>"$tmp/err" && ok || bad "one process, task: $(tail -2 "$tmp/err")"
[ "$(values "$tmp/one.h5" /generalization/alibi/rank | tr '\n' ' ')" = "0 0 " ] && ok || bad "one process: rank is not 0"

# ---- 2 and 3 ranks: equal to one process --------------------------------------
for n in 2 3; do
  "${MPI[@]}" -n $n "$bin" "${G[@]}" -o "$tmp/n$n.h5" >"$tmp/n$n.out" 2>"$tmp/n$n.err" && ok \
    || bad "mpirun -n $n: status $?: $(tail -5 "$tmp/n$n.err")"
  same "$tmp/one.h5" "$tmp/n$n.h5" "mpirun -n $n"
  ranks "$tmp/n$n.h5" /generalization $n
  grep -q "perplexity, non-overlapping windows" "$tmp/n$n.out" && ok || bad "mpirun -n $n: no tables printed"
  [ "$(grep -c 'perplexity, non-overlapping' "$tmp/n$n.out")" = 1 ] && ok || bad "mpirun -n $n: tables printed by several ranks"
  "${MPI[@]}" -n $n "$bin" "${T[@]}" -o "$tmp/task$n.h5" >/dev/null 2>"$tmp/err" && ok \
    || bad "mpirun -n $n, task: $(tail -5 "$tmp/err")"
  same "$tmp/task1.h5" "$tmp/task$n.h5" "mpirun -n $n, task"
  ranks "$tmp/task$n.h5" /tasks $n
done
"$bin" show "$tmp/n3.h5" >/dev/null 2>&1 && ok || bad "show cannot read the merged file"

# ---- a worker dies: the file is resumable ----------------------------------------
POSBENCH_TEST_MPI_DIE=2:1 "${MPI[@]}" -n 3 "$bin" "${G[@]}" -o "$tmp/die.h5" >/dev/null 2>"$tmp/die.err"
rc=$?
[ $rc != 0 ] && ok || bad "a dead rank: mpirun status 0"
[ "$(attr "$tmp/die.h5" /complete)" = 0 ] && ok || bad "a dead rank: die.h5 not marked complete = 0 ($(tail -5 "$tmp/die.err"))"
grep -qE "rank 2 .*(exited on signal 9|Killed)" "$tmp/die.err" && ok || bad "a dead rank: mpirun did not name rank 2"
# (other ranks may hold a run too when the job ends: the list's order is not fixed)
grep -E "interrupted: [0-5] of 6 runs kept in $tmp/die.h5; not finished: " "$tmp/die.err" |
  grep -E "(: |; )[a-z_]+ seed [01] on rank 2 \($host\)(; | *; continue with --resume)" | grep -q "continue with --resume" \
  && ok || bad "a dead rank: the lost run is not named: $(grep 'posbench' "$tmp/die.err")"
kept=$(values "$tmp/die.h5" /generalization/learned_absolute/measured; values "$tmp/die.h5" /generalization/alibi/measured;
       values "$tmp/die.h5" /generalization/rope/measured)
[ "$(echo "$kept" | grep -c '^0$')" -ge 1 ] && ok || bad "a dead rank: every run marked measured"
cp "$tmp/die.h5" "$tmp/die1.h5"
"${MPI[@]}" -n 2 "$bin" "${G[@]}" --resume "$tmp/die.h5" >/dev/null 2>"$tmp/err" && ok || bad "resume under mpirun: $(tail -5 "$tmp/err")"
same "$tmp/one.h5" "$tmp/die.h5" "resumed under mpirun"
"$bin" "${G[@]}" --resume "$tmp/die1.h5" >/dev/null 2>"$tmp/err" && ok || bad "resume in one process: $(tail -3 "$tmp/err")"
same "$tmp/one.h5" "$tmp/die1.h5" "resumed in one process"

# ---- a run fails on a worker: named, the rest written --------------------------
POSBENCH_TEST_MPI_FAIL=1:2 "${MPI[@]}" -n 2 "$bin" "${G[@]}" -o "$tmp/fail.h5" >/dev/null 2>"$tmp/fail.err"
rc=$?
[ $rc != 0 ] && ok || bad "a failed run: mpirun status 0"
grep -qE "error: 1 run\(s\) failed: learned_absolute seed 1 on rank 1 \($host\): injected failure .*the other 5 of 6 runs are in $tmp/fail.h5 \(complete = 0\); continue with --resume" "$tmp/fail.err" \
  && ok || bad "a failed run is not named: $(grep posbench "$tmp/fail.err")"
[ "$(attr "$tmp/fail.h5" /complete)" = 0 ] && ok || bad "a failed run: not marked complete = 0"
[ "$(values "$tmp/fail.h5" /generalization/learned_absolute/measured | tr '\n' ' ')" = "1 0 " ] && ok || bad "a failed run: measured flags"
"$bin" "${G[@]:0:${#G[@]}-1}" --resume "$tmp/fail.h5" >/dev/null 2>"$tmp/err" && ok || bad "resume of a failed run: $(tail -3 "$tmp/err")"
grep -q "5 of 6 runs kept, 1 to go" "$tmp/err" && ok || bad "resume did not run only the missing run: $(head -2 "$tmp/err")"
same "$tmp/one.h5" "$tmp/fail.h5" "failed run resumed"

# ---- run: both studies shared out together, equal to one process -------------
R=(run --no-bench --seeds 1 --encodings alibi)
"$bin" "${R[@]}" -o "$tmp/run1.h5" >/dev/null 2>"$tmp/err" && ok || bad "run, one process: $(tail -3 "$tmp/err")"
"${MPI[@]}" -n 3 "$bin" "${R[@]}" -o "$tmp/run3.h5" >"$tmp/run3.out" 2>"$tmp/err" && ok || bad "run, mpirun -n 3: $(tail -5 "$tmp/err")"
same "$tmp/run1.h5" "$tmp/run3.h5" "run under mpirun -n 3"
ranks "$tmp/run3.h5" / 3
[ -f "$tmp/run3-plots/ppl-vs-length.png" ] && ok || bad "run under mpirun: no plots"

# ---- other commands are refused ---------------------------------------------------
"${MPI[@]}" -n 2 "$bin" list >/dev/null 2>"$tmp/err"
[ $? != 0 ] && grep -q "only generalize and run share their work across MPI ranks" "$tmp/err" && ok \
  || bad "posbench list under mpirun -n 2: $(cat "$tmp/err")"

left=$(ls "$tmp" | grep '\.tmp\.' || true)
[ -z "$left" ] && ok || bad "temporary files left: $left"
finish mpi
