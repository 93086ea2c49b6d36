# tools/posbench-kernel.sh: sourced by tools/compare-torch and
# tools/measure-cores, which give PyTorch the OpenBLAS kernel posbench runs
# with (posbench may have chosen it itself; harness/results/blas_kernel.h).

# posbench_kernel_line TMPDIR CMD...: the "OpenBLAS kernel NAME (how)" line of
# the run header of a one-step `CMD train` (CMD: posbench, with any env
# prefix). The header goes to a file first: a pipe closed early would end
# posbench by SIGPIPE. Returns 1, saying why on stderr, on failure.
posbench_kernel_line() {
  local tmp=$1
  shift
  if ! "$@" train --encoding none --context 8 --steps 1 --layers 1 --dim 8 --heads 1 --tokenizer bytes \
      --data jargon --val-windows 1 >/dev/null 2>"$tmp/kernel.err"; then
    cat "$tmp/kernel.err" >&2
    echo "posbench train failed" >&2
    return 1
  fi
  grep -m1 '^OpenBLAS kernel ' "$tmp/kernel.err" || { echo "posbench train named no OpenBLAS kernel" >&2; return 1; }
}

# posbench_kernel_name LINE: the kernel's name in such a line.
posbench_kernel_name() {
  local name
  name=$(awk '{ print $3 }' <<<"$1")
  [[ $name =~ ^[A-Za-z0-9_]+$ ]] || { echo "cannot read an OpenBLAS kernel from: $1" >&2; return 1; }
  echo "$name"
}
