"""Compares Topiary's forward and backward passes with PyTorch's on the same weights and batch.

For each directory written by `topiary crosscheck --activations`, loads weights.safetensors into
python/topiary_models.py's network (`load_state_dict(strict=True)`; masks through
torch.nn.utils.prune.custom_from_mask) and recomputes logits, loss and every parameter gradient
in evaluation then training mode, and the BatchNorm running statistics after the training-mode
pass. Gradients of masked parameters are those of `weight_orig` (masked entries 0).

The reference is PyTorch in float64 on the same piece of the network's piecewise-linear
function as Topiary. A ReLU network's gradient is discontinuous where a ReLU / ReLU6 input sits
on a kink or two max-pooling candidates tie, and after tens of layers both float32
implementations are ~1e-6 from exact: enough to flip the decisions that lie that close (a batch
of 8 through ResNet-110 has 8.4 million ReLU inputs; some are within 1e-7 of 0 whatever the
batch). A flip changes one unit's gradient path, which in training mode moves its channel's
BatchNorm gradients by percents: that measures where the input lies, not the implementation.
So besides PyTorch's own passes (float32 and float64, "plain"), two are run with Topiary's
decisions ("matched"): every ReLU / ReLU6 keeps the units Topiary kept (from
activations.safetensors) and every max-pool takes Topiary's winner; everything else is
computed by PyTorch, in float64 (the reference) and in float32 (PyTorch's float32 noise on the
same smooth problem).

Checks:

1. Decisions: every unit where Topiary's decision differs from float64's (given the decisions
   before it) must be a near-tie: its margin (|input| of a ReLU, distance to 0 or 6 of a ReLU6
   input, the float64 gap between the winner and Topiary's winner of a max-pool window) at most
   1e-5 of the largest |value| of that layer, or at most 4x the error Topiary measurably has on
   that layer's values (max |Topiary - float64| over the units whose decisions agree, relative
   to the same largest |value|; deep networks accumulate more than 1e-5 by the last blocks).
   A wrong decision with a larger margin is a bug.
2. Values against matched float64: logits, loss and running statistics within 1e-5, every
   gradient tensor within 1e-4.
3. Gradients that are 0 in exact arithmetic (a conv bias before training-mode BatchNorm, which
   subtracts it again; MobileNetV2's project.bn β, all of whose paths meet a bias-free 1x1
   convolution into training-mode BatchNorm: |float64| <= 1e-9 of the sum of its terms'
   magnitudes, or exactly 0) have
   no relative error: |Topiary| must be within 1e-5 of the sum of the magnitudes of the terms
   it sums (sum over batch and positions of |dL/d output|, per channel).

Metric, per tensor a (Topiary) against b (reference): `||a - b||_2 / ||b||_2` over the whole
tensor (norm-relative; all judged columns). `max |a - b| / max |b|` (max-abs) is reported too.
A quantity above its bound fails, unless PyTorch float32 with the same decisions is at least
half as far from float64 on the same tensor: then it is the float32 noise floor of the problem,
printed as an exception with both numbers.

Table columns (worst over the model's tensors; in brackets PyTorch float32 with the same
decisions, its own worst tensor): logits, loss, gradient (norm-relative, vs matched float64);
gradient max-abs (Topiary); vs plain float64: logits and worst gradient of Topiary (PyTorch
float32 plain in brackets), what decision flips cost; decisions off float64: count and largest
margin; zero gradients: count and largest noise (PyTorch float32).

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

BOUND = {"logits": 1e-5, "loss": 1e-5, "grad": 1e-4, "running": 1e-5, "margin": 1e-5, "zero": 1e-5}


def norm_rel(a, b):
    """||a - b||_2 / ||b||_2 (||a - b||_2 when b is 0)."""
    a, b = a.double(), b.double()
    if b.numel() == 0:
        return 0.0
    scale = b.norm().item()
    diff = (a - b).norm().item()
    return diff / scale if scale > 0 else diff


def max_rel(a, b):
    """max |a - b| / max |b|."""
    a, b = a.double(), b.double()
    if b.numel() == 0:
        return 0.0
    scale = b.abs().max().item()
    diff = (a - b).abs().max().item()
    return diff / scale if scale > 0 else diff


def metadata(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        return json.loads(f.read(n)).get("__metadata__", {})


def network(meta, state, masks, dtype):
    net = topiary_models.make(meta["model"], json.loads(meta["input_shape"]), int(meta["classes"]))
    net.load_state_dict(state, strict=True)  # every name and shape must match exactly
    net = net.to(dtype)
    for pname, mask in masks.items():
        path, attr = pname.rsplit(".", 1)
        prune.custom_from_mask(net.get_submodule(path), attr, mask.to(dtype))
    return net


class Decisions:
    """While active, replaces F.relu, F.relu6, F.gelu and F.max_pool2d (what topiary_models
    calls) to record each activation's input and, given Topiary's activation outputs in forward
    order, to take Topiary's decisions instead of computing its own."""

    def __init__(self, topiary=None):
        self.topiary = topiary  # list of Topiary's activation outputs (forward order) or None
        self.flips = []  # (layer index, kind, count, largest margin, the layer's measured error)
        self.last_error = 0.0  # the measured error of the activation just run (the pool input)
        self.layer_error = 0.0  # worst max_rel of an activation output against Topiary's
        self.index = 0
        self.last = None  # Topiary's output of the activation just run (the pool input)

    def __enter__(self):
        self.saved = F.relu, F.relu6, F.gelu, F.max_pool2d
        F.relu, F.relu6, F.gelu, F.max_pool2d = self.relu, self.relu6, self.gelu, self.max_pool2d
        return self

    def __exit__(self, *exc):
        F.relu, F.relu6, F.gelu, F.max_pool2d = self.saved

    def next(self, x):
        if self.topiary is None:
            return None
        if self.index >= len(self.topiary):
            raise RuntimeError(f"PyTorch runs more activations than Topiary recorded ({len(self.topiary)})")
        t = self.topiary[self.index]
        if t.numel() == x.numel():
            t = t.reshape(x.shape)  # Topiary's transformer keeps tokens as [N*T, D]
        if tuple(t.shape) != tuple(x.shape):
            raise RuntimeError(f"activation {self.index}: Topiary {tuple(t.shape)}, PyTorch {tuple(x.shape)}")
        self.index += 1
        self.last = t
        return t.to(x.dtype)

    def note(self, kind, differ, margin, scale, error):
        n = int(differ.sum().item())
        if n:
            self.flips.append((self.index - 1, kind, n, (margin[differ].max().item() / scale) if scale > 0 else 0.0, error))

    def measured_error(self, t, x, agree, scale):
        """Topiary's float32 error on this layer's input, relative to its largest |value|:
        max |Topiary - float64| over the units whose decisions agree and pass the value."""
        d = (t.double() - x.detach().double()).abs()[agree]
        self.last_error = (d.max().item() / scale) if d.numel() and scale > 0 else 0.0
        return self.last_error

    def relu(self, x, inplace=False):
        t = self.next(x)
        y = self.saved[0](x)
        if t is None:
            return y
        keep = t > 0
        scale = x.detach().abs().max().item()
        differ = keep != (x.detach() > 0)
        self.note("relu", differ, x.detach().abs(), scale, self.measured_error(t, x, keep & ~differ, scale))
        out = x * keep
        self.layer_error = max(self.layer_error, max_rel(t, out.detach()))
        return out

    def relu6(self, x, inplace=False):
        t = self.next(x)
        y = self.saved[1](x)
        if t is None:
            return y
        mid, top = (t > 0) & (t < 6), t >= 6
        xd = x.detach()
        scale = xd.abs().max().item()
        region = lambda v: (v > 0).long() + (v >= 6).long()  # noqa: E731  0: <= 0, 1: (0, 6), 2: >= 6
        differ = region(t) != region(xd)
        self.note("relu6", differ, torch.minimum(xd.abs(), (xd - 6).abs()), scale,
                  self.measured_error(t, x, mid & ~differ, scale))
        out = x * mid + 6 * top.to(x.dtype)
        self.layer_error = max(self.layer_error, max_rel(t, out.detach()))
        return out

    def gelu(self, x, approximate="none"):
        t = self.next(x)  # smooth: nothing to decide, only its place in the order
        y = self.saved[2](x, approximate=approximate)
        if t is not None:
            self.layer_error = max(self.layer_error, max_rel(t, y.detach()))
        return y

    def max_pool2d(self, x, kernel, *args, **kwargs):
        if self.topiary is None:
            return self.saved[3](x, kernel, *args, **kwargs)
        t = self.last
        if t is None or tuple(t.shape) != tuple(x.shape):
            raise RuntimeError("a max-pool that does not follow an activation")
        _, ours = self.saved[3](t.double(), kernel, *args, return_indices=True, **kwargs)
        exact, theirs = self.saved[3](x.detach(), kernel, *args, return_indices=True, **kwargs)
        flat = x.flatten(2)
        picked = flat.gather(2, ours.flatten(2)).view(ours.shape)
        scale = x.detach().abs().max().item()
        self.note("maxpool", ours != theirs, exact - picked.detach(), scale, self.last_error)
        return picked


def run(net, x, y, params, masks, train, topiary=None):
    net.train(train)
    net.zero_grad(set_to_none=True)
    # Per module with a bias: sum over the batch (and positions) of |dL/d output| per output
    # channel, the sum of the magnitudes of the terms that make up the bias gradient.
    l1, hooks = {}, []
    for path, module in net.named_modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            # β's gradient sums dL/d output: 0 in exact arithmetic where every path from it
            # meets a bias-free convolution into training-mode BatchNorm (MobileNetV2's project.bn).
            def keep_bn(_, __, out, path=path):
                if out.requires_grad:
                    out.register_hook(lambda g: l1.__setitem__(path, g.abs().movedim(1, 0).reshape(g.shape[1], -1).sum(1)))
            hooks.append(module.register_forward_hook(keep_bn))
        if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)) and module.bias is not None:
            axis = 1 if isinstance(module, torch.nn.Conv2d) else -1  # the output channel

            def keep(t, path=path, axis=axis):
                if t.requires_grad:
                    t.register_hook(lambda g: l1.__setitem__(path, g.abs().movedim(axis, 0).reshape(g.shape[axis], -1).sum(1)))
                return None  # a hook's non-None result would replace the module's input or output
            bn = getattr(module, "bn", None)
            if isinstance(bn, torch.nn.BatchNorm2d):  # topiary_models.Conv: the convolution's output is BN's input
                hooks.append(bn.register_forward_pre_hook(lambda _, inputs, keep=keep: keep(inputs[0])))
            else:
                hooks.append(module.register_forward_hook(lambda _, __, out, keep=keep: keep(out)))
    with Decisions(topiary) as d:
        logits = net(x)
        if topiary is not None and d.index != len(topiary):
            raise RuntimeError(f"Topiary recorded {len(topiary)} activations, PyTorch ran {d.index}")
    loss = F.cross_entropy(logits, y)
    loss.backward()
    for h in hooks:
        h.remove()
    grads = {}
    for pname in params:
        path, attr = pname.rsplit(".", 1)
        module = net.get_submodule(path)
        grads[pname] = (getattr(module, attr + "_orig") if pname in masks else getattr(module, attr)).grad
    buffers = {k: v.detach().clone() for k, v in net.named_buffers()}
    return {"logits": logits.detach(), "loss": loss.detach(), "grads": grads, "buffers": buffers, "decisions": d, "l1": l1}


def exceed(row, what, ours, theirs):
    """Above its bound: a failure, unless PyTorch float32 on the same decisions is as far from
    float64 on the same quantity (at least half of Topiary's distance), which makes it the float32
    noise floor of the problem rather than Topiary's; those are listed as exceptions."""
    if theirs >= ours / 2:
        row["notes"].append(f"{what} {ours:.1e} from float64, PyTorch float32 {theirs:.1e}")
    else:
        row["fail"].append(f"{what} {ours:.1e} from float64 (matched decisions), PyTorch float32 {theirs:.1e}")


def check(directory):
    ref = load_file(os.path.join(directory, "reference.safetensors"))
    weights_path = os.path.join(directory, "weights.safetensors")
    weights = load_file(weights_path)
    acts_path = os.path.join(directory, "activations.safetensors")
    if not os.path.exists(acts_path):
        raise SystemExit(f"{directory}: no activations.safetensors (run topiary crosscheck with --activations)")
    acts = load_file(acts_path)
    meta = metadata(weights_path)
    masks = {k[: -len("_mask")]: v for k, v in weights.items() if k.endswith("_mask")}
    state = {k: v for k, v in weights.items() if not k.endswith("_mask")}
    params = [k for k in state if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    y = ref["labels"].long()
    row = {"model": meta["model"], "pruned": bool(masks), "fail": [], "notes": [], "batch": ref["input"].shape[0]}
    # One network per pass: a training-mode pass moves its running statistics, and each
    # variant must see the same evaluation-then-training sequence as Topiary.
    variants = {"f32": (torch.float32, False), "f64": (torch.float64, False), "matched": (torch.float64, True),
                "matched32": (torch.float32, True)}
    nets = {v: network(meta, state, masks, dt) for v, (dt, _) in variants.items()}
    for mode in ("eval", "train"):
        topiary = [acts[k] for k in sorted(k for k in acts if k.startswith(mode + "/"))]
        out = {}
        for v, (dt, matched) in variants.items():
            out[v] = run(nets[v], ref["input"].to(dt), y, params, masks, mode == "train", topiary if matched else None)
        m = out["matched"]
        flips = m["decisions"].flips
        row[f"flips.{mode}"] = (sum(f[2] for f in flips), max((f[3] for f in flips), default=0.0))
        for f in flips:
            # A near-tie: within 1e-5 of the layer's scale, or within 4x the float32 error
            # Topiary measurably has on that layer's values (deep nets accumulate more).
            if f[3] > max(BOUND["margin"], 4 * f[4]):
                row["fail"].append(f"{mode}: {f[2]} {f[1]} decision(s) of activation {f[0]} differ from float64 "
                                  f"with margin up to {f[3]:.1e} (the layer's measured error {f[4]:.1e})")
        row[f"acts.{mode}"] = m["decisions"].layer_error
        for q in ("logits", "loss"):
            ours = ref[f"{q}.{mode}"]
            row[f"{q}.{mode}"] = (norm_rel(ours, m[q]), norm_rel(out["matched32"][q], m[q]), norm_rel(ours, out["f64"][q]),
                                  norm_rel(out["f32"][q], out["f64"][q]))
            if row[f"{q}.{mode}"][0] > BOUND[q]:
                exceed(row, f"{mode} {q}", *row[f"{q}.{mode}"][:2])
        largest = max(g.abs().max().item() for g in m["grads"].values()) or 1.0
        # vs matched: norm (Topiary, torch f32), max (Topiary); norm vs plain f64 (Topiary, torch f32)
        worst = [(0.0, "")] * 5
        zero = 0
        for p in params:
            ours = ref[f"grad.{mode}/{p}"]
            path, attr = p.rsplit(".", 1)
            exact = m["grads"][p].double().abs()
            if attr == "bias" and path in m["l1"]:
                structural = (exact / m["l1"][path].clamp_min(1e-300)).max().item() <= 1e-9
            else:
                structural = exact.max().item() == 0  # e.g. a channel no sample activates
            if structural:
                zero += 1
                if attr == "bias" and path in m["l1"]:
                    # |computed sum| against the sum of |terms|, per entry: a sum that is 0 in
                    # exact arithmetic has no relative error of its own.
                    terms = m["l1"][path]
                    noise = (ours.double().abs() / terms.clamp_min(1e-300)).max().item()
                    theirs = (out["matched32"]["grads"][p].double().abs() / terms.clamp_min(1e-300)).max().item()
                else:
                    noise = ours.abs().max().item() / largest
                    theirs = out["matched32"]["grads"][p].abs().max().item() / largest
                row[f"zeronoise.{mode}"] = max(row.get(f"zeronoise.{mode}", (0.0, 0.0)), (noise, theirs))
                if noise > BOUND["zero"]:
                    row["fail"].append(f"{mode} {p}: a zero gradient comes out {noise:.1e} of the sum of its terms' magnitudes "
                                       f"(PyTorch float32 {theirs:.1e})")
                continue
            vals = (norm_rel(ours, m["grads"][p]), norm_rel(out["matched32"]["grads"][p], m["grads"][p]), max_rel(ours, m["grads"][p]),
                    norm_rel(ours, out["f64"]["grads"][p]), norm_rel(out["f32"]["grads"][p], out["f64"]["grads"][p]))
            worst = [max(w, (v, p)) for w, v in zip(worst, vals)]
            if vals[0] > BOUND["grad"]:
                exceed(row, f"{mode} {p}: gradient", vals[0], vals[1])
        row[f"grad.{mode}"] = worst
        row[f"zero.{mode}"] = zero
        if mode == "train":
            run_stats = [k for k in ref if k.startswith("running.train/")]
            row["running"] = max((norm_rel(ref[k], m["buffers"][k.split("/", 1)[1]]) for k in run_stats), default=0.0)
            if row["running"] > BOUND["running"]:
                row["fail"].append(f"running statistics {row['running']:.1e} from float64")
    return row


def main():
    dirs = sys.argv[1:]
    if not dirs:
        raise SystemExit(__doc__)
    rows = []
    for d in dirs:
        rows.append(check(d))
        print(f"checked {d}", file=sys.stderr, flush=True)
    print("| model | masks | mode | logits | loss | grad, worst tensor | grad max-abs | vs plain f64: logits, grad "
          "| decisions off f64 (margin) | zero grads (noise) |")
    print("|---|---|---|" + "---:|" * 7)
    failures, notes = [], []
    for r in rows:
        for mode in ("eval", "train"):
            g = r[f"grad.{mode}"]
            flips, margin = r[f"flips.{mode}"]
            lg, ls = r[f"logits.{mode}"], r[f"loss.{mode}"]
            zn = r.get(f"zeronoise.{mode}")
            print(f"| {r['model']} | {'50%' if r['pruned'] else '–'} | {mode} | {lg[0]:.1e} ({lg[1]:.1e}) "
                  f"| {ls[0]:.1e} ({ls[1]:.1e}) | {g[0][0]:.1e} ({g[1][0]:.1e}) `{g[0][1] or '–'}` | {g[2][0]:.1e} "
                  f"| {lg[2]:.1e} ({lg[3]:.1e}), {g[3][0]:.1e} ({g[4][0]:.1e}) | {flips} ({margin:.1e}) "
                  f"| {r[f'zero.{mode}']}" + (f" ({zn[0]:.1e} ({zn[1]:.1e}))" if zn else "") + " |")
        failures += [f"{r['model']}{' pruned' if r['pruned'] else ''}: {x}" for x in r["fail"]]
        notes += [f"{r['model']}{' pruned' if r['pruned'] else ''}: {x}" for x in r["notes"]]
    worst_running = max(r["running"] for r in rows)
    worst_acts = max(max(r["acts.eval"], r["acts.train"]) for r in rows)
    print(f"\nrunning statistics after the training step: worst {worst_running:.1e}; activation outputs "
          f"(max-abs metric per layer, matched decisions): worst {worst_acts:.1e}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {rows[0]['batch']}")
    for n in notes:
        print("above the bound, as PyTorch float32 on the same decisions (float32 noise floor): " + n)
    if failures:
        print(f"FAILED ({len(failures)}): " + "; ".join(failures[:20]))
        sys.exit(1)
    print("all within bounds")


if __name__ == "__main__":
    main()
