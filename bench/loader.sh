#!/usr/bin/env bash
# The training loader beside torchvision + PIL on the same JPEGs, one script: images/s per core of
# decode + RandomResizedCrop(224) + flip + ColorJitter(0.4, 0.4, 0.4) + PCA lighting + normalize, ours with 1 and 2
# loader threads, and the share of loader time spent on label maps + LabelPooling (a store with a map per image).
#
# usage: bench/loader.sh [--images N] [--epochs E] [--keep DIR]
# Needs Debian's python3-torchvision (apt-get install python3-torchvision; bin/setup --anchor) for the comparison
# and to write the test JPEGs (PIL); the JPEGs are synthetic photographs-like textures at ImageNet's typical size
# (about 500x375, quality 90), not ImageNet itself.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
images=600
epochs=3
keep=""
while [ $# -gt 0 ]; do
  case "$1" in
    --images) images="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    *) echo "usage: bench/loader.sh [--images N] [--epochs E] [--keep DIR]" >&2; exit 2 ;;
  esac
done
py=/usr/bin/python3
if ! $py -c 'import torch, torchvision, PIL' 2>/dev/null; then
  echo "bench/loader.sh: needs $py with torch, torchvision and PIL: apt-get install python3-torchvision" >&2
  exit 1
fi
work="${keep:-$(mktemp -d)}"
[ -n "$keep" ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work"
. "$root/bin/lib/build.sh"
relabel_build_if_stale "$root"

# 1. JPEGs in an ImageFolder tree and a label-map store with one map per image.
$py - "$work/data" "$images" <<'PY'
import os, sys, numpy as np
from PIL import Image
out, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
for i in range(n):
    w, h = int(rng.integers(400, 560)), int(rng.integers(300, 420))
    # smooth color fields + fine noise: JPEG entropy close to natural photographs
    base = rng.random((h // 16 + 2, w // 16 + 2, 3))
    img = np.array(Image.fromarray((base * 255).astype(np.uint8)).resize((w, h), Image.BICUBIC), dtype=np.float32)
    img += rng.normal(0, 12, (h, w, 3))
    d = os.path.join(out, "c%02d" % (i % 10))
    os.makedirs(d, exist_ok=True)
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(os.path.join(d, "img%05d.jpg" % i), quality=90)
PY
$py - "$work/data" "$work/dense.npy" "$work/keys.txt" <<'PY'
import os, sys, numpy as np
root, dense_out, keys_out = sys.argv[1:4]
keys = sorted(os.path.relpath(os.path.join(d, f), root)[:-4] for d, _, fs in os.walk(root) for f in fs if f.endswith(".jpg"))
open(keys_out, "w").write("\n".join(keys) + "\n")
rng = np.random.default_rng(1)
np.save(dense_out, rng.normal(0, 2, (len(keys), 1000, 15, 15)).astype(np.float16))
PY
# top-5 maps of random teacher logits, one record per image key, through the CLI (compress), then a store
"$root/bin/relabel" compress --dense "$work/dense.npy" --k 5 --out-scores "$work/s.npy" --out-indices "$work/i.npy" >/dev/null
$py - "$work" <<'PY'
import sys, numpy as np, os
w = sys.argv[1]
s, i = np.load(os.path.join(w, "s.npy")), np.load(os.path.join(w, "i.npy"))
keys = open(os.path.join(w, "keys.txt")).read().split()
# a .pt tree like the released one, then `relabel import`: the store the loader reads
import torch
for k, sc, ix in zip(keys, s, i):
    p = os.path.join(w, "pt", k + ".pt")
    os.makedirs(os.path.dirname(p), exist_ok=True)
    torch.save(torch.stack([torch.from_numpy(sc.astype(np.float32)), torch.from_numpy(ix.astype(np.float32))]), p)
PY
"$root/bin/relabel" import --src "$work/pt" --out "$work/maps.rlm" --overwrite >/dev/null

# 2. torchvision + PIL, one thread, the released training transform.
$py - "$work/data" "$epochs" >"$work/torchvision.json" <<'PY'
import glob, json, sys, time, torch
from PIL import Image
import torchvision.transforms as T
torch.set_num_threads(1)
root, epochs = sys.argv[1], int(sys.argv[2])
files = sorted(glob.glob(root + "/*/*.jpg"))
class Lighting:
    def __init__(s, std):
        s.std = std
        s.val = torch.tensor([0.2175, 0.0188, 0.0045])
        s.vec = torch.tensor([[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], [-0.5836, -0.6948, 0.4203]])
    def __call__(s, img):
        alpha = img.new_empty(3).normal_(0, s.std)
        rgb = (s.vec * alpha.view(1, 3) * s.val.view(1, 3)).sum(1)
        return img + rgb.view(3, 1, 1)
t = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.ColorJitter(0.4, 0.4, 0.4), T.ToTensor(),
               Lighting(0.1), T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
def epoch():
    for f in files:
        with open(f, "rb") as fh:
            t(Image.open(fh).convert("RGB"))
epoch()  # warm-up
t0 = time.perf_counter()
for _ in range(epochs):
    epoch()
s = time.perf_counter() - t0
print(json.dumps({"bench": "torchvision+PIL", "images": len(files) * epochs, "seconds": round(s, 3),
                  "images_per_s": round(len(files) * epochs / s, 1), "torch": torch.__version__}))
PY

# 3. Ours: 1 and 2 loader threads; with the store attached (targets pooled per batch).
for w in 1 2; do
  "$root/bin/relabel" data bench --data "$work/data" --labelmaps "$work/maps.rlm" --workers $w --epochs "$epochs" \
    >>"$work/ours.json"
done

python3 - "$work" <<'PY'
import json, os, sys
w = sys.argv[1]
tv = json.load(open(os.path.join(w, "torchvision.json")))
ours = [json.loads(l) for l in open(os.path.join(w, "ours.json")) if l.strip()]
print("| loader | threads | images/s | images/s per thread | vs torchvision+PIL (1 thread) | label maps + LabelPooling share |")
print("|---|---|---|---|---|---|")
print(f"| torchvision {tv['torch']} + PIL | 1 | {tv['images_per_s']:.0f} | {tv['images_per_s']:.0f} | 1.00x | |")
for o in ours:
    print(f"| relabel4j Loader | {o['workers']} | {o['images_per_s']:.0f} | {o['images_per_s_per_worker']:.0f} | "
          f"{o['images_per_s_per_worker'] / tv['images_per_s']:.2f}x per thread | {100 * o['labelmaps_share']:.2f}% |")
PY
