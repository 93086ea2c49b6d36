#!/usr/bin/env bash
# writes_test.sh: writes never follow a link posbench did not choose and never
# clobber what they were not asked to (core/safe_file.h, harness/report/plot_dir.h):
#   - links planted at the predictable temporary names of older posbench
#     (<out>.tmp.<pid>) are never written through;
#   - --force replaces a regular file, or a link as a link (its target is
#     untouched); FIFOs, device nodes and directories are refused unchanged;
#   - plot draws into a new directory, or an existing one only with --force,
#     never through links inside it, all or nothing;
#   - stale temporaries of dead runs go, nothing else does.
# usage: writes_test.sh POSBENCH_BINARY H5EDIT_BINARY
set -u
P=$(readlink -f "$1")
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$tmp" || exit 1
export_to() { "$P" export alibi --len 8 --dim 8 --heads 2 -o "$@" >/dev/null 2>"$tmp/err"; }
victim=$tmp/victim.txt
reset_victim() { printf 'precious\n' >"$victim"; }
victim_intact() { [ "$(cat "$victim")" = precious ] && ok || bad "$1: the link's target was overwritten"; }
temps_left() { find "$tmp" -path "$tmp/stale" -prune -o -name '*.tmp.*' -print; }
printf 'abcdefghij%.0s' $(seq 200) >"$tmp/letters.txt"

# ---- links planted at the temporary names older posbench predicted ----------
reset_victim
# One process plants them all, so the pids that follow stay predictable.
read -r last </proc/sys/kernel/ns_last_pid
perl -e 'symlink($ARGV[0], "planted.h5.tmp.$_") or die for $ARGV[1] .. $ARGV[1] + 300' "$victim" "$((last + 1))"
export_to planted.h5 && ok || bad "export beside planted links failed: $(cat "$tmp/err")"
victim_intact "links at <out>.tmp.<pid>"
[ -f planted.h5 ] && [ ! -L planted.h5 ] && ok || bad "planted.h5 is not a regular file"
rm -f planted.h5.tmp.*

# Where strace is installed: the temporary is created exclusively, under a
# name with a random suffix.
if command -v strace >/dev/null; then
  strace -f -e trace=open,openat -o "$tmp/trace" "$P" export alibi --len 8 --dim 8 --heads 2 -o traced.h5 >/dev/null 2>&1
  call=$(grep 'traced\.h5\.tmp\.' "$tmp/trace" | grep -m1 O_CREAT)
  case $call in *traced.h5.tmp.[0-9]*.[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]\"*O_CREAT*O_EXCL*) ok ;;
    *) bad "temporary not created exclusively under a random name: $call" ;; esac
fi

# ---- --force: regular files and links only ----------------------------------
reset_victim
ln -s "$victim" link.h5
fails_cleanly "no --force over a link" 2 "'link.h5' exists; choose another path or pass --force" \
  "$P" export alibi --len 8 --dim 8 --heads 2 -o link.h5
ln -s "$tmp/nowhere" dangling.h5
fails_cleanly "no --force over a dangling link" 2 "'dangling.h5' exists" \
  "$P" export alibi --len 8 --dim 8 --heads 2 -o dangling.h5
export_to link.h5 --force && ok || bad "--force over a link failed: $(cat "$tmp/err")"
victim_intact "--force over a link"
[ -f link.h5 ] && [ ! -L link.h5 ] && ok || bad "--force did not replace the link by a file"
mkfifo fifo.h5
fails_cleanly "--force over a FIFO" 2 "'fifo.h5' is a FIFO; --force replaces only regular files" \
  "$P" export alibi --len 8 --dim 8 --heads 2 -o fifo.h5 --force
[ -p fifo.h5 ] && ok || bad "the FIFO was replaced"
mkdir dir.h5
fails_cleanly "--force over a directory" 2 "'dir.h5' is a directory" \
  "$P" export alibi --len 8 --dim 8 --heads 2 -o dir.h5 --force
if mknod null.h5 c 1 3 2>/dev/null; then
  fails_cleanly "--force over a device node" 2 "'null.h5' is a character device" \
    "$P" export alibi --len 8 --dim 8 --heads 2 -o null.h5 --force
  [ -c null.h5 ] && ok || bad "the device node was replaced"
fi
# the same rule for every writer: generalize, train, bench, run check first
fails_cleanly "generalize --force over a FIFO" 2 "is a FIFO" "$P" generalize --encodings none --train-len 8 \
  --eval-lens 8 --steps 1 --seeds 1 --dim 8 --heads 1 --layers 1 --data task:copy --quiet -o fifo.h5 --force
fails_cleanly "train --force over a FIFO" 2 "is a FIFO" "$P" train --encoding none --data "$tmp/letters.txt" \
  --steps 1 --dim 8 --heads 1 --layers 1 --context 8 -o fifo.h5 --force
fails_cleanly "bench --force over a FIFO" 2 "is a FIFO" "$P" bench --quick -o fifo.h5 --force
fails_cleanly "run --force over a FIFO" 2 "is a FIFO" "$P" run -o fifo.h5 --force

# ---- plot directories --------------------------------------------------------
export_to e.h5 || bad "fixture export failed: $(cat "$tmp/err")"
"$P" plot e.h5 -o plots >/dev/null 2>"$tmp/err" && ok || bad "plot into a new directory failed: $(cat "$tmp/err")"
[ -f plots/bias.png ] && [ -f plots/slopes.svg ] && ok || bad "plots missing: $(ls plots)"
before=$(stat -c %Y plots/bias.png)
fails_cleanly "plot into an existing directory without --force" 2 "'plots' exists; choose another directory or pass --force" \
  "$P" plot e.h5 -o plots
[ "$(stat -c %Y plots/bias.png)" = "$before" ] && ok || bad "plots changed without --force"
reset_victim
rm plots/bias.png && ln -s "$victim" plots/bias.png
"$P" plot e.h5 -o plots --force >/dev/null 2>"$tmp/err" && ok || bad "plot --force failed: $(cat "$tmp/err")"
victim_intact "a link inside the plot directory"
[ -f plots/bias.png ] && [ ! -L plots/bias.png ] && ok || bad "plot wrote through the link instead of replacing it"
rm plots/slopes.svg && mkfifo plots/slopes.svg
cp plots/bias.png "$tmp/bias.before"
fails_cleanly "plot --force with a FIFO inside" 2 "'plots/slopes.svg' is not a regular file; nothing was replaced" \
  "$P" plot e.h5 -o plots --force
[ -p plots/slopes.svg ] && cmp -s plots/bias.png "$tmp/bias.before" && ok || bad "plot replaced files before refusing"
ln -s plots plots-link
fails_cleanly "plot into a link to a directory" 2 "'plots-link' is a symbolic link" "$P" plot e.h5 -o plots-link --force
# a failed plot leaves nothing: gnuplot missing
fails_cleanly "plot without gnuplot" 2 "gnuplot not found" env PATH=/nonexistent "$P" plot e.h5 -o nognuplot
[ ! -e nognuplot ] && ok || bad "a failed plot left its directory"

# ---- stale temporaries ---------------------------------------------------------
# pid_max + 1 names no process; $$ (this shell) is alive.
dead=$(( $(cat /proc/sys/kernel/pid_max) + 1 ))
mkdir stale && cd stale || exit 1
printf x >"out.h5.tmp.$dead.0123456789ab"
printf x >"other.h5.tmp.$dead.ba9876543210"
printf x >"live-out.h5.tmp.$$.0123456789ab"       # its process runs: kept
printf x >"stale-keep.tmp.$dead"                   # not posbench's full form: kept
printf x >"stale-keep.h5.tmp.$dead.XYZ"            # not hex: kept
ln -s "$victim" "link.h5.tmp.$dead.0123456789ab" # a link: kept
reset_victim
export_to out.h5 && ok || bad "export into the stale directory failed: $(cat "$tmp/err")"
[ ! -e "out.h5.tmp.$dead.0123456789ab" ] && [ ! -e "other.h5.tmp.$dead.ba9876543210" ] && ok ||
  bad "stale temporaries of a dead run left: $(ls)"
mkdir "plots.tmp.$dead.00112233aabb" && printf x >"plots.tmp.$dead.00112233aabb/a.png"
"$P" plot out.h5 -o plots >/dev/null 2>"$tmp/err" && ok || bad "plot in the stale directory failed: $(cat "$tmp/err")"
[ ! -e "plots.tmp.$dead.00112233aabb" ] && ok || bad "the stale plot directory was left"
[ -e "live-out.h5.tmp.$$.0123456789ab" ] && [ -e "stale-keep.tmp.$dead" ] && [ -e "stale-keep.h5.tmp.$dead.XYZ" ] &&
  [ -L "link.h5.tmp.$dead.0123456789ab" ] && ok || bad "clean-up removed what was not a stale temporary: $(ls)"
victim_intact "stale clean-up"
cd "$tmp" || exit 1

left=$(temps_left)
[ -z "$left" ] && ok || bad "temporary files left: $left"
finish writes
