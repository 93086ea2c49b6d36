# GitCommit.cmake: writes OUT (git_commit.h) with the source tree's commit,
# "-dirty" when it has uncommitted changes, at every build; the file is only
# touched when the text changes, so an unchanged tree rebuilds nothing.
execute_process(COMMAND git rev-parse --short=12 HEAD WORKING_DIRECTORY ${SRC}
                OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT commit)
  set(commit "unknown")
else()
  execute_process(COMMAND git diff --quiet HEAD -- WORKING_DIRECTORY ${SRC} RESULT_VARIABLE dirty ERROR_QUIET)
  if(NOT dirty EQUAL 0)
    set(commit "${commit}-dirty")
  endif()
endif()
file(WRITE ${OUT}.tmp "/* git_commit.h: generated at build time by cmake/GitCommit.cmake. */\n#define POSBENCH_GIT_COMMIT \"${commit}\"\n")
configure_file(${OUT}.tmp ${OUT} COPYONLY)
