#!/usr/bin/env bash
# format_test.sh: every C and C++ source the project tracks is formatted as
# .clang-format says (clang-format-14, installed by tools/setup), so the
# style stays one style. Fix with:
#   clang-format-14 -i $(git ls-files '*.c' '*.h' '*.cc')
# usage: format_test.sh SOURCE_DIR
set -u
cd "$1" || exit 1
cf=$(command -v clang-format-14 || command -v clang-format) ||
  { echo "clang-format-14 not installed (tools/setup installs it); skipping"; exit 77; }
bad=0
files=$(git ls-files '*.c' '*.h' '*.cc')
for f in $files; do
  if ! "$cf" --style=file --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "not formatted: $f (clang-format-14 -i $f)"
    bad=$((bad + 1))
  fi
done
echo "format: $(echo "$files" | wc -l) files, $bad not formatted"
[ "$bad" -eq 0 ]
