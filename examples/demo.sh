#!/usr/bin/env bash
# snnc end to end on the bundled MNIST CNN (called by `make demo` as: bash examples/demo.sh <venv-python>).
# Every capability snnc has shows here: inspect, compile, simulate, Lava run, estimate.
set -euo pipefail
PY="${1:-.venv/bin/python}"
SNNC="$(dirname "$PY")/snnc"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MODEL="$HERE/mnist_cnn.onnx"
OUT="${SNNC_DEMO_OUT:-out}"
N_SIM="${SNNC_DEMO_N:-1000}"
mkdir -p "$OUT"

step() { printf '\n=== %s ===\n' "$*"; }

step "1. inspect the example model ($MODEL)"
"$SNNC" inspect "$MODEL"

step "2. compile for Loihi 2: calibrate channel-wise thresholds on MNIST, fold, estimate the readout delay"
"$SNNC" compile "$MODEL" --target loihi2 --calib mnist -o "$OUT/mnist_cnn.snnc" --plot "$OUT/calibration.png"

step "3. simulate with the reference NumPy IF simulator: accuracy vs T on $N_SIM MNIST test images"
"$SNNC" simulate "$OUT/mnist_cnn.snnc" --data mnist --n "$N_SIM" --T 4,8,16,32,64 \
    --plot "$OUT/accuracy.png" --activity-out "$OUT/activity.json"

step "4. run as Lava processes (Loihi2SimCfg, floating point), 20 images, T=32"
"$SNNC" run "$OUT/mnist_cnn.snnc" --backend lava --data mnist --n 20 --T 32

step "5. run in Loihi fixed point (8-bit weights), 20 images, T=32"
"$SNNC" run "$OUT/mnist_cnn.snnc" --backend lava --fixed-point --data mnist --n 20 --T 32

step "6. estimate cores, energy, latency and FPS/W on Loihi 2 from the simulated activity"
"$SNNC" estimate "$OUT/mnist_cnn.snnc" --profile loihi2 --activity "$OUT/activity.json" --plot "$OUT/energy.png"

step "done: artifacts and plots in $OUT/"
ls -1 "$OUT"
