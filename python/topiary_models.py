"""PyTorch definitions of Topiary's model zoo.

Each constructor takes the same arguments as `topiary` (sample shape [C, H, W] and the number
of classes) and builds a network whose `state_dict()` keys are exactly the names of Topiary's
parameters and BatchNorm buffers, so a file from `topiary export` loads with
`model.load_state_dict(safetensors.torch.load_file(path))` and computes the same function.

The module tree mirrors Topiary's names: a convolution followed by BatchNorm is one `Conv`
module (an `nn.Conv2d` whose BatchNorm is its child `bn`), so `conv1.weight`, `conv1.bn.weight`
and `conv1.bn.running_mean` sit side by side as in Topiary.

    import topiary_models
    net = topiary_models.make("resnet20", [3, 32, 32], 10)
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["make", "NAMES", "mlp", "lenet300", "lenet5", "convnet", "vgg11", "vgg16", "vgg19",
           "resnet20", "resnet56", "resnet110", "densenet40", "mobilenetv2", "vit_tiny"]


def _activation(x, act):
    if act == "relu":
        return F.relu(x)
    if act == "relu6":
        return F.relu6(x)
    return x


class Conv(nn.Conv2d):
    """A convolution with an optional BatchNorm child `bn`, then an optional activation."""

    def __init__(self, cin, cout, kernel, stride=1, padding=0, groups=1, bias=True, bn=False, act="relu"):
        super().__init__(cin, cout, kernel, stride=stride, padding=padding, groups=groups, bias=bias)
        self.bn = nn.BatchNorm2d(cout) if bn else None
        self.act = act

    def forward(self, x):
        x = super().forward(x)
        if self.bn is not None:
            x = self.bn(x)
        return _activation(x, self.act)


class Dense(nn.Linear):
    """A fully connected layer with an optional ReLU."""

    def __init__(self, cin, cout, relu=True):
        super().__init__(cin, cout)
        self.relu = relu

    def forward(self, x):
        x = super().forward(x)
        return F.relu(x) if self.relu else x


class Network(nn.Module):
    """Runs its children in registration order (Topiary's `Sequential` with named layers).
    Pooling and flattening are kept as plain functions in `ops`, so they add no names."""

    def __init__(self):
        super().__init__()
        self.steps = []

    def add(self, name, module):
        self.add_module(name, module)
        self.steps.append(name)

    def op(self, fn):
        self.steps.append(fn)

    def forward(self, x):
        for s in self.steps:
            x = s(x) if callable(s) and not isinstance(s, str) else getattr(self, s)(x)
        return x


def _flatten(x):
    return x.flatten(1)


def _global_avg_pool(x):
    return x.mean(dim=(2, 3))


def _mlp(shape, classes, hidden):
    net = Network()
    net.op(_flatten)
    width = math.prod(shape)
    for i, h in enumerate(hidden):
        net.add(f"fc{i + 1}", Dense(width, h))
        width = h
    net.add(f"fc{len(hidden) + 1}", Dense(width, classes, relu=False))
    return net


def mlp(shape, classes):
    """The papers' 3x256 ReLU MLP."""
    return _mlp(shape, classes, [256, 256, 256])


def lenet300(shape, classes):
    """LeNet-300-100."""
    return _mlp(shape, classes, [300, 100])


def lenet5(shape, classes):
    c, h, w = shape
    net = Network()
    net.add("conv1", Conv(c, 6, 5))
    net.op(lambda x: F.max_pool2d(x, 2))
    net.add("conv2", Conv(6, 16, 5))
    net.op(lambda x: F.max_pool2d(x, 2))
    net.op(_flatten)
    h, w = ((h - 4) // 2 - 4) // 2, ((w - 4) // 2 - 4) // 2
    net.add("fc1", Dense(16 * h * w, 120))
    net.add("fc2", Dense(120, 84))
    net.add("fc3", Dense(84, classes, relu=False))
    return net


def convnet(shape, classes):
    c, h, w = shape
    net = Network()
    net.add("conv1", Conv(c, 32, 3, padding=1))
    net.add("conv2", Conv(32, 32, 3, padding=1))
    net.op(lambda x: F.max_pool2d(x, 2))
    net.add("conv3", Conv(32, 64, 3, padding=1))
    net.add("conv4", Conv(64, 64, 3, padding=1))
    net.op(lambda x: F.max_pool2d(x, 2))
    net.op(_flatten)
    net.add("fc1", Dense(64 * (h // 4) * (w // 4), 256))
    net.add("fc2", Dense(256, classes, relu=False))
    return net


VGG_CONFIGS = {
    11: [64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0],
    16: [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0],
    19: [64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0],
}


def _vgg(depth, shape, classes):
    c, h, w = shape
    net = Network()
    index = 0
    for v in VGG_CONFIGS[depth]:
        if v == 0:
            # Topiary leaves out a pool that would reduce a 1-pixel map to nothing.
            if h >= 2 and w >= 2:
                net.op(lambda x: F.max_pool2d(x, 2))
                h, w = h // 2, w // 2
        else:
            index += 1
            net.add(f"conv{index}", Conv(c, v, 3, padding=1, bn=True))
            c = v
    net.op(_global_avg_pool)
    net.add("fc", Dense(c, classes, relu=False))
    return net


def vgg11(shape, classes):
    return _vgg(11, shape, classes)


def vgg16(shape, classes):
    return _vgg(16, shape, classes)


def vgg19(shape, classes):
    return _vgg(19, shape, classes)


class Shortcut(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, stride=stride, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.bn(self.conv(x))


class BasicBlock(nn.Module):
    """He et al.'s basic block with the 1x1 conv + BN projection where the shape changes."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = Shortcut(cin, cout, stride) if stride != 1 or cin != cout else None

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (self.shortcut(x) if self.shortcut is not None else x))


def _resnet(depth, shape, classes):
    n = (depth - 2) // 6
    net = Network()
    net.add("conv1", Conv(shape[0], 16, 3, padding=1, bias=False, bn=True))
    c = 16
    for stage, width in enumerate([16, 32, 64]):
        blocks = []
        for i in range(n):
            blocks.append(BasicBlock(c, width, 2 if stage > 0 and i == 0 else 1))
            c = width
        net.add(f"layer{stage + 1}", nn.Sequential(*blocks))
    net.op(_global_avg_pool)
    net.add("fc", Dense(64, classes, relu=False))
    return net


def resnet20(shape, classes):
    return _resnet(20, shape, classes)


def resnet56(shape, classes):
    return _resnet(56, shape, classes)


def resnet110(shape, classes):
    return _resnet(110, shape, classes)


class DenseUnit(nn.Module):
    """BN-ReLU-conv3x3 producing `growth` channels, concatenated to its input."""

    def __init__(self, cin, growth):
        super().__init__()
        self.bn = nn.BatchNorm2d(cin)
        self.conv = nn.Conv2d(cin, growth, 3, padding=1, bias=False)

    def forward(self, x):
        return torch.cat([x, self.conv(F.relu(self.bn(x)))], dim=1)


class Transition(nn.Module):
    """BN-ReLU-conv1x1 (no compression), then 2x2 average pooling."""

    def __init__(self, c):
        super().__init__()
        self.bn = nn.BatchNorm2d(c)
        self.conv = nn.Conv2d(c, c, 1, bias=False)

    def forward(self, x):
        return F.avg_pool2d(self.conv(F.relu(self.bn(x))), 2)


class FinalNorm(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bn = nn.BatchNorm2d(c)

    def forward(self, x):
        return F.relu(self.bn(x))


def densenet40(shape, classes, growth=12):
    per_block = (40 - 4) // 3
    net = Network()
    net.add("conv1", Conv(shape[0], 16, 3, padding=1, bias=False, act=None))
    c = 16
    for block in (1, 2, 3):
        units = []
        for _ in range(per_block):
            units.append(DenseUnit(c, growth))
            c += growth
        net.add(f"dense{block}", nn.Sequential(*units))
        if block < 3:
            net.add(f"trans{block}", Transition(c))
    net.add("final", FinalNorm(c))
    net.op(_global_avg_pool)
    net.add("fc", Dense(c, classes, relu=False))
    return net


class InvertedResidual(nn.Module):
    """MobileNetV2's block: 1x1 expansion (absent for expansion 1), 3x3 depthwise with the
    stride, linear 1x1 projection; the input is added when stride is 1 and channels agree."""

    def __init__(self, cin, cout, expansion, stride):
        super().__init__()
        hidden = cin * expansion
        self.expand = Conv(cin, hidden, 1, bias=False, bn=True, act="relu6") if expansion != 1 else None
        self.depthwise = Conv(hidden, hidden, 3, stride=stride, padding=1, groups=hidden, bias=False, bn=True, act="relu6")
        self.project = Conv(hidden, cout, 1, bias=False, bn=True, act=None)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.expand(x) if self.expand is not None else x
        y = self.project(self.depthwise(y))
        return x + y if self.residual else y


MOBILENETV2_CONFIG = [(1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                      (6, 320, 1, 1)]


def mobilenetv2(shape, classes):
    net = Network()
    net.add("conv1", Conv(shape[0], 32, 3, padding=1, bias=False, bn=True, act="relu6"))
    c, index = 32, 0
    for t, out, n, s in MOBILENETV2_CONFIG:
        for i in range(n):
            net.add(f"block{index}", InvertedResidual(c, out, t, s if i == 0 else 1))
            c, index = out, index + 1
    net.add("conv2", Conv(c, 1280, 1, bias=False, bn=True, act="relu6"))
    net.op(_global_avg_pool)
    net.add("fc", Dense(1280, classes, relu=False))
    return net


class PatchEmbedding(nn.Module):
    def __init__(self, channels, height, width, patch, dim):
        super().__init__()
        tokens = (height // patch) * (width // patch)
        self.proj = nn.Conv2d(channels, dim, patch, stride=patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, tokens + 1, dim))

    def forward(self, x):
        y = self.proj(x).flatten(2).transpose(1, 2)
        return torch.cat([self.cls_token.expand(y.shape[0], -1, -1), y], dim=1) + self.pos_embed


class Attention(nn.Module):
    """Multi-head self-attention with a fused `qkv` projection laid out [q | k | v]."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        n, t, d = x.shape
        q, k, v = self.qkv(x).reshape(n, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        p = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d // self.heads), dim=-1)
        return self.proj((p @ v).transpose(1, 2).reshape(n, t, d))


class MLP(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class TransformerBlock(nn.Module):
    """Pre-norm block: x + attn(norm1(x)), then + mlp(norm2(.))."""

    def __init__(self, dim, heads, ratio):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = MLP(dim, ratio * dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def vit_tiny(shape, classes, patch=4, dim=128, depth=6, heads=4, ratio=2):
    c, h, w = shape
    net = Network()
    net.add("embed", PatchEmbedding(c, h, w, patch, dim))
    for i in range(depth):
        net.add(f"block{i + 1}", TransformerBlock(dim, heads, ratio))
    net.op(lambda x: x[:, 0])
    net.add("norm", nn.LayerNorm(dim))
    net.add("head", nn.Linear(dim, classes))
    return net


_CONSTRUCTORS = {
    "mlp": mlp, "lenet300": lenet300, "lenet5": lenet5, "convnet": convnet, "vgg11": vgg11, "vgg16": vgg16,
    "vgg19": vgg19, "resnet20": resnet20, "resnet56": resnet56, "resnet110": resnet110, "densenet40": densenet40,
    "mobilenetv2": mobilenetv2, "vit-tiny": vit_tiny,
}
NAMES = list(_CONSTRUCTORS)


def make(name, shape, classes):
    """The zoo model `name` (Topiary's spelling, e.g. "vit-tiny") for samples of `shape`."""
    if name not in _CONSTRUCTORS:
        raise ValueError(f"unknown model {name!r} (known: {', '.join(NAMES)})")
    return _CONSTRUCTORS[name](list(shape), classes)
