"""Compares Topiary's forward and backward passes with PyTorch's on the same weights and batch.

For each directory written by `topiary crosscheck`, loads weights.safetensors into
python/topiary_models.py's network (masks through torch.nn.utils.prune.custom_from_mask),
recomputes logits, loss and every parameter gradient in evaluation then training mode (and
the BatchNorm running statistics after the training-mode pass), and prints the largest
relative difference of each: max |topiary - torch| / max |torch| per tensor, the worst tensor.
Usage: pytorch_crosscheck.py DIR [DIR ...]; exits 1 if any difference is above its bound."""
import json
import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch.nn.utils import prune

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import topiary_models  # noqa: E402

BOUNDS = {"logits": 1e-5, "loss": 1e-5, "grad": 1e-4, "running": 1e-5}


def rel(a, b):
    scale = b.abs().max().item() if b.numel() else 0.0
    diff = (a - b).abs().max().item() if b.numel() else 0.0
    return diff / scale if scale > 0 else diff


def check(directory):
    ref = load_file(os.path.join(directory, "reference.safetensors"))
    weights = load_file(os.path.join(directory, "weights.safetensors"))
    with open(os.path.join(directory, "weights.safetensors"), "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        meta = json.loads(f.read(n))["__metadata__"]
    name = meta["model"]
    shape = json.loads(meta["input_shape"])
    net = topiary_models.make(name, shape, int(meta["classes"]))
    masks = {k[: -len("_mask")]: v for k, v in weights.items() if k.endswith("_mask")}
    state = {k: v for k, v in weights.items() if not k.endswith("_mask")}
    net.load_state_dict(state, strict=True)  # every name and shape must match exactly
    for pname, mask in masks.items():
        path, attr = pname.rsplit(".", 1)
        prune.custom_from_mask(net.get_submodule(path), attr, mask)
    x, y = ref["input"], ref["labels"].long()
    params = [k for k in state if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    row = {"model": name, "masked": len(masks)}
    for mode in ("eval", "train"):
        net.train(mode == "train")
        net.zero_grad(set_to_none=True)
        logits = net(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        row[f"logits.{mode}"] = rel(ref[f"logits.{mode}"], logits.detach())
        row[f"loss.{mode}"] = rel(ref[f"loss.{mode}"], loss.detach())
        worst, worst_name = 0.0, ""
        for pname in params:
            path, attr = pname.rsplit(".", 1)
            module = net.get_submodule(path)
            p = getattr(module, attr + "_orig") if pname in masks else getattr(module, attr)
            r = rel(ref[f"grad.{mode}/{pname}"], p.grad)
            if r > worst:
                worst, worst_name = r, pname
        row[f"grad.{mode}"] = worst
        row[f"grad.{mode}.worst"] = worst_name
    buffers = dict(net.named_buffers())
    row["running"] = max((rel(v, buffers[k.split("/", 1)[1]]) for k, v in ref.items() if k.startswith("running.train/")),
                         default=0.0)
    return row


def main():
    rows = [check(d) for d in sys.argv[1:]]
    cols = ["logits.eval", "loss.eval", "grad.eval", "logits.train", "loss.train", "grad.train", "running"]
    print("| model | masks | " + " | ".join(cols) + " |")
    print("|---|---:|" + "---:|" * len(cols))
    bad = []
    for r in rows:
        print(f"| {r['model']} | {r['masked']} | " + " | ".join(f"{r[c]:.1e}" for c in cols) + " |")
        for c in cols:
            if r[c] > BOUNDS[c.split(".")[0]]:
                bad.append(f"{r['model']} {c} {r[c]:.2e}" + (f" ({r[c + '.worst']})" if c + ".worst" in r else ""))
    torch_info = f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    print(f"\n{torch_info}")
    if bad:
        print("above the bounds: " + "; ".join(bad))
        sys.exit(1)


if __name__ == "__main__":
    main()
