#!/usr/bin/env python3
"""An independent PyTorch reference for the Burn trainer: the same LeNet-5 presets, split,
standardisation, Adam settings (eps 1e-8, L2 weight decay added to the gradient), batch and
best-epoch rule as src/, written from the issue's spec rather than from our code. It tells
whether a gap to a target is ours or the target's.

    ./build.sh reference v4 [--epochs N] [--train-limit N] [--seed S] [--pool max] [--lr X]

(build.sh installs torch from PyPI into ~/.cache/fashion-trainer/torch-venv: several GB, so it
is not part of ./build.sh test.)
"""
import argparse
import copy
import gzip
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn

torch.set_num_threads(1)
torch.set_num_interop_threads(1)

MEAN, STD = 0.2860, 0.3530  # src/data/mod.rs PIXEL_MEAN / PIXEL_STD

PRESETS = {
    "base": dict(c1=6, c2=16, p=0.0, lr=1e-3, wd=0.0),
    "v1": dict(c1=16, c2=26, p=0.0, lr=1e-3, wd=0.0),
    "v2": dict(c1=16, c2=26, p=0.3, lr=1e-3, wd=0.0),
    "v3": dict(c1=16, c2=26, p=0.3, lr=1e-3, wd=1e-4),
    "v4": dict(c1=16, c2=26, p=0.3, lr=5e-4, wd=1e-4),
}


def read_idx(data, name):
    with gzip.open(os.path.join(data, name), "rb") as f:
        raw = f.read()
    magic = struct.unpack(">I", raw[:4])[0]
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def to_x(imgs):
    x = (imgs.astype(np.float32) / np.float32(255.0) - np.float32(MEAN)) / np.float32(STD)
    return torch.from_numpy(x).unsqueeze(1).contiguous()


def load(data):
    tr_x = read_idx(data, "train-images-idx3-ubyte.gz")
    tr_y = read_idx(data, "train-labels-idx1-ubyte.gz")
    te_x = read_idx(data, "t10k-images-idx3-ubyte.gz")
    te_y = read_idx(data, "t10k-labels-idx1-ubyte.gz")
    assert tr_x.shape == (60000, 28, 28) and te_x.shape == (10000, 28, 28)
    X, Y = to_x(tr_x), torch.from_numpy(tr_y.astype(np.int64))
    return (X[:50000], Y[:50000]), (X[50000:], Y[50000:]), (to_x(te_x), torch.from_numpy(te_y.astype(np.int64)))


def lenet(c1, c2, p, pool="avg", **_):
    P = nn.MaxPool2d if pool == "max" else nn.AvgPool2d
    return nn.Sequential(
        nn.Conv2d(1, c1, 5, padding=2), nn.ReLU(), P(2),
        nn.Conv2d(c1, c2, 5), nn.ReLU(), P(2),
        nn.Flatten(),
        nn.Linear(c2 * 25, 120), nn.ReLU(), nn.Dropout(p),
        nn.Linear(120, 84), nn.ReLU(), nn.Dropout(p),
        nn.Linear(84, 10),
    )


@torch.no_grad()
def evaluate(model, X, Y, bs=1000):
    model.eval()
    loss_sum, correct = 0.0, 0
    crit = nn.CrossEntropyLoss(reduction="sum")
    for i in range(0, len(X), bs):
        out = model(X[i:i + bs])
        loss_sum += crit(out, Y[i:i + bs]).item()
        correct += (out.argmax(1) == Y[i:i + bs]).sum().item()
    return loss_sum / len(X), 100.0 * correct / len(X)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("preset", choices=PRESETS)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--train-limit", type=int, default=None)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--pool", default="avg")
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--data", default="../shared/data/fashion-mnist")
    a = ap.parse_args()
    cfg = dict(PRESETS[a.preset], pool=a.pool)
    if a.lr: cfg["lr"] = a.lr
    torch.manual_seed(a.seed)
    (Xtr, Ytr), (Xva, Yva), (Xte, Yte) = load(a.data)
    if a.train_limit:
        Xtr, Ytr = Xtr[:a.train_limit], Ytr[:a.train_limit]
    model = lenet(**cfg)
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"], weight_decay=cfg["wd"], eps=1e-8)
    crit = nn.CrossEntropyLoss()
    print(f"torch {torch.__version__} preset={a.preset} {cfg} seed={a.seed} epochs={a.epochs} "
          f"train={len(Xtr)} val={len(Xva)} test={len(Xte)} batch={a.batch} "
          f"params={sum(p.numel() for p in model.parameters())}", flush=True)
    best = (-1.0, 0, None)
    t_all = time.time()
    for ep in range(1, a.epochs + 1):
        t0 = time.time()
        model.train()
        perm = torch.randperm(len(Xtr))
        loss_sum, correct = 0.0, 0
        for i in range(0, len(Xtr), a.batch):
            idx = perm[i:i + a.batch]
            xb, yb = Xtr[idx], Ytr[idx]
            out = model(xb)
            loss = crit(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
            correct += (out.argmax(1) == yb).sum().item()
        tr_loss, tr_acc = loss_sum / len(Xtr), 100.0 * correct / len(Xtr)
        va_loss, va_acc = evaluate(model, Xva, Yva)
        dt = time.time() - t0
        print(f"epoch {ep:2d}  train loss {tr_loss:.4f} top1 {tr_acc:6.2f}  "
              f"val loss {va_loss:.4f} top1 {va_acc:6.2f}  {dt:6.1f}s", flush=True)
        if va_acc > best[0]:
            best = (va_acc, ep, copy.deepcopy(model.state_dict()))
    model.load_state_dict(best[2])
    te_loss, te_acc = evaluate(model, Xte, Yte)
    tr_eval = evaluate(model, Xtr, Ytr)
    print(f"best epoch {best[1]}  val top1 {best[0]:.2f}  test loss {te_loss:.4f} top1 {te_acc:.2f}  "
          f"train(eval mode) top1 {tr_eval[1]:.2f}  total {time.time() - t_all:.1f}s", flush=True)


if __name__ == "__main__":
    main()
