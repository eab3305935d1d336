"""Every user path is checked before it is opened: FIFOs, devices and sockets are refused at once.

Reading a FIFO blocks until a writer appears, so each call runs under an
alarm: a regression fails after a few seconds instead of hanging the suite.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from snnc.compiler.artifact import load as load_artifact
from snnc.cli.common import check_writable
from snnc.compiler.data import example_model_path, load_data
from snnc.compiler.errors import DataError, HardwareError, ModelLoadError, OutputError
from snnc.compiler.files import input_path, kind, output_path
from snnc.compiler.hardware import load_profile


@pytest.fixture
def no_hang():
    def alarm(*_):
        raise TimeoutError("opened a special file and blocked")
    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@pytest.fixture
def specials(tmp_path):
    """{"fifo", "device", "socket"} -> a path of that kind."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    sock_path = tmp_path / "s.sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    yield {"fifo": fifo, "device": Path("/dev/null"), "socket": sock_path}
    sock.close()


def test_kind(tmp_path, specials):
    (tmp_path / "f").write_text("x")
    assert kind(tmp_path / "f") == "file" and kind(tmp_path) == "dir" and kind(tmp_path / "nope") is None
    assert kind(specials["fifo"]).startswith("a FIFO") and kind(specials["device"]) == "a character device"
    assert kind(specials["socket"]) == "a socket" and kind("a\0b") is None


@pytest.mark.parametrize("what", ["fifo", "device", "socket"])
def test_special_files_are_refused_everywhere(specials, what, no_hang):
    p = specials[what]
    named = f"{p}.* is a"
    with pytest.raises(ModelLoadError, match=named):
        input_path(p, "model")
    with pytest.raises(OutputError, match=named):
        output_path(p, "output")
    with pytest.raises(OutputError, match=named):
        check_writable(str(p), "-o")
    with pytest.raises(ModelLoadError, match=named):
        load_artifact(p)
    with pytest.raises(HardwareError, match=named):
        load_profile(str(p))
    from snnc.frontends.onnx import load_onnx
    with pytest.raises(ModelLoadError, match=named):
        load_onnx(p)


@pytest.mark.parametrize("suffix", [".npz", ".npy", ".png", ""])
def test_fifo_as_data_is_refused(tmp_path, suffix, no_hang):
    p = tmp_path / f"calib{suffix}"
    os.mkfifo(p)
    with pytest.raises(DataError, match="FIFO"):
        load_data(str(p))


def test_fifo_as_weights_is_refused(tmp_path, torch, no_hang):
    from snnc.frontends.torch.weights import read_state_dict
    os.mkfifo(tmp_path / "w.pth")
    with pytest.raises(ModelLoadError, match="weights file .*FIFO"):
        read_state_dict(tmp_path / "w.pth")


def test_cli_fifo_calib_fails_at_once(tmp_path):
    """The reported hang: `snnc compile model --calib fifo.npz` blocked forever; now exit 6 at once."""
    fifo = tmp_path / "calib.npz"
    os.mkfifo(fifo)
    r = subprocess.run([sys.executable, "-c", "import sys; from snnc.cli import main; sys.exit(main())", "compile", str(example_model_path()),
                        "--calib", str(fifo), "-o", str(tmp_path / "m.snnc")],
                       capture_output=True, text=True, timeout=120, env={**os.environ, "SNNC_PROGRESS": "0"})
    assert r.returncode == DataError.exit_code, r.stderr
    assert r.stderr.startswith("error: ") and "FIFO" in r.stderr and "Traceback" not in r.stderr


def _external_model(folder: Path, location: str) -> Path:
    w = numpy_helper.from_array(np.ones((4, 3, 1, 1), np.float32), "W")
    w.data_location = TensorProto.EXTERNAL
    w.ClearField("raw_data")
    for k, v in (("location", location), ("offset", "0"), ("length", "48")):
        w.external_data.add(key=k, value=v)
    g = helper.make_graph([helper.make_node("Conv", ["x", "W"], ["y"], name="c")], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 4, 4])], [w])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    p = folder / "m.onnx"
    p.write_bytes(m.SerializeToString())
    return p


def test_external_data(tmp_path, no_hang):
    from snnc.frontends.onnx import load_onnx
    (tmp_path / "w.bin").write_bytes(np.ones(12, np.float32).tobytes())
    assert load_onnx(_external_model(tmp_path, "w.bin")).node("y").shape == (4, 4, 4)
    with pytest.raises(ModelLoadError, match="external data file of tensor 'W'.*no such file"):
        load_onnx(_external_model(tmp_path, "gone.bin"))
    for outside in ("../w.bin", "/etc/passwd", "sub/../../w.bin"):
        with pytest.raises(ModelLoadError, match="outside the model's folder"):
            load_onnx(_external_model(tmp_path, outside))
    os.mkfifo(tmp_path / "pipe.bin")
    with pytest.raises(ModelLoadError, match="external data file of tensor 'W'.*FIFO"):
        load_onnx(_external_model(tmp_path, "pipe.bin"))


def test_directory_and_missing_paths_keep_their_messages(tmp_path):
    with pytest.raises(ModelLoadError, match="is a directory"):
        input_path(tmp_path, "model")
    with pytest.raises(DataError, match="no such file"):
        input_path(tmp_path / "x.npz", "data", DataError)
    with pytest.raises(OutputError, match="folder .* does not exist"):
        output_path(tmp_path / "no" / "x.snnc", "output")
    assert output_path(tmp_path / "new.snnc", "output") == tmp_path / "new.snnc"
    assert input_path(tmp_path, "images", want="dir") == tmp_path
    assert onnx  # imported for the external-data models
