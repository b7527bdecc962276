"""PyTorch CPU reference for `topiary bench`: the same network, batch, loss and optimizer
(SGD, momentum 0.9, weight decay 1e-4) on random data; prints one JSON line."""
import argparse
import json
import resource
import time

import torch
import torch.nn as nn


def mlp(inputs, classes):
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(inputs, 256), nn.ReLU(),
        nn.Linear(256, 256), nn.ReLU(),
        nn.Linear(256, 256), nn.ReLU(),
        nn.Linear(256, classes),
    )


def conv_bn_relu(cin, cout, stride=1, bias=True):
    return [nn.Conv2d(cin, cout, 3, stride, 1, bias=bias), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


VGG16 = [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0]


def vgg16(shape, classes):
    """Topiary's vgg16: 3x3 convs with bias + BN + ReLU, 2x2 max pooling while the map is at
    least 2x2, global average pooling, one Linear(512, classes)."""
    layers, c, h = [], shape[0], shape[1]
    for v in VGG16:
        if v == 0:
            if h >= 2:
                layers.append(nn.MaxPool2d(2))
                h //= 2
        else:
            layers += conv_bn_relu(c, v)
            c = v
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes))


class Basic(nn.Module):
    """ResNet basic block with a 1x1 conv + BN projection shortcut when the shape changes."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
                                  nn.ReLU(inplace=True), nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(cout))
        self.short = nn.Sequential()
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return torch.relu(self.body(x) + self.short(x))


def resnet(depth):
    def build(shape, classes):
        n = (depth - 2) // 6
        layers, c = conv_bn_relu(shape[0], 16, bias=False), 16
        for stage, width in enumerate([16, 32, 64]):
            for i in range(n):
                layers.append(Basic(c, width, 2 if stage > 0 and i == 0 else 1))
                c = width
        return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, classes))
    return build


def convnet(shape, classes):
    h = shape[1] // 4
    return nn.Sequential(nn.Conv2d(shape[0], 32, 3, 1, 1), nn.ReLU(), nn.Conv2d(32, 32, 3, 1, 1), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, 1, 1), nn.ReLU(), nn.Conv2d(64, 64, 3, 1, 1),
                         nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * h * h, 256), nn.ReLU(),
                         nn.Linear(256, classes))


def lenet5(shape, classes):
    h = ((shape[1] - 4) // 2 - 4) // 2
    return nn.Sequential(nn.Conv2d(shape[0], 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * h * h, 120), nn.ReLU(),
                         nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, classes))


MODELS = {"mlp": lambda shape, classes: mlp(shape[0] * shape[1] * shape[2], classes),
          "vgg16": vgg16, "resnet20": resnet(20), "resnet56": resnet(56), "convnet": convnet, "lenet5": lenet5}


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
    net = MODELS[a.model](shape, a.classes)
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
