#!/bin/bash
# One training per run folder (issue 12 point 3): a second nlcl train started
# into the folder of a running one refuses at once, naming the holder, and
# touches nothing of the first; the lock is held for the run's life and
# released on every exit (Ctrl-C, a failed start, SIGKILL: the kernel drops a
# flock with its process), so a killed run's folder resumes and the stale
# record is recognised (its temporary files removed). Loss plots use unique
# temporary names; the plot's child process holds no copy of the lock.
set -u
source "$(dirname "$0")/common.bash"

"$NLCL" synth --scenes 2 --scene-size 48 -o "$T/data" >/dev/null 2>&1
TINY=(--rainy "$T/data/rainy" --clean "$T/data/clean" --crop 32 --batch 1 --channels 4 --blocks 1 --ndf 4
      --n-loc 16 --n-pos 4 --n-neg 8 --loc-taps 0,1 --threads 1 --save-every 5 --sample-every 0)
R="$T/run"

# start_long: a run that goes on until stopped; waits for its lock record
start_long() {
  "$NLCL" train "${TINY[@]}" --iters 1000000 "$@" --out "$R" >/dev/null 2>"$T/first.err" &
  pid=$!
  for _ in $(seq 600); do
    grep -q "^pid $pid$" "$R/nlcl.lock" 2>/dev/null && [ -s "$R/checkpoint.safetensors" ] && return 0
    sleep 0.1
  done
  return 1
}
snapshot() { (cd "$R" && sha256sum config.txt checkpoint.safetensors) >"$T/sums"; }

check "a first run holds the lock (pid in $R/nlcl.lock)" start_long
kill -STOP $pid # frozen, so that its files stay as they are while the second one tries
snapshot
for args in "" "--resume"; do
  "$NLCL" train "${TINY[@]}" --iters 10 $args --out "$R" >/dev/null 2>"$T/err"; rc=$?
  check "a second train ${args:-(new)} in the same folder: status 1" status 1
  check "... names the folder and the running one" has "nlcl train: $R: another nlcl train (pid $pid on "
  check "... touches nothing of the first" sh -c "cd '$R' && sha256sum -c --quiet '$T/sums'"
done
cat "$T/err"
kill -CONT $pid
kill -INT $pid
wait $pid; rc=$?
check "the first, interrupted: status 130" status 130
check "... the lock record is cleared on exit" test ! -s "$R/nlcl.lock"

"$NLCL" train "${TINY[@]}" --iters 1000000 --resume --out "$R" >/dev/null 2>"$T/first.err" &
pid=$!
for _ in $(seq 600); do grep -q "^pid $pid$" "$R/nlcl.lock" 2>/dev/null && break; sleep 0.1; done
kill -KILL $pid
wait $pid 2>/dev/null
check "a run killed with SIGKILL leaves its record" grep -q "^pid $pid$" "$R/nlcl.lock"
# what a run killed in the middle of its writes leaves (and a user's own file)
touch "$R/checkpoint.safetensors.tmp-Ab12Cd" "$R/losses.png.tmp-x9Y8z7.png" "$R/my.tmp-notes.txt"
"$NLCL" train "${TINY[@]}" --iters 1000000 --resume --out "$R" >/dev/null 2>"$T/err" &
pid2=$!
for _ in $(seq 600); do grep -q "^pid $pid2$" "$R/nlcl.lock" 2>/dev/null && break; sleep 0.1; done
check "... its folder resumes (the new run holds the lock)" grep -q "^pid $pid2$" "$R/nlcl.lock"
check "... and the stale lock is recognised" has "nlcl train: $R: the lock of an earlier run (pid $pid) that ended without releasing it"
kill -INT $pid2
wait $pid2; rc=$?
check "... it stops with a checkpoint: status 130" status 130
check "... the killed run's temporary files are removed, and said so" has "temporary files of that run removed"
check "... no temporary file left (unique plot names included)" sh -c "! ls '$R' | grep -v '^my.tmp-notes.txt$' | grep -q tmp"
check "... a file of the user's that looks alike is kept" test -e "$R/my.tmp-notes.txt"
cat "$T/err"

# a failed start in a folder it made leaves no folder (nor lock) behind
"$NLCL" train "${TINY[@]}" --iters 10 --rainy "$T/missing" --out "$T/new" >/dev/null 2>"$T/err"; rc=$?
check "a failed start: status 1" status 1
check "... the folder it made is removed, lock included" test ! -e "$T/new"

exit $fail
