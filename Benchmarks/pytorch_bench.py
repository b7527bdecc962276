"""PyTorch CPU reference for `topiary bench`: the same network, batch, loss and optimizer
(SGD, momentum 0.9, weight decay 1e-4) on random data; prints one JSON line."""
import argparse
import json
import os
import resource
import sys
import time

import torch
import torch.nn as nn


# The networks come from the project's PyTorch definitions of the zoo (same names and
# function as Topiary's models), not from copies kept here.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import topiary_models  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="mlp")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--input", default="1x28x28")
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    shape = [int(s) for s in a.input.split("x")]
    net = topiary_models.make(a.model, shape, a.classes)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(a.batch_size, *shape)
    y = torch.randint(0, a.classes, (a.batch_size,))

    def step():
        opt.zero_grad(set_to_none=False)
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()

    for _ in range(a.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    sec = time.perf_counter() - t0
    print(json.dumps({"model": a.model, "batch_size": a.batch_size, "steps": a.steps, "threads": a.threads,
                      "ms_per_step": sec * 1000 / a.steps, "parameters": sum(p.numel() for p in net.parameters()), "samples_per_second": a.steps * a.batch_size / sec,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
