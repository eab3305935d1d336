"""benchmarks/zoo_coverage.py helpers: the metrics and the rate quantisation against brute force, the table's shape."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "zoo_coverage.py"


def load():
    spec = importlib.util.spec_from_file_location("zoo_coverage", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def brute_cos(a, b):
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_cosines_match_brute_force(rng):
    zoo = load()
    a, b = rng.standard_normal((5, 7)), rng.standard_normal((5, 7))
    assert np.isclose(zoo.cosine(a, b), np.mean([brute_cos(a[i], b[i]) for i in range(5)]))
    pairs = [brute_cos(a[i], a[j]) for i in range(5) for j in range(5) if i != j]
    assert np.isclose(zoo.input_cosine(a), np.mean(pairs))
    assert zoo.input_cosine(a[:1]) is None
    const = np.tile(rng.standard_normal(7), (4, 1))
    assert np.isclose(zoo.input_cosine(const), 1.0)


def test_markdown_rows_have_header_width():
    zoo = load()
    args = zoo.parse_args(["--method", "percentile"])
    ok = {"model": "m1", "status": "ok", "input": "3x32x32", "ops": 5, "macs": 2e6, "neurons": 10,
          "sop_T64": 3e6, "cos_T64": 0.5, "cos_T256": 0.995, "cos_clip": 0.999, "cos_snn_clip": 0.996,
          "cos_inputs": 0.4, "cos_ideal": 0.999, "cos_T256_centred": 0.987, "top1": 1.0, "seconds": 1.0}
    bad = {"model": "m2", "status": "unsupported", "reason": "uses GELU"}
    for compare in [("", {}), ("max", {"m1": {"cos_T256": 0.9}})]:
        text = zoo.markdown([ok, bad], args, ["--method", "percentile"], compare)
        table = [ln for ln in text.splitlines() if ln.startswith("|")]
        widths = {ln.count("|") for ln in table}
        assert len(widths) == 1, table
        assert "1 of 2 models convert; 1 reach cosine >= 0.99" in text
        assert "`percentile p=99.99`" in text
    # one model at two input sizes is one model in the summary, two rows in the table
    ok64 = {**ok, "input": "3x64x64", "cos_T256": 0.5}
    text = zoo.markdown([ok, ok64, bad], args, [], ("", {}))
    assert "1 of 2 models convert; 1 reach" in text and text.count("| m1 | ok |") == 2
    assert "| 0.9990 |" in text and "| 0.9870 |" in text  # the ideal and centred columns
    assert zoo.parse_args(["--size", "32,64"]).size == [32, 64]


def test_notes_after_marker_are_kept(tmp_path):
    zoo = load()
    out = tmp_path / "zoo.md"
    assert zoo.kept_notes(out) == ""
    out.write_text("old table\n" + zoo.NOTES_MARKER + "\n## Diagnosis\ntext\n")
    assert zoo.kept_notes(out) == "\n" + zoo.NOTES_MARKER + "\n## Diagnosis\ntext\n"
    out.write_text("old table without notes\n")
    assert zoo.kept_notes(out) == ""


def brute_if_rates(z, theta, v_init, T):
    """Integrate-and-fire with reset by subtraction on a constant current z, step by step: theta * spikes / T."""
    v, n = np.broadcast_to(v_init, z.shape).astype(np.float64), np.zeros(z.shape)
    for _ in range(T):
        v = v + z
        s = v >= theta
        v, n = v - s * theta, n + s
    return theta * n / T


def test_rate_quantisation_is_what_an_if_neuron_does_on_a_constant_input(rng):
    from snnc.compiler.execute import run
    from snnc.compiler.ir import Graph, IFNeuron, Input
    zoo = load()
    theta, v_init = np.array([0.5, 1.0, 2.0], np.float32), np.array([0.25, 0.5, 0.0], np.float32)
    g = Graph.build([("x", Input(shape=(3, 4, 4)), []), ("n", IFNeuron(threshold=theta, v_init=v_init), ["x"])],
                    ["n"])
    x = rng.uniform(-0.5, 2.5, (5, 3, 4, 4)).astype(np.float32)
    per_c = (1, 3, 1, 1)
    for T in (1, 7, 64):
        got = run(g, x, hook=zoo.rate_quantise_hook(g, T))["n"]
        want = brute_if_rates(x.astype(np.float64), theta.reshape(per_c), v_init.reshape(per_c), T)
        np.testing.assert_allclose(got, want, atol=1e-6)
    clip = run(g, x)["n"]  # many levels: the clip-ANN itself, within theta / T
    assert np.abs(run(g, x, hook=zoo.rate_quantise_hook(g, 4096))["n"] - clip).max() <= 2.0 / 4096
