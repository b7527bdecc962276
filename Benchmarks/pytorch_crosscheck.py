"""Compares Topiary's forward and backward passes with PyTorch's on the same weights and batch.

For each directory written by `topiary crosscheck`, loads weights.safetensors into
python/topiary_models.py's network (`load_state_dict(strict=True)`; masks through
torch.nn.utils.prune.custom_from_mask), recomputes logits, loss and every parameter gradient
in evaluation then training mode, in float32 and in float64, and the BatchNorm running
statistics after the training-mode pass.

A difference is `max |a - b| / max |b|` over one tensor; for gradients the worst tensor.
Columns `vs torch`: Topiary against PyTorch float32. Gradients are also judged against
float64 (the exact function up to 1e-16): `grad vs f64` gives Topiary's worst distance from
float64 and, in brackets, PyTorch float32's worst over the same model. A ReLU network's
gradient is discontinuous: in deep networks the forward passes of both float32
implementations are ~1e-5 from exact, enough to flip a ReLU/ReLU6 whose input lies that
close to its kink, and in training mode the flip changes its channel's BatchNorm gradients
by percents. Which tensor it hits depends on the rounding, so the float32 noise floor of a
model is PyTorch's worst tensor, and Topiary vs torch can be no closer than that. Gradients
that are exactly 0 in exact arithmetic (a conv bias before training-mode BatchNorm, which
subtracts it again) are not compared relatively: both frameworks give rounding noise there;
the `zero` column counts them (eval / train) and checks their size is below 1e-6 of the
largest gradient or 10x PyTorch float32's noise.

Fails (exit 1) if logits, loss or running statistics differ from PyTorch float32 by more than
1e-5 (logits: unless Topiary's distance from float64 is within 3x PyTorch float32's), or the worst gradient's distance from float64 is above 1e-4 and above 10x the
model's float32 noise floor.
Usage: pytorch_crosscheck.py DIR [DIR ...]"""
import json
import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch.nn.utils import prune

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import topiary_models  # noqa: E402

BOUND = {"logits": 1e-5, "loss": 1e-5, "grad": 1e-4, "running": 1e-5}


def rel(a, b):
    a, b = a.double(), b.double()
    if b.numel() == 0:
        return 0.0
    scale = b.abs().max().item()
    diff = (a - b).abs().max().item()
    return diff / scale if scale > 0 else diff


def metadata(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        return json.loads(f.read(n))["__metadata__"]


def network(meta, state, masks, dtype):
    net = topiary_models.make(meta["model"], json.loads(meta["input_shape"]), int(meta["classes"]))
    net.load_state_dict(state, strict=True)  # every name and shape must match exactly
    net = net.to(dtype)
    for pname, mask in masks.items():
        path, attr = pname.rsplit(".", 1)
        prune.custom_from_mask(net.get_submodule(path), attr, mask.to(dtype))
    return net


def run(net, x, y, params, masks, train):
    net.train(train)
    net.zero_grad(set_to_none=True)
    logits = net(x)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    grads = {}
    for pname in params:
        path, attr = pname.rsplit(".", 1)
        module = net.get_submodule(path)
        grads[pname] = (getattr(module, attr + "_orig") if pname in masks else getattr(module, attr)).grad
    return logits.detach(), loss.detach(), grads


def check(directory):
    ref = load_file(os.path.join(directory, "reference.safetensors"))
    weights_path = os.path.join(directory, "weights.safetensors")
    weights = load_file(weights_path)
    meta = metadata(weights_path)
    masks = {k[: -len("_mask")]: v for k, v in weights.items() if k.endswith("_mask")}
    state = {k: v for k, v in weights.items() if not k.endswith("_mask")}
    params = [k for k in state if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    nets = {dt: network(meta, state, masks, dt) for dt in (torch.float32, torch.float64)}
    y = ref["labels"].long()
    row = {"model": meta["model"], "pruned": bool(masks), "fail": [], "notes": []}
    for mode in ("eval", "train"):
        out = {dt: run(nets[dt], ref["input"].to(dt), y, params, masks, mode == "train") for dt in nets}
        (l32, loss32, g32), (l64, _, g64) = out[torch.float32], out[torch.float64]
        row[f"logits.{mode}"] = rel(ref[f"logits.{mode}"], l32)
        row[f"logits64.{mode}"] = (rel(ref[f"logits.{mode}"], l64), rel(l32, l64))
        row[f"loss.{mode}"] = rel(ref[f"loss.{mode}"], loss32)
        largest = max(g.abs().max().item() for g in g64.values())
        worst_torch, worst, floor = 0.0, (0.0, ""), 0.0
        zero = 0
        for p in params:
            if g64[p].abs().max().item() <= 1e-9 * largest:
                zero += 1
                noise, theirs = ref[f"grad.{mode}/{p}"].abs().max().item(), g32[p].abs().max().item()
                if noise > max(1e-6 * largest, 10 * theirs):
                    row["fail"].append(f"{mode} {p}: zero gradient comes out {noise:.1e} (PyTorch float32 {theirs:.1e})")
                continue
            worst_torch = max(worst_torch, rel(ref[f"grad.{mode}/{p}"], g32[p]))
            ours, theirs = rel(ref[f"grad.{mode}/{p}"], g64[p]), rel(g32[p], g64[p])
            if ours > worst[0]:
                worst = (ours, p)
            floor = max(floor, theirs)
        # The model's float32 noise floor is PyTorch float32's worst distance from float64 over
        # all its gradients: which tensor a kink flip lands on varies with the rounding.
        row[f"grad.{mode}"] = worst_torch
        row[f"f64.{mode}"] = (worst[0], floor, worst[1])
        if worst[0] > BOUND["grad"] and worst[0] > 10 * floor:
            row["fail"].append(f"{mode} {worst[1]}: {worst[0]:.1e} from float64, PyTorch float32 at most {floor:.1e}")
        row[f"zero.{mode}"] = zero
    buffers = dict(nets[torch.float32].named_buffers())
    row["running"] = max((rel(v, buffers[k.split("/", 1)[1]]) for k, v in ref.items() if k.startswith("running.train/")),
                         default=0.0)
    for c in ("logits.eval", "loss.eval", "logits.train", "loss.train", "running"):
        if row[c] <= BOUND[c.split(".")[0]]:
            continue
        if c.startswith("logits"):
            ours, theirs = row["logits64." + c.split(".")[1]]
            # A deep float32 forward pass is itself ~1e-5 from exact: judge against float64 then.
            if ours <= 3 * theirs:
                row["notes"].append(f"{c} {row[c]:.1e} (from float64: Topiary {ours:.1e}, PyTorch float32 {theirs:.1e})")
                continue
        row["fail"].append(f"{c} {row[c]:.1e}")
    return row


def main():
    rows = [check(d) for d in sys.argv[1:]]
    print("| model | masks | logits eval | loss eval | grad eval vs torch | grad eval vs f64 (torch f32) "
          "| logits train | loss train | grad train vs torch | grad train vs f64 (torch f32) | zero grads | running stats |")
    print("|---|---|" + "---:|" * 10)
    failures, notes = [], []
    for r in rows:
        f = lambda k: f"{r[k]:.1e}"  # noqa: E731
        g = lambda m: f"{r['f64.' + m][0]:.1e} ({r['f64.' + m][1]:.1e})"  # noqa: E731
        print(f"| {r['model']} | {'50%' if r['pruned'] else '–'} | {f('logits.eval')} | {f('loss.eval')} | {f('grad.eval')} "
              f"| {g('eval')} | {f('logits.train')} | {f('loss.train')} | {f('grad.train')} | {g('train')} "
              f"| {r['zero.eval']} / {r['zero.train']} | {f('running')} |")
        failures += [f"{r['model']}{' pruned' if r['pruned'] else ''}: {x}" for x in r["fail"]]
        notes += [f"{r['model']}{' pruned' if r['pruned'] else ''}: {x}" for x in r["notes"]]
    print(f"\ntorch {torch.__version__}, {torch.get_num_threads()} threads")
    for n in notes:
        print("within float32's own distance from float64: " + n)
    if failures:
        print(f"FAILED ({len(failures)}): " + "; ".join(failures[:20]))
        sys.exit(1)
    print("all within bounds")


if __name__ == "__main__":
    main()
