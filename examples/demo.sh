#!/usr/bin/env bash
# snnc end to end on the bundled MNIST CNN (called by `make demo` as: bash examples/demo.sh <venv-python>).
# Every capability snnc has shows here: inspect, compile, simulate (NumPy and torch), Lava run, estimate,
# fine-tuning at small T, and the sigma-delta (graded-spike) conversion.
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

step "7. the same simulation in torch (same spikes and report; the network fine-tuning trains through)"
"$SNNC" simulate "$OUT/mnist_cnn.snnc" --backend torch --data mnist --n "$N_SIM" --T 4,8,16,32,64

N_FT="${SNNC_DEMO_N_FT:-5000}"
step "8. fine-tune for T=4 (pipe-S, one epoch on $N_FT MNIST training images), then simulate at T=2,4,8"
"$SNNC" finetune "$OUT/mnist_cnn.snnc" --data mnist --method pipe-s --T 4 --epochs 1 --n "$N_FT" \
    -o "$OUT/mnist_cnn_t4.snnc"
"$SNNC" simulate "$OUT/mnist_cnn_t4.snnc" --data mnist --n "$N_SIM" --T 2,4,8

N_SD="${SNNC_DEMO_N_SD:-300}"
step "9. the same model as a Loihi 2 sigma-delta network: 8-bit graded spikes (binary IF above stays the default)"
"$SNNC" compile "$MODEL" --target loihi2 --calib mnist --neuron sigma-delta --act-bits 8 -o "$OUT/mnist_cnn_sd8.snnc" \
    | grep -E "^(compiled|neurons|  sigma_delta)"

step "10. simulate the sigma-delta network on $N_SD images: T=1 already equals the 8-bit quantised ANN"
"$SNNC" simulate "$OUT/mnist_cnn_sd8.snnc" --data mnist --n "$N_SD" --T 1,2,4 \
    --plot "$OUT/accuracy_sd8.png" --activity-out "$OUT/activity_sd8.json"

step "11. binary IF vs sigma-delta on Loihi 2 on the same $N_SD images (SOP99: first T reaching 99% of the ANN)"
"$SNNC" simulate "$OUT/mnist_cnn.snnc" --data mnist --n "$N_SD" --T 1,2,4,8,16,32 --activity-out "$OUT/activity_if_sd.json" \
    > /dev/null
for kind in "binary IF:mnist_cnn.snnc:activity_if_sd.json" "sigma-delta 8-bit:mnist_cnn_sd8.snnc:activity_sd8.json"; do
    IFS=: read -r label art act <<< "$kind"
    printf -- '--- %s\n' "$label"
    "$SNNC" estimate "$OUT/$art" --profile loihi2 --activity "$OUT/$act" 2>/dev/null \
        | grep -E "^(SOP |sigma-delta:|energy / inference|latency|FPS/W|SOP99)"
done

step "12. the sigma-delta network on Lava: stock lava.proc.sdn.SigmaDelta neurons, fixed point, 20 images"
"$SNNC" run "$OUT/mnist_cnn_sd8.snnc" --backend lava --fixed-point --data mnist --n 20 --T 3

step "done: artifacts and plots in $OUT/"
ls -1 "$OUT"
