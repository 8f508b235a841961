#!/usr/bin/env python3
"""Checks the exported weights with other runtimes (issue 15), on all 10,000 t10k images.

    check_exports.py verify  --data DIR --reference ours.csv [--onnx F.onnx] [--safetensors F.safetensors]
    check_exports.py random  --data DIR --out F.safetensors --logits F.csv [--c1 16 --c2 26 --seed 7]
                             [--naming modules|sequential] [--torch]
    check_exports.py compare --expected python.csv --actual ours.csv

`verify` runs the ONNX file with onnxruntime and the safetensors file through a numpy forward
pass written here (float64), and compares each with the logits `fashion-trainer evaluate
--logits` wrote: top-1 must agree on every image and the logits within 1e-4. `random` writes a
safetensors file of random LeNet weights the way PyTorch users do (safetensors.numpy, or
safetensors.torch.save_file with --torch) and the numpy forward pass's logits; `compare` then
checks the CLI's (or the page's) logits of that file against them.

Uses numpy, safetensors and onnxruntime (./build.sh installs them into a venv in the cache).
"""
import argparse
import json
import csv
import gzip
import os
import struct
import sys

import numpy as np

MEAN, STD = np.float32(0.2860), np.float32(0.3530)  # src/data/mod.rs PIXEL_MEAN / PIXEL_STD
TOLERANCE = 1e-4
LAYERS = ["conv1", "conv2", "fc1", "fc2", "fc3"]
SEQUENTIAL = ["0", "3", "7", "10", "13"]  # tests/reference/pytorch_lenet.py's nn.Sequential


def test_images(data):
    """The t10k images as float32 [N, 1, 28, 28] pixels / 255 and their labels."""
    def find(name):
        for root, _, files in os.walk(data):
            if name in files:
                return os.path.join(root, name)
        sys.exit(f"{name} not found under {data}")

    def idx(name):
        with gzip.open(find(name), "rb") as f:
            raw = f.read()
        ndim = raw[3]
        dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
        return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)

    x = idx("t10k-images-idx3-ubyte.gz").astype(np.float32) / np.float32(255.0)
    return x[:, None, :, :], idx("t10k-labels-idx1-ubyte.gz")


def conv2d(x, w, b, pad):
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    n, c, h, wd = x.shape
    o, _, k, _ = w.shape
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))  # n c h' w' k k
    hh, ww = win.shape[2], win.shape[3]
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * hh * ww, c * k * k)
    out = cols @ w.reshape(o, -1).T + b
    return out.reshape(n, hh, ww, o).transpose(0, 3, 1, 2)


def avg_pool(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).mean(axis=(3, 5))


def max_pool(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def batch_norm(x, w, name):
    """PyTorch's BatchNorm2d at inference (epsilon 1e-5), or x when the model has none."""
    if f"{name}.running_mean" not in w:
        return x
    per_channel = lambda part: w[f"{name}.{part}"][None, :, None, None]
    scale = per_channel("weight") / np.sqrt(per_channel("running_var") + 1e-5)
    return (x - per_channel("running_mean")) * scale + per_channel("bias")


def forward(weights, x, pooling="average", chunk=1000):
    """The LeNet's logits in float64: standardise, 2 x (conv, [batch norm], ReLU, pool), 3
    linear layers."""
    w = {k: v.astype(np.float64) for k, v in weights.items()}
    relu = lambda t: np.maximum(t, 0.0)
    pool = max_pool if pooling == "max" else avg_pool
    out = []
    for i in range(0, len(x), chunk):
        t = ((x[i:i + chunk] - MEAN) / STD).astype(np.float64)
        t = pool(relu(batch_norm(conv2d(t, w["conv1.weight"], w["conv1.bias"], 2), w, "bn1")))
        t = pool(relu(batch_norm(conv2d(t, w["conv2.weight"], w["conv2.bias"], 0), w, "bn2")))
        t = t.reshape(len(t), -1)
        t = relu(t @ w["fc1.weight"].T + w["fc1.bias"])
        t = relu(t @ w["fc2.weight"].T + w["fc2.bias"])
        out.append(t @ w["fc3.weight"].T + w["fc3.bias"])
    return np.concatenate(out)


def read_logits(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    assert header[:3] == ["index", "label", "predicted"] and len(header) == 13, header
    table = np.array(rows, dtype=np.float64)
    return table[:, 3:], table[:, 2].astype(int), table[:, 1].astype(int)


def write_logits(path, logits, labels):
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["index", "label", "predicted"] + [f"logit_{c}" for c in range(10)])
        for i, (row, label) in enumerate(zip(logits, labels)):
            out.writerow([i, int(label), int(row.argmax())] + [repr(float(v)) for v in row])


def agree(name, theirs, ours, ours_predicted=None):
    """Top-1 equal on every image, logits within TOLERANCE; prints one line, returns success."""
    if theirs.shape != ours.shape:
        print(f"FAIL {name}: {theirs.shape} logits, expected {ours.shape}")
        return False
    top_theirs, top_ours = theirs.argmax(1), ours.argmax(1)
    if ours_predicted is not None and not np.array_equal(top_ours, ours_predicted):
        print(f"FAIL {name}: the reference CSV's predicted column is not the argmax of its logits")
        return False
    differ = np.flatnonzero(top_theirs != top_ours)
    diff = float(np.abs(theirs - ours).max())
    ok = len(differ) == 0 and diff <= TOLERANCE
    print(f"{'ok  ' if ok else 'FAIL'} {name}: top-1 agrees on {len(ours) - len(differ)}/{len(ours)} images, "
          f"max |logit difference| {diff:.3g} (limit {TOLERANCE:g})")
    for i in differ[:5]:
        print(f"     image {i}: {top_theirs[i]} vs {top_ours[i]}, logits {theirs[i].round(6)} vs {ours[i].round(6)}")
    return ok


def check_onnx(path, x):
    import onnx
    import onnxruntime as ort

    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    opset = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    inputs, outputs = model.graph.input, model.graph.output
    batch = inputs[0].type.tensor_type.shape.dim[0]
    ops = sorted({n.op_type for n in model.graph.node})
    problems = []
    if opset < 13:
        problems.append(f"opset {opset} < 13")
    if [i.name for i in inputs] != ["images"] or [o.name for o in outputs] != ["logits"]:
        problems.append(f"inputs {[i.name for i in inputs]}, outputs {[o.name for o in outputs]}")
    if not batch.dim_param:
        problems.append("the batch dimension is not dynamic")
    print(f"{'ok  ' if not problems else 'FAIL'} ONNX model: checker passed, opset {opset}, "
          f"input images {[d.dim_param or d.dim_value for d in inputs[0].type.tensor_type.shape.dim]}, "
          f"ops {', '.join(ops)}{'; ' + '; '.join(problems) if problems else ''}")
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    # Two batch sizes: the whole set at once and one image, through the dynamic batch dimension.
    logits = session.run(["logits"], {"images": x})[0]
    single = session.run(["logits"], {"images": x[:1]})[0]
    same = np.abs(single - logits[:1]).max() <= TOLERANCE
    if not same:
        problems.append("a batch of one gives other logits")
    return logits.astype(np.float64), not problems


def load_safetensors(path):
    from safetensors import safe_open
    from safetensors.numpy import load_file

    with safe_open(path, "np") as f:
        metadata = f.metadata() or {}
    return load_file(path), metadata


def verify(args):
    x, labels = test_images(args.data)
    ours, predicted, ours_labels = read_logits(args.reference)
    ok = np.array_equal(ours_labels, labels)
    if not ok:
        print("FAIL the reference CSV's labels are not t10k's")
    accuracy = (predicted == labels).mean()
    print(f"reference: {args.reference}, {len(ours)} images, top-1 {accuracy:.2%}")
    if args.onnx:
        logits, fine = check_onnx(args.onnx, x)
        ok &= fine
        ok &= agree(f"onnxruntime on {os.path.basename(args.onnx)}", logits, ours, predicted)
    if args.safetensors:
        weights, metadata = load_safetensors(args.safetensors)
        names = sorted(weights)
        expected = [f"{l}.{p}" for l in LAYERS for p in ("weight", "bias")]
        if "bn1.running_mean" in weights:
            parts = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
            expected += [f"bn{i}.{p}" for i in (1, 2) for p in parts]
        expected = sorted(expected)
        if names != expected:
            print(f"FAIL safetensors names {names}, expected {expected}")
            ok = False
        shapes = {k: list(v.shape) for k, v in weights.items()}
        print(f"     safetensors: {shapes}; metadata keys {sorted(metadata)}")
        settings = json.loads(metadata.get("fashion_trainer", "{}"))
        pooling = (settings.get("model") or {}).get("pooling") or "average"
        print(f"     pooling: {pooling}")
        logits = forward(weights, x, pooling)
        ok &= agree(f"numpy forward pass of {os.path.basename(args.safetensors)}", logits, ours, predicted)
    return ok


def random(args):
    x, labels = test_images(args.data)
    rng = np.random.default_rng(args.seed)
    c1, c2 = args.c1, args.c2
    shapes = [((c1, 1, 5, 5), c1), ((c2, c1, 5, 5), c2), ((120, c2 * 25), 120), ((84, 120), 84), ((10, 84), 10)]
    weights = {}
    for layer, (shape, out) in zip(LAYERS, shapes):
        # He-uniform weights keep the activations' scale through the ReLUs, so the predictions
        # spread over the classes (PyTorch's smaller default range gives one class everywhere).
        bound = np.sqrt(6.0 / np.prod(shape[1:]))
        weights[f"{layer}.weight"] = rng.uniform(-bound, bound, shape).astype(np.float32)
        weights[f"{layer}.bias"] = rng.uniform(-0.5, 0.5, out).astype(np.float32)
    names = LAYERS if args.naming == "modules" else SEQUENTIAL
    stored = {f"{names[LAYERS.index(k.split('.')[0])]}.{k.split('.')[1]}": v for k, v in weights.items()}
    if args.torch:
        import torch
        from safetensors.torch import save_file

        save_file({k: torch.from_numpy(v) for k, v in stored.items()}, args.out)
    else:
        from safetensors.numpy import save_file

        save_file(stored, args.out)
    logits = forward(weights, x)
    write_logits(args.logits, logits, labels)
    print(f"wrote {args.out} ({args.naming} names, c1={c1}, c2={c2}, seed {args.seed}, "
          f"{'safetensors.torch' if args.torch else 'safetensors.numpy'}) and its logits {args.logits} "
          f"(top-1 {(logits.argmax(1) == labels).mean():.2%}, {len(np.unique(logits.argmax(1)))} classes predicted)")
    return True


def compare(args):
    expected, _, labels = read_logits(args.expected)
    actual, predicted, actual_labels = read_logits(args.actual)
    if not np.array_equal(labels, actual_labels):
        print("FAIL the two CSVs are not of the same images")
        return False
    return agree(f"{os.path.basename(args.actual)} against {os.path.basename(args.expected)}", actual, expected, predicted)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("verify")
    v.add_argument("--data", required=True)
    v.add_argument("--reference", required=True)
    v.add_argument("--onnx")
    v.add_argument("--safetensors")
    r = sub.add_parser("random")
    r.add_argument("--data", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--logits", required=True)
    r.add_argument("--c1", type=int, default=16)
    r.add_argument("--c2", type=int, default=26)
    r.add_argument("--seed", type=int, default=7)
    r.add_argument("--naming", choices=["modules", "sequential"], default="modules")
    r.add_argument("--torch", action="store_true")
    c = sub.add_parser("compare")
    c.add_argument("--expected", required=True)
    c.add_argument("--actual", required=True)
    args = parser.parse_args()
    ok = {"verify": verify, "random": random, "compare": compare}[args.command](args)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
