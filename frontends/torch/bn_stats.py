"""Set batch-norm running statistics from data (for randomly initialised or re-targeted models).

A randomly initialised network has BN running statistics mean 0, var 1, which
do not match the activations it actually produces: activations grow or vanish
layer by layer and the logits are meaningless. ``calibrate_bn_stats`` puts only
the BN layers in train mode (dropout and everything else stay in eval), runs
the data through, and lets each BN accumulate the cumulative average
(``momentum=None``) of its batch statistics::

    running_mean[c] = mean over batches b of mean_b[x[:, c]]
    running_var[c]  = mean over batches b of var_b[x[:, c]]   (unbiased per batch)

Each BN normalises with its batch statistics while the data flows, so the
statistics of a later BN are those of its input under the earlier BNs'
normalisation; in eval mode afterwards every BN output has (about) mean beta
and standard deviation gamma per channel on this data.
"""
from __future__ import annotations

from snnc.compiler.errors import DataError


def calibrate_bn_stats(module, data, batch_size: int = 32):
    """Recompute every BatchNorm's running mean/var on ``data`` (N, *shape); return ``module`` in eval()."""
    import numpy as np
    import torch

    x = torch.as_tensor(np.asarray(data, dtype=np.float32))
    if x.ndim < 2 or len(x) == 0:
        raise DataError(f"calibrate_bn_stats needs a non-empty batch (N, *sample_shape), got shape {tuple(x.shape)}")
    bns = [m for m in module.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    module.eval()
    if not bns:
        return module
    saved = [(bn.momentum, bn.track_running_stats) for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum, bn.track_running_stats = None, True
        bn.train()
    try:
        with torch.no_grad():
            for start in range(0, len(x), batch_size):
                chunk = x[start:start + batch_size]
                if len(chunk) > 1 or start == 0:  # BN needs > 1 value per channel in train mode
                    module(chunk)
    except Exception as e:  # noqa: BLE001 - the data does not fit the model
        raise DataError(f"running {type(module).__name__} on data of shape {tuple(x.shape)} failed: "
                        f"{type(e).__name__}: {str(e)[:300]}") from None
    finally:
        for bn, (momentum, track) in zip(bns, saved):
            bn.momentum, bn.track_running_stats = momentum, track
        module.eval()
    return module
