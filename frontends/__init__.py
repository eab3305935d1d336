"""Frontends: import ONNX files and PyTorch/torchvision models into the snnc IR."""
