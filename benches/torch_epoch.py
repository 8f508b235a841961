#!/usr/bin/env python3
"""PyTorch's speed on one full epoch of base LeNet-5 (batch 64, Adam) on Fashion-MNIST, for the
side-by-side rows of ./build.sh bench: the same model, standardisation and optimizer as
tests/reference/pytorch_lenet.py, timed like `fashion-trainer bench` (20 untimed warm-up
batches, then the timed ones). Prints one JSON line with images_per_second.

    python3 benches/torch_epoch.py --data DIR --threads 1 [--batches 781]
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "reference"))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
from pytorch_lenet import PRESETS, lenet, load  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batches", type=int, default=781)
    ap.add_argument("--warmup", type=int, default=20)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(42)
    (X, Y), _, _ = load(a.data)
    cfg = PRESETS["base"]
    model = lenet(**cfg)
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"], eps=1e-8)
    crit = nn.CrossEntropyLoss()
    model.train()
    perm = torch.randperm(len(X))
    batch = 64
    needed = (a.warmup + a.batches) * batch
    if needed > len(X):
        sys.exit(f"{a.warmup} + {a.batches} batches of {batch} need more than {len(X)} images")

    def steps(first, count):
        for b in range(first, first + count):
            idx = perm[b * batch:(b + 1) * batch]
            out = model(X[idx])
            loss = crit(out, Y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            # Ours reads its metrics back once per chunk of 8 batches; .item() here is cheap.
            loss.item()

    steps(0, a.warmup)
    t0 = time.perf_counter()
    steps(a.warmup, a.batches)
    seconds = time.perf_counter() - t0
    print(json.dumps({"torch": torch.__version__, "threads": a.threads, "timed_batches": a.batches,
                      "timed_seconds": seconds, "images_per_second": a.batches * batch / seconds},
                     separators=(",", ":")))


if __name__ == "__main__":
    main()
