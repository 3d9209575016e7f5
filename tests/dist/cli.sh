#!/bin/sh
# `backprop train` on several processes (docs/distributed.md), end to end under mpirun:
#   * P = 2, synchronous: one model file, one report naming 2 processes, the result printed once;
#   * P = 3, asynchronous SGD: trains, the report counts the gradients;
#   * a global batch smaller than P: one clear error, exit code 2 (usage), no model file;
#   * a rank killed with kill -9 in the middle of training: the job ends within seconds with an
#     error naming that rank, never a hang;
#   * checkpoints at P = 2: a run stopped by SIGTERM sent to rank 1 alone stops on both ranks
#     (exit 143, one message, one checkpoint, no temporary file); resumed at P = 2 it ends with
#     the model tensors of the run never stopped, bit for bit; resumed in one process and at
#     P = 3 it agrees to float rounding; --async refuses --checkpoint.
#   cli.sh BACKPROP_BINARY SOURCE_DIR MPIRUN
set -u
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")  # absolute: some ranks run in other folders
SRC=$(cd "$2" && pwd)
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

# rank_pid MPIRUN_PID RANK: the PID of that rank among mpirun's children (no pgrep: procps may
# be missing), empty until it has started.
rank_pid() {
  for d in /proc/[0-9]*; do
    [ "$(awk '$1 == "PPid:" { print $2 }' "$d/status" 2>/dev/null)" = "$1" ] || continue
    if tr '\0' '\n' <"$d/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2"; then echo "${d#/proc/}"; fi
  done
}
# tensors FILE: a safetensors file's data part (the header, which holds the run's times, left out).
tensors() {
  n=$(od -An -t u8 -N8 "$1" | tr -d ' ')
  tail -c +$((n + 9)) "$1"
}
# max_diff A B: the largest |a - b| over the two model files' floats, over the largest |b|.
max_diff() {
  tensors "$1" | od -An -v -t f4 -w4 >"$T/fa"
  tensors "$2" | od -An -v -t f4 -w4 >"$T/fb"
  paste "$T/fa" "$T/fb" | awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d; b = $2 < 0 ? -$2 : $2; if (b > s) s = b }
    END { printf "%.3g\n", m / s }'
}

echo "== checkpoints at P = 2: stopped by SIGTERM to rank 1, resumed at P = 2, 1 and 3"
CK="$DATA --epochs 1000 --batch-size 4 -q"  # 34 000 steps, about a second
$MPIRUN -np 2 "$BIN" train $CK -o "$T/straight.safetensors" >"$T/outs" 2>&1 || { cat "$T/outs"; fail "the run without checkpoints failed"; }
# Rank 0 runs in ck/, rank 1 in other/, and the files are named relative to them: rank 1 must
# write nothing (no checkpoint, no temporary, no model).
mkdir "$T/ck" "$T/other"
ARGS="train $CK --checkpoint run.ckpt --checkpoint-every 200steps -o resumed.safetensors"
$MPIRUN -np 1 -wdir "$T/ck" "$BIN" $ARGS : -np 1 -wdir "$T/other" "$BIN" $ARGS >"$T/outc" 2>&1 &
MPIRUN_PID=$!
victim=""
i=0
while [ -z "$victim" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); victim=$(rank_pid "$MPIRUN_PID" 1); done
[ -n "$victim" ] || { kill -9 "$MPIRUN_PID"; cat "$T/outc"; fail "rank 1 was not found among mpirun's children"; }
i=0  # into the training loop: the first checkpoint is written
while [ ! -e "$T/ck/run.ckpt" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
kill -TERM "$victim"
wait "$MPIRUN_PID"
code=$?
[ "$code" -eq 143 ] || { cat "$T/outc"; fail "the stopped run exited with $code, expected 143"; }
[ "$(grep -c 'training stopped by' "$T/outc")" -eq 1 ] || { cat "$T/outc"; fail "the stop was not reported exactly once"; }
grep -q 'resume with: mpirun' "$T/outc" || { cat "$T/outc"; fail "no resume line"; }
[ "$(ls "$T/ck")" = "run.ckpt" ] || fail "the checkpoint's folder holds $(ls "$T/ck"), not one run.ckpt"
[ -z "$(ls "$T/other")" ] || fail "rank 1 wrote files: $(ls "$T/other")"
cp "$T/ck/run.ckpt" "$T/run1.ckpt"
cp "$T/ck/run.ckpt" "$T/run3.ckpt"
(cd "$T/ck" && $MPIRUN -np 2 "$BIN" train --resume "$T/ck/run.ckpt") >"$T/outr" 2>&1 || { cat "$T/outr"; fail "the resume at P = 2 failed"; }
[ "$(grep -c '^model saved to' "$T/outr")" -eq 1 ] || { cat "$T/outr"; fail "the resumed result was not printed once"; }
tensors "$T/straight.safetensors" >"$T/ta"
tensors "$T/ck/resumed.safetensors" >"$T/tb"
cmp -s "$T/ta" "$T/tb" || fail "resumed at P = 2, the model differs from the run never stopped (max relative difference $(max_diff "$T/ck/resumed.safetensors" "$T/straight.safetensors"))"
"$BIN" train --resume "$T/run1.ckpt" -o "$T/p1.safetensors" >"$T/out1" 2>&1 || { cat "$T/out1"; fail "the resume in one process failed"; }
$MPIRUN -np 3 "$BIN" train --resume "$T/run3.ckpt" -o "$T/p3.safetensors" >"$T/out3r" 2>&1 || { cat "$T/out3r"; fail "the resume at P = 3 failed"; }
grep -q 'used 2 processes' "$T/out3r" || { cat "$T/out3r"; fail "the resume at P = 3 did not note the other count"; }
for p in 1 3; do
  d=$(max_diff "$T/p$p.safetensors" "$T/straight.safetensors")
  echo "resumed at P = $p: max |difference| of the weights / max |weight| = $d"
  awk -v d="$d" 'BEGIN { exit !(d <= 1e-4) }' || fail "resumed at P = $p, the weights differ by $d (bound 1e-4)"
done
# SIGTERM to mpirun, which forwards it to every rank: the same stop (Open MPI's mpirun then
# exits with 1 of its own, not 143). mpirun takes a moment to forward it: a run far longer.
mkdir "$T/ck2"
$MPIRUN -np 2 "$BIN" train $DATA --epochs 20000 --batch-size 4 -q --checkpoint "$T/ck2/run.ckpt" --checkpoint-every 200steps -o "$T/m.safetensors" \
  >"$T/outm" 2>&1 &
MPIRUN_PID=$!
i=0
while [ ! -e "$T/ck2/run.ckpt" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
kill -TERM "$MPIRUN_PID"
wait "$MPIRUN_PID"
code=$?
[ "$code" -ne 0 ] || { cat "$T/outm"; fail "mpirun exited with 0 after SIGTERM"; }
[ "$(grep -c 'training stopped by SIGTERM' "$T/outm")" -eq 1 ] || { cat "$T/outm"; fail "SIGTERM to mpirun: the stop was not reported once"; }
[ "$(ls "$T/ck2")" = "run.ckpt" ] || fail "SIGTERM to mpirun: the folder holds $(ls "$T/ck2")"
$MPIRUN -np 2 "$BIN" train $DATA --epochs 1 --async --checkpoint "$T/a.ckpt" -o "$T/a.safetensors" >"$T/outa" 2>&1
code=$?
[ "$code" -eq 2 ] || { cat "$T/outa"; fail "--async with --checkpoint exited with $code, expected 2"; }
grep -q 'cannot be resumed exactly' "$T/outa" || { cat "$T/outa"; fail "the --async refusal does not say why"; }

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
