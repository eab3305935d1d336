"""The example MNIST CNN, compiled with default options, is within 1% of its ANN at T = 32."""
from __future__ import annotations

import numpy as np
import pytest

N_TEST = 2000   # the first 2000 MNIST test images (the full 10000 are in the report figures)


@pytest.mark.slow
def test_example_model_within_one_percent_of_ann_at_T32():
    import snnc
    from snnc.compiler.data import example_model_path, load_data
    from snnc.compiler.execute import predict
    art = snnc.compile(str(example_model_path()), "mnist")
    test = load_data("mnist:test", n=N_TEST)
    ann = float(np.mean(predict(art.ann, test.x).argmax(1) == test.y))
    res = snnc.simulate(art, test.x, T=[8, 32], y=test.y, show_progress=False)
    assert ann >= 0.98
    assert res.accuracy[32] >= ann - 0.01, (ann, res.accuracy)
    assert res.accuracy[32] >= res.accuracy[8] - 0.005
    assert res.activity.sop > 0 and 0 < res.activity.layers[0].firing_rate < 1
