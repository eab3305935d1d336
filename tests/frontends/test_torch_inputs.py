"""Torch frontend input handling: model specs, weight files, unsupported models, BN statistics.

Oracles: torch itself (state dicts, module outputs, per-channel statistics
computed with plain torch ops), never this package's earlier output.
"""
from __future__ import annotations

import urllib.error

import numpy as np
import pytest

from snnc.compiler.errors import DataError, ModelLoadError, SnncError, UnsupportedModelError, UsageError

from .torch_nets import NET_PY as TORCH_NET_PY

from ..oracles import assert_f32_sums_close

NET_PY = TORCH_NET_PY + """
class Helper:
    pass
"""


@pytest.fixture
def net_file(tmp_path):
    path = tmp_path / "my_model.py"
    path.write_text(NET_PY)
    return path


def _net(torch, net_file):
    from snnc.frontends.torch.spec import class_from_file
    return class_from_file(net_file, "Net")


# -- model specs ---------------------------------------------------------------
def test_py_spec_instantiates_class_and_loads_weights(torch, net_file, tmp_path):
    from snnc.frontends.torch import build_module
    ref = _net(torch, net_file)
    torch.save(ref.state_dict(), tmp_path / "w.pth")
    module = build_module(f"{net_file}:Net", weights=tmp_path / "w.pth")
    for k, v in ref.state_dict().items():
        assert torch.equal(module.state_dict()[k], v), k


def test_py_spec_without_the_class_lists_defined_classes(torch, net_file):
    from snnc.frontends.torch import build_module
    with pytest.raises(ModelLoadError, match=r"defines no class 'Missing'.*Net") as e:
        build_module(f"{net_file}:Missing")
    assert "Helper" not in str(e.value)  # only nn.Module classes are offered
    with pytest.raises(ModelLoadError, match="not a torch.nn.Module"):
        build_module(f"{net_file}:Helper")


def test_bad_specs_and_shapes(torch, tmp_path):
    from snnc.frontends.torch import build_module, parse_input_shape
    with pytest.raises(ModelLoadError, match="does not exist"):
        build_module(f"{tmp_path / 'nope.py'}:Net")
    with pytest.raises(UsageError, match="torchvision:NAME"):
        build_module("resnet18")
    with pytest.raises(ModelLoadError, match="did you mean resnet18"):
        build_module("torchvision:resnet81")
    assert parse_input_shape("1,3,64,64") == (1, 3, 64, 64)
    assert parse_input_shape([2, 10]) == (2, 10)
    for bad in (None, "", "1,3,a", "0,3,8,8", "7"):
        with pytest.raises(UsageError, match="input shape|--input-shape"):
            parse_input_shape(bad)


def test_spec_kinds_and_a_wrong_file_gets_the_onnx_error(tmp_path):
    """Only torchvision:NAME and FILE.py:CLASS are PyTorch specs; any other path is loaded as ONNX."""
    from snnc.frontends import is_onnx, load_model
    assert not is_onnx("torchvision:resnet18") and not is_onnx("dir/net.py:Net")
    assert is_onnx("m.onnx") and is_onnx("model.bin") and is_onnx(r"C:\\models\\m.onnx")
    (tmp_path / "m.snnc").write_bytes(b"garbage")
    with pytest.raises(ModelLoadError, match="not an ONNX model"):
        load_model(str(tmp_path / "m.snnc"))


def test_missing_input_shape_is_a_usage_error(torch, net_file):
    from snnc.frontends import load_model
    with pytest.raises(UsageError, match="--input-shape") as e:
        load_model(f"{net_file}:Net")
    assert e.value.exit_code != 0


def test_default_weights_offline_asks_for_a_local_file(torch, monkeypatch):
    import torchvision
    from snnc.frontends.torch import build_module

    def offline(*a, **k):  # what the download raises without network (also simulated when online)
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
    monkeypatch.setattr(torchvision.models.WeightsEnum, "get_state_dict", offline)
    with pytest.raises(ModelLoadError, match=r"cannot download.*resnet18.*local \.pth.*--weights"):
        build_module("torchvision:resnet18", weights="DEFAULT")


# -- weight files --------------------------------------------------------------
@pytest.mark.parametrize("wrap", ["plain", "state_dict", "model", "dataparallel"])
def test_checkpoint_layouts_load(torch, net_file, tmp_path, wrap):
    from snnc.frontends.torch import load_weights
    ref = _net(torch, net_file)
    sd = ref.state_dict()
    obj = {"plain": sd, "state_dict": {"state_dict": sd, "epoch": 3},
           "model": {"model": sd}, "dataparallel": {f"module.{k}": v for k, v in sd.items()}}[wrap]
    torch.save(obj, tmp_path / "w.pth")
    module = load_weights(_net(torch, net_file), tmp_path / "w.pth")
    x = torch.rand(2, 1, 8, 8)
    assert torch.equal(module.eval()(x), ref.eval()(x))


def test_weights_mismatch_names_first_tensor(torch, net_file, tmp_path):
    from snnc.frontends.torch import load_weights
    sd = _net(torch, net_file).state_dict()
    cases = {
        "shape": ({**sd, "conv.weight": torch.zeros(4, 1, 5, 5)},
                  r"shape mismatch for tensor 'conv.weight'.*\(4, 1, 5, 5\).*\(4, 1, 3, 3\)"),
        "missing": ({k: v for k, v in sd.items() if k != "bn.running_var"}, r"missing tensor 'bn.running_var'"),
        "unexpected": ({**sd, "head.bias": torch.zeros(3)}, r"unexpected tensor 'head.bias'"),
    }
    for what, (bad, pattern) in cases.items():
        torch.save(bad, tmp_path / f"{what}.pth")
        with pytest.raises(ModelLoadError, match=pattern):
            load_weights(_net(torch, net_file), tmp_path / f"{what}.pth", name="my_model.py:Net")


def test_num_batches_tracked_is_optional(torch, net_file, tmp_path):
    from snnc.frontends.torch import load_weights
    sd = {k: v for k, v in _net(torch, net_file).state_dict().items() if "num_batches" not in k}
    torch.save(sd, tmp_path / "old.pth")
    fresh = _net(torch, net_file)
    load_weights(fresh, tmp_path / "old.pth")
    got = fresh.state_dict()
    for k, v in sd.items():   # every saved tensor landed in the module
        assert torch.equal(got[k], v), k


def test_files_that_are_not_state_dicts(torch, tmp_path):
    from snnc.frontends.torch import read_state_dict
    torch.save([torch.zeros(2)], tmp_path / "list.pth")
    torch.save({"weights": [1, 2]}, tmp_path / "dict.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a torch file")
    for name, pattern in [("list.pth", "holds a list"), ("dict.pth", "entry 'weights' is a list"),
                          ("junk.pth", "cannot read weights file"), ("none.pth", "does not exist")]:
        with pytest.raises(ModelLoadError, match=pattern) as e:
            read_state_dict(tmp_path / name)
        assert e.value.exit_code == 3


def test_truncated_and_bit_flipped_weights_are_refused(torch, tmp_path):
    """torch.load does not check the zip's CRC-32 (a flipped bit in a tensor loads as another weight);
    snnc does: every damaged file is refused or, when the flip hit bytes no reader uses, loads unchanged."""
    from snnc.frontends.torch import read_state_dict
    torch.manual_seed(0)
    sd = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.Linear(64, 10)).state_dict()
    torch.save(sd, tmp_path / "w.pth")
    data = (tmp_path / "w.pth").read_bytes()
    rng = np.random.default_rng(0)
    p = tmp_path / "bad.pth"
    for n in (10, len(data) // 2, len(data) - 5):
        p.write_bytes(data[:n])
        with pytest.raises(ModelLoadError, match="bad.pth"):
            read_state_dict(p)
    refused = 0
    for pos in rng.integers(0, len(data), 60):
        b = bytearray(data)
        b[pos] ^= 1 << int(rng.integers(0, 8))
        p.write_bytes(bytes(b))
        try:
            got = read_state_dict(p)
        except ModelLoadError:
            refused += 1
            continue
        assert got.keys() == sd.keys() and all(torch.equal(got[k], sd[k]) for k in sd), f"flip at {pos}"
    assert refused >= 40


def test_weights_file_with_pickled_object_is_refused(torch, tmp_path):
    from snnc.frontends.torch import read_state_dict
    torch.save(torch.nn.Linear(2, 2), tmp_path / "module.pth")  # a whole pickled module, not a state dict
    with pytest.raises(ModelLoadError, match="weights_only") as e:
        read_state_dict(tmp_path / "module.pth")
    assert "not a torch.save file of tensors" in str(e.value) and "PyTorch 2.6" not in str(e.value)


# -- unsupported models ------------------------------------------------------------
def test_mobilenet_v3_is_refused_naming_hardswish(torch):
    import torchvision
    from snnc.frontends.torch import from_torch
    model = torchvision.models.mobilenet_v3_small()
    with pytest.raises(UnsupportedModelError, match=r"Hardswish at features\.0\.2") as e:
        from_torch(model, (1, 3, 64, 64), name="torchvision:mobilenet_v3_small")
    assert "Hardsigmoid" in str(e.value) and "torchvision:mobilenet_v3_small" in str(e.value)
    assert e.value.exit_code == 4


def test_regnet_y_squeeze_excitation_sigmoid_is_refused(torch):
    import torchvision
    from snnc.frontends.torch import check_supported
    model = torchvision.models.regnet_y_400mf()
    with pytest.raises(UnsupportedModelError, match="Sigmoid at trunk_output"):
        check_supported(model, "regnet_y_400mf")
    check_supported(torchvision.models.regnet_x_400mf())  # ReLU only: accepted


def test_untraceable_module_names_module_and_exporter_message(torch):
    """Runs eagerly, but no exporter can write the op: both exporters' reasons, the module, what to do."""
    from snnc.frontends.torch import to_onnx

    class Eig(torch.nn.Module):
        def forward(self, x):
            return torch.linalg.eigvalsh(x.T @ x)

    with pytest.raises(UnsupportedModelError, match=r"(?s)Eig.*legacy exporter: .*linalg_eigvalsh.*"
                                                    r"dynamo exporter: .*make forward\(\) traceable"):
        to_onnx(Eig(), torch.rand(2, 3), "Eig")


def test_module_failing_eagerly_is_a_data_error_quoting_torch(torch):
    from snnc.frontends.torch import to_onnx

    class Broken(torch.nn.Module):
        def forward(self, x):
            return self.head(x)  # no such attribute

    with pytest.raises(DataError, match=r"Broken fails on input shape \(1, 3\).*AttributeError.*'head'") as e:
        to_onnx(Broken(), torch.rand(1, 3), "Broken")
    assert "\n" not in str(e.value)


def test_from_torch_needs_module_and_example(torch):
    from snnc.frontends.torch import from_torch
    with pytest.raises(UsageError, match="torch.nn.Module"):
        from_torch(lambda x: x, (1, 3))
    with pytest.raises(UsageError, match="example input"):
        from_torch(torch.nn.ReLU())


# -- batch-norm statistics ---------------------------------------------------------
def _bn_model(torch):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 6, 3), torch.nn.BatchNorm2d(6), torch.nn.ReLU(),
                               torch.nn.Dropout(0.5), torch.nn.Conv2d(6, 5, 3), torch.nn.BatchNorm2d(5))


def _bn_outputs(torch, model, x):
    outs = []
    hooks = [m.register_forward_hook(lambda m, i, o: outs.append(o)) for m in model
             if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return outs


def test_calibrate_bn_stats_normalises_each_bn_on_the_data(torch):
    from snnc.frontends.torch import calibrate_bn_stats
    model = _bn_model(torch)
    model.train()
    x = torch.rand(64, 3, 10, 10) * 4 + 2  # far from the default running stats (0, 1)
    before = _bn_outputs(torch, model.eval(), x)
    assert abs(float(before[0].mean())) > 0.5
    calibrate_bn_stats(model, x.numpy(), batch_size=64)
    assert not model.training and all(not m.training for m in model)
    assert all(m.momentum == 0.1 for m in model if isinstance(m, torch.nn.BatchNorm2d))
    for out in _bn_outputs(torch, model, x):  # eval-mode BN outputs: mean beta=0, std gamma=1 per channel
        np.testing.assert_allclose(out.mean(dim=(0, 2, 3)).numpy(), 0.0, atol=2e-3)
        np.testing.assert_allclose(out.std(dim=(0, 2, 3)).numpy(), 1.0, atol=0.02)


def test_calibrate_bn_stats_running_mean_is_mean_over_batches(torch):
    from snnc.frontends.torch import calibrate_bn_stats
    bn = torch.nn.BatchNorm2d(2)
    x = torch.rand(40, 2, 3, 3) * torch.tensor([1.0, 5.0]).view(1, 2, 1, 1)
    calibrate_bn_stats(torch.nn.Sequential(bn), x, batch_size=10)
    # equal batches: cumulative average of batch means == overall mean
    # float32 statistics vs float64: a batch mean adds 90 terms, the running average 4 batches (<= 8 more
    # roundings); the variance squares (x - mean), so its terms are bounded by 4 E[x^2]
    x64 = x.double()
    k = 10 * 3 * 3 + 8
    assert_f32_sums_close(bn.running_mean.numpy(), x64.mean(dim=(0, 2, 3)).numpy(), k,
                          x64.abs().mean(dim=(0, 2, 3)).numpy())
    batch_vars = torch.stack([c.var(dim=(0, 2, 3), unbiased=True) for c in x64.split(10)]).mean(0)
    assert_f32_sums_close(bn.running_var.numpy(), batch_vars.numpy(), k, 4 * (x64 ** 2).mean(dim=(0, 2, 3)).numpy())


def test_calibrate_bn_stats_rejects_bad_data(torch):
    from snnc.frontends.torch import calibrate_bn_stats
    with pytest.raises(DataError):
        calibrate_bn_stats(_bn_model(torch), np.zeros((0, 3, 10, 10)))
    with pytest.raises(DataError, match="failed"):
        calibrate_bn_stats(_bn_model(torch), np.zeros((4, 2, 10, 10)))  # wrong channel count


def test_every_error_is_an_snnc_error_with_nonzero_exit():
    for cls in (ModelLoadError, UnsupportedModelError, UsageError, DataError):
        assert issubclass(cls, SnncError) and cls.exit_code != 0
