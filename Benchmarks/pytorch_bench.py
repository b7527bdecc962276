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


def bn_relu_conv(cin, cout, k):
    return nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(inplace=True), nn.Conv2d(cin, cout, k, 1, k // 2, bias=False))


class DenseLayer(nn.Module):
    def __init__(self, cin, growth):
        super().__init__()
        self.f = bn_relu_conv(cin, growth, 3)

    def forward(self, x):
        return torch.cat([x, self.f(x)], 1)


def densenet40(shape, classes, growth=12, per_block=12):
    """Topiary's densenet40: no bottleneck, no compression, transitions BN-ReLU-1x1 conv-avgpool."""
    layers, c = [nn.Conv2d(shape[0], 16, 3, 1, 1, bias=False)], 16
    for block in range(3):
        for _ in range(per_block):
            layers.append(DenseLayer(c, growth))
            c += growth
        if block < 2:
            layers += [bn_relu_conv(c, c, 1), nn.AvgPool2d(2)]
    return nn.Sequential(*layers, nn.BatchNorm2d(c), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(c, classes))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, t, stride):
        super().__init__()
        hidden = cin * t
        layers = [] if t == 1 else [nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True)]
        layers += [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden),
                   nn.ReLU6(inplace=True), nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.f = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.f(x) if self.residual else self.f(x)


MOBILENETV2 = [(1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


def mobilenetv2(shape, classes):
    """Topiary's CIFAR mobilenetv2: stride 1 stem and second group, ReLU6, no conv shortcuts."""
    layers, c = [nn.Conv2d(shape[0], 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6(inplace=True)], 32
    for t, cout, n, s in MOBILENETV2:
        for i in range(n):
            layers.append(InvertedResidual(c, cout, t, s if i == 0 else 1))
            c = cout
    return nn.Sequential(*layers, nn.Conv2d(c, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU6(inplace=True),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1280, classes))


class Block(nn.Module):
    """Pre-norm transformer block with one Linear(D, 3D) for Q, K, V."""

    def __init__(self, d, heads, ratio):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.mlp = nn.Sequential(nn.Linear(d, ratio * d), nn.GELU(), nn.Linear(ratio * d, d))

    def forward(self, x):
        n, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).reshape(n, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        a = torch.softmax(q @ k.transpose(-1, -2) / (d // self.heads) ** 0.5, -1) @ v
        x = x + self.proj(a.transpose(1, 2).reshape(n, t, d))
        return x + self.mlp(self.ln2(x))


class ViT(nn.Module):
    """Topiary's vit-tiny: 4x4 patches, width 128, 6 blocks of 4 heads, MLP ratio 2."""

    def __init__(self, shape, classes, patch=4, d=128, depth=6, heads=4, ratio=2):
        super().__init__()
        tokens = (shape[1] // patch) * (shape[2] // patch)
        self.embed = nn.Conv2d(shape[0], d, patch, patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, d))
        self.pos = nn.Parameter(torch.randn(1, tokens + 1, d) * 0.02)
        self.blocks = nn.Sequential(*[Block(d, heads, ratio) for _ in range(depth)])
        self.ln, self.head = nn.LayerNorm(d), nn.Linear(d, classes)

    def forward(self, x):
        x = self.embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
        return self.head(self.ln(self.blocks(x)[:, 0]))


MODELS = {"densenet40": densenet40, "mobilenetv2": mobilenetv2, "vit-tiny": ViT,
          "mlp": lambda shape, classes: mlp(shape[0] * shape[1] * shape[2], classes),
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
