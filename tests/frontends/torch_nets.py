"""PyTorch model source files the torch-frontend tests write to disk (``my_model.py:Net``)."""

NET_PY = """
# conv -> BN -> functional ReLU -> flatten -> linear, for 1x8x8 inputs
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 6 * 6, 5)

    def forward(self, x):
        return self.fc(F.relu(self.bn(self.conv(x))).flatten(1))
"""
