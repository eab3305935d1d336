#!/usr/bin/env bash
# snnc end to end on the bundled MNIST CNN (called by `make demo` as: bash examples/demo.sh <venv-python>).
set -euo pipefail
PY="${1:-.venv/bin/python}"
SNNC="$(dirname "$PY")/snnc"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MODEL="$HERE/mnist_cnn.onnx"
OUT="${SNNC_DEMO_OUT:-out}"
mkdir -p "$OUT"

step() { printf '\n=== %s ===\n' "$*"; }

step "1. inspect the example model ($MODEL)"
"$SNNC" inspect "$MODEL"
