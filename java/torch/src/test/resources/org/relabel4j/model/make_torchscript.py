"""Writes the TorchScript test modules and their expected outputs (dev time: /usr/bin/python3 with torch 1.13).

One tiny CNN's weights under the TorchScript contracts of TorchScriptClassifier:
  ts_methods.pt   forward -> logits [B,C]; forward_dense -> [B,C,h,w]; forward_features -> [B,F,h,w]; submodule fc
  ts_dense.pt     forward -> the dense map [B,C,h,w]
  ts_backbone.pt  forward -> (features [B,F,h,w], weight [C,F], bias [C])
Inputs and expected outputs (eval mode): ts_input.npy [2,3,20,20], ts_logits.npy [2,C], ts_dense_map.npy [2,C,5,5].
Run from this directory: /usr/bin/python3 make_torchscript.py
"""
from typing import Tuple

import numpy as np
import torch
from torch import nn
import torch.nn.functional as fn

C, F = 5, 16


class Body(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, F, 3, stride=4, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(F)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x)))


class Methods(nn.Module):
    def __init__(self, body, fc):
        super().__init__()
        self.body, self.fc = body, fc

    def forward(self, x):
        return self.fc(torch.flatten(fn.adaptive_avg_pool2d(self.body(x), 1), 1))

    @torch.jit.export
    def forward_dense(self, x):
        return fn.conv2d(self.body(x), self.fc.weight[:, :, None, None], self.fc.bias)

    @torch.jit.export
    def forward_features(self, x):
        return self.body(x)


class Dense(nn.Module):
    def __init__(self, body, fc):
        super().__init__()
        self.body, self.fc = body, fc

    def forward(self, x):
        return fn.conv2d(self.body(x), self.fc.weight[:, :, None, None], self.fc.bias)


class Backbone(nn.Module):
    def __init__(self, body, fc):
        super().__init__()
        self.body, self.fc = body, fc

    def forward(self, x) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.body(x), self.fc.weight, self.fc.bias


def main():
    torch.manual_seed(0)
    body, fc = Body(), nn.Linear(F, C)
    body.train()  # non-trivial BN statistics, so that eval mode matters
    with torch.no_grad():
        for _ in range(3):
            body(torch.randn(4, 3, 20, 20) * 2 + 0.5)
    body.eval()
    x = torch.randn(2, 3, 20, 20)
    with torch.no_grad():
        feats = body(x)
        logits = fc(feats.mean((2, 3)))
        dense = fn.conv2d(feats, fc.weight[:, :, None, None], fc.bias)
    np.save("ts_input.npy", x.numpy())
    np.save("ts_logits.npy", logits.numpy())
    np.save("ts_dense_map.npy", dense.numpy())
    for name, cls in [("methods", Methods), ("dense", Dense), ("backbone", Backbone)]:
        m = torch.jit.script(cls(body, fc).eval())
        m.save(f"ts_{name}.pt")
        loaded = torch.jit.load(f"ts_{name}.pt")
        out = loaded(x)
        print(name, [o.shape for o in out] if isinstance(out, tuple) else out.shape)


if __name__ == "__main__":
    main()
