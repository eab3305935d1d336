"""``snnc finetune`` end to end on the example model (a few hundred MNIST images, one short epoch, T = 2..4):
every method gives an ordinary artifact that simulate / estimate (and Lava) take; fixed seeds give the same
bytes; an interrupted run resumes to the same bytes; bad input is a clear error."""
import json

import numpy as np
import pytest

from snnc.compiler.artifact import load
from snnc.cli import main
from snnc.compiler.data import example_model_path
from snnc.compiler.ir import ops

pytestmark = pytest.mark.torch


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    import snnc
    path = tmp_path_factory.mktemp("ft") / "m.snnc"
    snnc.compile(str(example_model_path()), "mnist", method="cltb", iters=20).save(path)
    return str(path)


def _json(capsys, *argv):
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("method", ["idsnn", "snn2ann", "pipe-s"])
def test_finetune_gives_an_ordinary_artifact(torch, method, model, tmp_path, capsys):
    out = tmp_path / "t.snnc"
    rep = _json(capsys, "finetune", model, "--data", "mnist", "--n", "192", "--T", "2", "--method", method,
                "--batch-size", "64", "--seed", "3", "--keep", "last", "-o", str(out), "--json")
    assert rep["method"] == method and rep["epochs_run"] == 1 and len(rep["history"]) == 2
    assert rep["data"] == {"train": "mnist:train", "train_samples": 192, "valid": "mnist:valid", "valid_samples": 38}
    assert not (tmp_path / "t.snnc.ckpt").exists()                # removed once the artifact is written
    art, src = load(out), load(model)
    ft = art.meta["finetune"]
    assert (ft["method"], ft["T"], ft["seed"], ft["epochs"]) == (method, 2, 3, 1)
    assert ft["method_parameters"]["paper"] and "finetune: " + method in art.meta["pass_log"][-1]
    assert art.meta["calibration"] == src.meta["calibration"] and art.meta["readout"]["mode"] == "auto"
    changed = [n.name for n, m in zip(art.snn.nodes, src.snn.nodes)
               if "weight" in n.op.arrays() and not np.array_equal(n.op.weight, m.op.weight)]
    assert changed                                                  # it trained
    for n in art.snn.of_type(type(src.snn.node("2_Relu_output_0").op)):
        assert np.all(n.op.threshold == 1) and np.all(n.op.v_init == 0.5)   # still folded
    sim = _json(capsys, "simulate", str(out), "--data", "mnist", "--n", "100", "--T", "2,4", "--json")
    assert [r["T"] for r in sim["sweep"]] == [2, 4] and sim["sweep"][1]["accuracy"] > 0.9
    # the source ANN is the pre-training network: the tuned network's clip-ANN is its own folded graph
    assert sim["clip_ann_source"] == "folded graph (fine-tuned weights)" and sim["folded_agreement"] == 1.0
    est = _json(capsys, "estimate", str(out), "--T", "4", "--json")
    assert est["counts"]["sop"] > 0


def _api_run(model, tmp_path, **kw):
    from snnc.compiler.data.training import load_training
    from snnc.runtime.finetune import FinetuneConfig, finetune
    art = load(model)
    train, valid = load_training("mnist", art.snn.inputs[0].shape, 10, n=96)
    cfg = FinetuneConfig(method="idsnn", T=2, epochs=2, batch_size=32, checkpoint_every=1)
    return finetune(art, train, valid, cfg, **kw)[0].to_bytes()


def test_fixed_seed_same_bytes_and_resume_loses_nothing(torch, model, tmp_path, monkeypatch):
    from snnc.runtime.finetune.idsnn import IDSNN
    ref = _api_run(model, tmp_path)
    assert _api_run(model, tmp_path) == ref
    ckpt = tmp_path / "c.ckpt"
    real = IDSNN.after_step

    def interrupt(self, step):
        real(self, step)
        if step == 4:                  # the 2nd step of epoch 2 (3 steps per epoch): after a mid-epoch checkpoint
            raise KeyboardInterrupt
    monkeypatch.setattr(IDSNN, "after_step", interrupt)
    with pytest.raises(KeyboardInterrupt):
        _api_run(model, tmp_path, checkpoint=ckpt)
    monkeypatch.setattr(IDSNN, "after_step", real)
    assert ckpt.exists()
    from snnc.compiler.errors import UsageError
    with pytest.raises(UsageError, match="--resume"):
        _api_run(model, tmp_path, checkpoint=ckpt)
    assert _api_run(model, tmp_path, checkpoint=ckpt, resume=True) == ref


def test_finetune_errors(torch, model, tmp_path, capsys, monkeypatch):
    from snnc.compiler.artifact import Artifact
    x = np.random.default_rng(0).random((20, 1, 28, 28)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    common = ["--method", "snn2ann", "-o", str(tmp_path / "o.snnc")]
    assert main(["finetune", model, "--data", str(tmp_path / "x.npy"), *common]) == 6
    assert "has no labels" in capsys.readouterr().err
    art = load(model)
    fixed = Artifact(art.snn, art.ann, {**art.meta, "readout": {"mode": "fixed", "delay": 6}})
    fixed.save(tmp_path / "fixed.snnc")
    assert main(["finetune", str(tmp_path / "fixed.snnc"), "--data", "mnist", "--T", "4", *common]) == 2
    assert "--T 4 is below the artifact's readout window" in capsys.readouterr().err
    assert main(["finetune", model, "--data", "mnist:test", *common]) == 6
    assert main(["finetune", model, "--data", "mnist", "--teacher", "t.onnx", *common]) == 2
    assert "--teacher applies to --method idsnn" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert main(["finetune", model, "--data", "mnist", "--n", "10", "--device", "cuda", *common]) == 7
        assert "CUDA is not available" in capsys.readouterr().err
    from snnc.runtime.torch_sim import lowering
    monkeypatch.delitem(lowering.LOWERING, ops.Linear)
    assert main(["finetune", model, "--data", "mnist", "--n", "10", *common]) == 7
    assert "node 'logits': op Linear" in capsys.readouterr().err


def test_teacher_with_other_classes_is_a_usage_error(torch, model, tmp_path, capsys):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    w = numpy_helper.from_array(np.zeros((784, 5), np.float32), "w")
    g = helper.make_graph([helper.make_node("Flatten", ["x"], ["f"]), helper.make_node("MatMul", ["f", "w"], ["y"])],
                          "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 28, 28])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])], [w])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "t.onnx")
    rc = main(["finetune", model, "--data", "mnist", "--method", "idsnn", "--teacher", str(tmp_path / "t.onnx"),
               "-o", str(tmp_path / "o.snnc")])
    assert rc == 2 and "does not match the artifact's readout (10,)" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.lava
def test_finetuned_artifact_runs_in_lava_with_the_simulators_predictions(lava, torch, model, tmp_path, capsys):
    """The trained weights (``--keep last``: never the converted network kept as the best epoch) run in Lava's
    floating-point processes with the NumPy and torch simulators' predictions."""
    from snnc.compiler.data import load_data
    from snnc.runtime.backends import get_backend
    out = tmp_path / "t.snnc"
    assert main(["finetune", model, "--data", "mnist", "--n", "128", "--T", "4", "--method", "idsnn",
                 "--keep", "last", "-o", str(out)]) == 0
    art, x = load(out), load_data("mnist:test", n=5).x
    assert art.meta["finetune"]["kept_epoch"] == 1
    changed = [n.name for n, m in zip(art.snn.nodes, load(model).snn.nodes) if n.op.weight_field is not None
               and not np.array_equal(np.asarray(getattr(n.op, n.op.weight_field)),
                                      np.asarray(getattr(m.op, m.op.weight_field)))]
    assert changed, "fine-tuning changed no weight"
    ref = get_backend("numpy").run(art, x, [4])
    tor = get_backend("torch").run(art, x, [4])
    got = get_backend("lava").run(art, x, [4])
    assert np.array_equal(got.predictions(4), ref.predictions(4))
    assert np.array_equal(tor.predictions(4), ref.predictions(4))
