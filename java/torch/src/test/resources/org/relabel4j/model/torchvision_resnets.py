"""Writes the torchvision reference layouts the ResNet tests compare against (dev time: /usr/bin/python3 with
torchvision 0.14). resnet18.txt, resnet50.txt: every state-dict entry of models.<arch>(num_classes=1000) in order
(name, param|buffer, dtype, shape). resnets.txt: for all five depths the entry, parameter and buffer counts, the
parameter element count, and a sample of entries (every downsample entry and the last block of layer3).
Run from this directory: /usr/bin/python3 torchvision_resnets.py
"""
import re

import torch
import torchvision


def rows(m):
    params = dict(m.named_parameters())
    for k, v in m.state_dict().items():
        yield k, "param" if k in params else "buffer", str(v.dtype).replace("torch.", ""), ",".join(map(str, v.shape))


def main():
    head = f"# torchvision {torchvision.__version__}, torch {torch.__version__}"
    with open("resnets.txt", "w") as summary:
        summary.write(head + ": arch entries params buffers param_numel, then sampled entries\n")
        for arch in ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]:
            m = getattr(torchvision.models, arch)(num_classes=1000)
            sd = m.state_dict()
            params = dict(m.named_parameters())
            numel = sum(p.numel() for p in params.values())
            summary.write(f"{arch}\t{len(sd)}\t{len(params)}\t{len(sd) - len(params)}\t{numel}\n")
            last3 = max(int(k.split(".")[1]) for k in sd if k.startswith("layer3."))
            for r in rows(m):
                if "downsample" in r[0] or r[0].startswith(f"layer3.{last3}."):
                    summary.write(f"{arch}:" + "\t".join(r) + "\n")
            if arch in ("resnet18", "resnet50"):
                with open(f"{arch}.txt", "w") as f:
                    f.write(head + f": models.{arch}(num_classes=1000).state_dict(): name, kind, dtype, shape\n")
                    for r in rows(m):
                        f.write("\t".join(r) + "\n")


if __name__ == "__main__":
    main()
