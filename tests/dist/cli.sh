#!/bin/sh
# `backprop train` on several processes (docs/distributed.md), end to end under mpirun:
#   * P = 2, synchronous: one model file, one report naming 2 processes, the result printed once;
#   * P = 3, asynchronous SGD: trains, the report counts the gradients;
#   * a global batch smaller than P: one clear error, exit code 2 (usage), no model file;
#   * a rank killed with kill -9 in the middle of training: the job ends within seconds with an
#     error naming that rank, never a hang.
#   cli.sh BACKPROP_BINARY SOURCE_DIR MPIRUN
set -u
BIN=$1
SRC=$2
MPIRUN="$3 --oversubscribe"
[ "$(id -u)" -eq 0 ] && MPIRUN="$MPIRUN --allow-run-as-root"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM
fail() { echo "cli.sh: FAIL: $*" >&2; exit 1; }
DATA="--data $SRC/data/Servo.csv --target Class --hidden 8"

echo "== P = 2, synchronous"
$MPIRUN -np 2 "$BIN" train $DATA --epochs 3 --batch-size 16 -o "$T/m2.safetensors" --report "$T/r2.json" \
  >"$T/out2" 2>&1 || { cat "$T/out2"; fail "mpirun -np 2 train exited with $?"; }
[ "$(grep -c '^model saved to' "$T/out2")" -eq 1 ] || { cat "$T/out2"; fail "the result was not printed exactly once"; }
[ -s "$T/m2.safetensors" ] || fail "no model file"
grep -q '"processes": *2' "$T/r2.json" || grep -q '"processes":2' "$T/r2.json" || { cat "$T/r2.json"; fail "the report does not name 2 processes"; }
[ "$(ls "$T" | grep -c tmp)" -eq 0 ] || fail "temporary files left: $(ls "$T")"

echo "== P = 3, asynchronous"
$MPIRUN -np 3 "$BIN" train $DATA --epochs 3 --batch-size 16 --async --max-staleness 4 -q -o "$T/m3.safetensors" \
  --report "$T/r3.json" >"$T/out3" 2>&1 || { cat "$T/out3"; fail "mpirun -np 3 train --async exited with $?"; }
grep -q 'gradients_applied' "$T/r3.json" || { cat "$T/r3.json"; fail "the async report has no gradient counts"; }

echo "== a batch smaller than P"
$MPIRUN -np 3 "$BIN" train $DATA --epochs 1 --batch-size 2 -o "$T/bad.safetensors" >"$T/outb" 2>&1
code=$?
[ "$code" -eq 2 ] || { cat "$T/outb"; fail "exit code $code, expected 2 (usage)"; }
[ "$(grep -c '^backprop: error: ' "$T/outb")" -eq 1 ] || { cat "$T/outb"; fail "not exactly one error line"; }
grep -q 'smaller than the 3 processes' "$T/outb" || { cat "$T/outb"; fail "the error does not say why"; }
[ ! -e "$T/bad.safetensors" ] || fail "a model file was written"

echo "== kill -9 of rank 1"
# A run far longer than the test: Servo, full batch, many epochs. The ranks' PIDs are found
# by their OMPI_COMM_WORLD_RANK among mpirun's children.
$MPIRUN -np 3 "$BIN" train $DATA --epochs 100000 --batch-size 4 -q -o "$T/k.safetensors" >"$T/outk" 2>&1 &
MPIRUN_PID=$!
victim=""
i=0
while [ -z "$victim" ] && [ $i -lt 100 ]; do
  sleep 0.2
  i=$((i + 1))
  for d in /proc/[0-9]*; do  # mpirun's children (no pgrep: procps may be missing)
    [ "$(awk '$1 == "PPid:" { print $2 }' "$d/status" 2>/dev/null)" = "$MPIRUN_PID" ] || continue
    if tr '\0' '\n' <"$d/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1'; then victim=${d#/proc/}; fi
  done
done
[ -n "$victim" ] || { kill -9 "$MPIRUN_PID"; cat "$T/outk"; fail "rank 1 was not found among mpirun's children"; }
sleep 2  # into the training loop
start=$(date +%s)
kill -9 "$victim"
i=0
while kill -0 "$MPIRUN_PID" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 "$MPIRUN_PID" 2>/dev/null; then
  kill -9 "$MPIRUN_PID"
  cat "$T/outk"
  fail "the job still runs 30 s after rank 1 was killed"
fi
wait "$MPIRUN_PID"
code=$?
took=$(( $(date +%s) - start ))
[ "$code" -ne 0 ] || { cat "$T/outk"; fail "mpirun exited with 0 after a rank was killed"; }
grep -q 'rank 1' "$T/outk" || { cat "$T/outk"; fail "the error does not name rank 1"; }
echo "the job ended ${took}s after the kill, exit code $code"
[ "$took" -le 10 ] || fail "the job took ${took}s to end"
echo "cli.sh: ok"
