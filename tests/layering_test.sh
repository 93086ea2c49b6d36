#!/usr/bin/env bash
# layering_test.sh: every #include "..." in the library code stays within the
# layers its folder may use (the same map as the CMake libraries in the top
# CMakeLists.txt and harness/*/CMakeLists.txt, which fail to link a call up
# the stack; this names the include that started it).
# usage: layering_test.sh SOURCE_DIR
set -u
cd "$1" || exit 1
. tests/lib.sh
# folder: the folders its includes may reach (itself always)
allowed() {
  case $1 in
    core) echo "core" ;;
    datasets|encodings) echo "core $1" ;;
    harness/model) echo "core encodings harness/model" ;;
    harness/train) echo "core datasets encodings harness/model harness/train" ;;
    harness/bench) echo "core datasets encodings harness/model harness/bench" ;;
    harness/results) echo "core datasets encodings harness/model harness/train harness/bench harness/results" ;;
    harness/sweep) echo "core datasets encodings harness/model harness/train harness/results harness/sweep" ;;
    harness/report) echo "core datasets encodings harness/model harness/train harness/bench harness/results harness/report" ;;
    harness/cli) echo "core datasets encodings harness/model harness/train harness/bench harness/results harness/sweep harness/report harness/cli" ;;
    *) echo "?" ;;
  esac
}
files=$(git ls-files 'core/*.[ch]' 'datasets/*.[ch]' 'encodings/*.[ch]' 'harness/*.[ch]' 'harness/*.cc')
[ -n "$files" ] || { echo "no sources found"; exit 1; }
for f in $files; do
  dir=$(dirname "$f")
  ok_dirs=$(allowed "$dir")
  [ "$ok_dirs" = "?" ] && { bad "$f: its folder $dir has no place in the layer map"; continue; }
  while IFS= read -r inc; do
    target=$(realpath -m --relative-to=. "$dir/$inc")
    [ -e "$target" ] || continue  # generated (version.h) or a system header
    tdir=$(dirname "$target")
    case " $ok_dirs " in *" $tdir "*) ok ;; *) bad "$f includes $inc: $dir may not use $tdir" ;; esac
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
done
finish layering
