#!/usr/bin/env python3
"""The exports against the PyTorch reference model (issue 15), for `./build.sh reference interop`:

1. our safetensors export loaded into tests/reference/pytorch_lenet.py's nn.Sequential (module
   names mapped to its indices 0, 3, 7, 10, 13), run on the 10,000 t10k images: top-1 equal to
   `fashion-trainer evaluate --logits` on every image, logits within 1e-4;
2. the reference model's own freshly initialised state dict saved with
   safetensors.torch.save_file, and its logits written for the CLI's import to be compared with.

    torch_interop.py --data DIR --export model.safetensors --reference ours.csv \
        --state-dict torch.safetensors --logits torch.csv [--preset v1] [--seed 5]
"""
import argparse
import csv
import os
import sys

import numpy as np
import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(__file__))
from pytorch_lenet import PRESETS, lenet, load  # noqa: E402

INDEX = {"conv1": "0", "conv2": "3", "fc1": "7", "fc2": "10", "fc3": "13"}


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))[1:]
    table = np.array(rows, dtype=np.float64)
    return table[:, 3:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--export", required=True)
    ap.add_argument("--reference", required=True)
    ap.add_argument("--state-dict", required=True)
    ap.add_argument("--logits", required=True)
    ap.add_argument("--preset", default="v1")
    ap.add_argument("--seed", type=int, default=5)
    a = ap.parse_args()
    _, _, (x, y) = load(a.data)

    exported = load_file(a.export)
    c1, c2 = exported["conv1.weight"].shape[0], exported["conv2.weight"].shape[0]
    model = lenet(c1, c2, 0.0).double().eval()
    model.load_state_dict({f"{INDEX[k.split('.')[0]]}.{k.split('.')[1]}": v.double() for k, v in exported.items()})
    with torch.no_grad():
        theirs = model(x.double()).numpy()
    ours = read_csv(a.reference)
    diff = float(np.abs(theirs - ours).max())
    agree = int((theirs.argmax(1) == ours.argmax(1)).sum())
    ok = agree == len(ours) and diff <= 1e-4
    print(f"{'ok  ' if ok else 'FAIL'} the export in the PyTorch reference model (torch {torch.__version__}): "
          f"top-1 agrees on {agree}/{len(ours)} images, max |logit difference| {diff:.3g}")

    torch.manual_seed(a.seed)
    cfg = PRESETS[a.preset]
    fresh = lenet(cfg["c1"], cfg["c2"], cfg["p"]).eval()
    save_file(fresh.state_dict(), a.state_dict)
    with torch.no_grad():
        logits = fresh.double()(x.double()).numpy()
    with open(a.logits, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["index", "label", "predicted"] + [f"logit_{c}" for c in range(10)])
        for i, (row, label) in enumerate(zip(logits, y.numpy())):
            out.writerow([i, int(label), int(row.argmax())] + [repr(float(v)) for v in row])
    print(f"wrote {a.state_dict} (the reference's {a.preset} state dict, nn.Sequential names, "
          f"safetensors.torch.save_file) and its logits {a.logits}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
