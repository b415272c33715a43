"""Writes torchvision's outputs for ResNetParityTest (dev time: /usr/bin/python3 with torch 1.13, torchvision 0.14).

The weights and the input are defined by closed formulas that the Java test computes too (ModelTesting.formula
and .image), in float64 and then rounded to float32, so no weight file is stored:

  entry k of model.state_dict() (0-based, parameters and buffers in state-dict order), element i of it (flat,
  C order), s = 2 * u(i, k) - 1 in [-1, 1), where u is a 32-bit integer hash of i and k scaled to [0, 1) (exact
  integer arithmetic, so Java and numpy agree bit for bit; see hash01):
    4-D (conv weight)            sqrt(6 / fan_in) * s          fan_in = in_channels * kh * kw (kaiming uniform)
    2-D (fc.weight)              (1 / sqrt(in_features)) * s   (nn.Linear's default bound)
    name ends in running_var     1 + 0.5 * s * s
    name ends in running_mean    0.1 * s
    name ends in num_batches_tracked   k (int64)
    other 1-D ending in .weight  1 + 0.25 * s                  (batch-norm gamma)
    other 1-D ending in .bias    0.1 * s                       (batch-norm beta, fc.bias)
  input [N,3,H,W] = [2,3,64,48], element j (flat): sin(0.011 * j + 0.3) + 0.5 * sin(0.0537 * j)
(A sine of the flat index as weights, tried first, makes the train-mode forward ill-conditioned: float32 and
float64 torchvision then differ by ~0.4 in the logits. With these weights float32 is within 3e-6 (resnet18) and
2e-4 (resnet50) of float64, relative to the largest logit.)

For each arch (num_classes=10), loaded strictly into torchvision.models.<arch>:
  parity_<arch>_logits.npy   [2,N,10] float32: [0] eval-mode logits, [1] train-mode logits (batch statistics),
                             the train-mode forward run after the eval one, on the freshly loaded weights
  parity_<arch>_dense.npy    [N,10,2,2] float32 eval mode: layer4's output with fc applied as a 1x1 convolution
  parity_<arch>_bnstats.npy  [2*(64+F)] float32: after the train-mode forward, running_mean then running_var of
                             bn1 (64) and then of the network's last batch norm (F channels: layer4.1.bn2, 512, for
                             resnet18; layer4.2.bn3, 2048, for resnet50)
Run from this directory: /usr/bin/python3 make_parity.py
"""
import math

import numpy as np
import torch
import torch.nn.functional as fn
import torchvision

CLASSES = 10
SHAPE = (2, 3, 64, 48)
LAST_BN = {"resnet18": "layer4.1.bn2", "resnet50": "layer4.2.bn3"}


M32 = np.uint64(0xFFFFFFFF)


def hash01(n, k):
    """u(i, k) for i in [0, n): a 32-bit mix of i * 2654435761 + k * 40503 + 12345 (mod 2^32), divided by 2^32."""
    h = (np.arange(n, dtype=np.uint64) * np.uint64(2654435761) + np.uint64(k * 40503 + 12345)) & M32
    h ^= h >> np.uint64(15)
    h = (h * np.uint64(2246822519)) & M32
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(3266489917)) & M32
    h ^= h >> np.uint64(16)
    return h.astype(np.float64) / 4294967296.0


def value(name, k, shape):
    n = int(np.prod(shape)) if len(shape) else 1
    if name.endswith("num_batches_tracked"):
        return np.full(shape, k, dtype=np.int64)
    s = 2.0 * hash01(n, k) - 1.0
    if len(shape) == 4:
        v = math.sqrt(6.0 / (shape[1] * shape[2] * shape[3])) * s
    elif len(shape) == 2:
        v = (1.0 / math.sqrt(shape[1])) * s
    elif name.endswith("running_var"):
        v = 1.0 + 0.5 * s * s
    elif name.endswith("running_mean"):
        v = 0.1 * s
    elif name.endswith(".weight"):
        v = 1.0 + 0.25 * s
    elif name.endswith(".bias"):
        v = 0.1 * s
    else:
        raise ValueError(name)
    return v.astype(np.float32).reshape(shape)


def image():
    j = np.arange(int(np.prod(SHAPE)), dtype=np.float64)
    return (np.sin(0.011 * j + 0.3) + 0.5 * np.sin(0.0537 * j)).astype(np.float32).reshape(SHAPE)


def features(m, x):
    x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
    return m.layer4(m.layer3(m.layer2(m.layer1(x))))


def main():
    torch.set_num_threads(1)
    x = torch.from_numpy(image())
    for arch in ["resnet18", "resnet50"]:
        m = getattr(torchvision.models, arch)(num_classes=CLASSES)
        sd = {k: torch.from_numpy(value(k, i, tuple(t.shape))) for i, (k, t) in enumerate(m.state_dict().items())}
        m.load_state_dict(sd, strict=True)
        m.eval()
        with torch.no_grad():
            eval_logits = m(x)
            dense = fn.conv2d(features(m, x), m.fc.weight[:, :, None, None], m.fc.bias)
            m.train()
            train_logits = m(x)
        bns = [m.bn1, m.get_submodule(LAST_BN[arch])]
        stats = torch.cat([bns[0].running_mean, bns[0].running_var, bns[1].running_mean, bns[1].running_var])
        np.save(f"parity_{arch}_logits.npy", torch.stack([eval_logits, train_logits]).numpy())
        np.save(f"parity_{arch}_dense.npy", dense.numpy())
        np.save(f"parity_{arch}_bnstats.npy", stats.numpy())
        print(arch, "eval", eval_logits.abs().max().item(), "train", train_logits.abs().max().item(),
              "dense", tuple(dense.shape), "nbt", int(m.bn1.num_batches_tracked))
        # How well conditioned the comparison is: the same in float64 (relative to the largest logit).
        md = getattr(torchvision.models, arch)(num_classes=CLASSES).double()
        md.load_state_dict(sd, strict=True)
        with torch.no_grad():
            for mode, ref in [(False, eval_logits), (True, train_logits)]:
                md.train(mode)
                d = (md(x.double()) - ref.double()).abs().max() / ref.abs().max()
                print(f"  {'train' if mode else 'eval'}: float32 vs float64 {d.item():.1e} relative")


if __name__ == "__main__":
    main()
