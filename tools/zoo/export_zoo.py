#!/usr/bin/env python3
"""Export a zoo of real PyTorch CNNs to ONNX in the reference-model format.

A developer tool (needs torch + torchvision, which CI does not have): it
builds a folder that /work/shared/tools/eval_tflite.py (or
../shared/tools/eval_tflite.py) evaluates like the shared reference models,
so a converter change can be checked on architectures nobody has tuned for.

    python export_zoo.py --out /tmp/zoo_models                 # everything
    python export_zoo.py --out /tmp/zoo_models --only resnet18,unet_small
    python export_zoo.py --list

For every model NAME the folder gets NAME.onnx, NAME.input.npy (seeded
N(0,1), PyTorch layout), NAME.output.npy (or NAME.output0.npy ...: PyTorch's
float32 output) and an entry in manifest.json shaped like the shared
manifest (inputs/outputs with layout, suggested_float_rtol, op_histogram,
onnxruntime_check ...).  The entries of models not exported in this run are
kept, so --only refreshes part of a folder.

How the models are made (as in shared/models/README.md): random weights
(torch.manual_seed(0)), normalisation layers with random affine parameters
(gamma in [0.5,1.5], beta ~ N(0,0.2)), BatchNorm running statistics
re-estimated on seeded N(0,1) batches (only the BN layers in train mode, so
dropout / stochastic depth stay off), eval mode, batch 1, static shapes,
do_constant_folding=True, input name 'input', outputs 'output' or
'output0'...  The exporter is the TorchScript one (dynamo=False) at the
entry's opset unless the entry's name ends in '_dynamo' (torch.export-based
exporter, its default opset).

suggested_float_rtol is 1e-4, raised to 10x the model's own fp32-vs-fp64
relative error when that is larger (its numerical noise floor).
"""

import argparse
import copy
import json
import os
import sys
import time
import warnings
import zlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
import torchvision.models as tvm
import torchvision.models.segmentation as tvseg
import torchvision.models.video as tvvid

# ----------------------------------------------------------------------------
# small models of our own: blocks that real architectures use, in isolation
# ----------------------------------------------------------------------------


def conv_bn_relu(cin, cout, k=3, s=1, p=1, act=nn.ReLU):
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, p, bias=False), nn.BatchNorm2d(cout), act())


class UNetSmall(nn.Module):
    """Two-level U-Net: max-pool down, one ConvTranspose up and one bilinear
    (align_corners=False) up, skip concatenations."""

    def __init__(self, cin=3, ncls=2, w=16):
        super().__init__()
        self.e1 = nn.Sequential(conv_bn_relu(cin, w), conv_bn_relu(w, w))
        self.e2 = nn.Sequential(conv_bn_relu(w, 2 * w), conv_bn_relu(2 * w, 2 * w))
        self.mid = nn.Sequential(conv_bn_relu(2 * w, 4 * w), conv_bn_relu(4 * w, 4 * w))
        self.up2 = nn.ConvTranspose2d(4 * w, 2 * w, 2, stride=2)
        self.d2 = nn.Sequential(conv_bn_relu(4 * w, 2 * w), conv_bn_relu(2 * w, 2 * w))
        self.up1 = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.d1 = nn.Sequential(conv_bn_relu(3 * w, w), conv_bn_relu(w, w))
        self.head = nn.Conv2d(w, ncls, 1)

    def forward(self, x):
        e1 = self.e1(x)
        e2 = self.e2(F.max_pool2d(e1, 2))
        m = self.mid(F.max_pool2d(e2, 2))
        d2 = self.d2(torch.cat([self.up2(m), e2], 1))
        d1 = self.d1(torch.cat([self.up1(d2), e1], 1))
        return self.head(d1)


class AudioCNN1d(nn.Module):
    """A 1-D keyword-spotting CNN on raw audio: strided Conv1d, BN1d, pools,
    a depthwise Conv1d, global average pool, Linear."""

    def __init__(self, ncls=12):
        super().__init__()
        self.f = nn.Sequential(
            nn.Conv1d(1, 16, 31, stride=4, padding=15, bias=False), nn.BatchNorm1d(16), nn.ReLU(),
            nn.MaxPool1d(4),
            nn.Conv1d(16, 32, 5, padding=2, bias=False), nn.BatchNorm1d(32), nn.ReLU(),
            nn.Conv1d(32, 32, 5, padding=4, dilation=2, groups=32, bias=False), nn.BatchNorm1d(32), nn.ReLU6(),
            nn.AvgPool1d(3, stride=2, padding=1),
            nn.Conv1d(32, 64, 3, padding=1, bias=False), nn.BatchNorm1d(64), nn.ReLU(),
            nn.AdaptiveAvgPool1d(1))
        self.fc = nn.Linear(64, ncls)

    def forward(self, x):
        return self.fc(torch.flatten(self.f(x), 1))


class SEHardsigmoid(nn.Module):
    """MobileNetV3-style block: expand, depthwise 5x5 stride 2, squeeze-excite
    with hardsigmoid gate, project; hardswish activations; residual."""

    def __init__(self, c=24, e=72):
        super().__init__()
        self.stem = conv_bn_relu(3, c, 3, 1, 1, nn.Hardswish)
        self.expand = conv_bn_relu(c, e, 1, 1, 0, nn.Hardswish)
        self.dw = nn.Sequential(nn.Conv2d(e, e, 5, 2, 2, groups=e, bias=False), nn.BatchNorm2d(e), nn.Hardswish())
        self.se1 = nn.Conv2d(e, e // 4, 1)
        self.se2 = nn.Conv2d(e // 4, e, 1)
        self.proj = nn.Sequential(nn.Conv2d(e, c, 1, bias=False), nn.BatchNorm2d(c))
        self.tail = conv_bn_relu(c, c, 3, 1, 1, nn.Hardswish)

    def forward(self, x):
        x = self.stem(x)
        y = self.dw(self.expand(x))
        s = F.adaptive_avg_pool2d(y, 1)
        s = F.hardsigmoid(self.se2(F.relu(self.se1(s))))
        y = self.proj(y * s)
        return self.tail(y + F.avg_pool2d(x, 2))


class SiLUBlock(nn.Module):
    """EfficientNet-style: SiLU everywhere, SE with sigmoid gate, a 1x1 head
    and a global pool into a Linear."""

    def __init__(self):
        super().__init__()
        self.a = conv_bn_relu(3, 32, 3, 2, 1, nn.SiLU)
        self.b = nn.Sequential(nn.Conv2d(32, 32, 3, 1, 1, groups=32, bias=False), nn.BatchNorm2d(32), nn.SiLU())
        self.se = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(32, 8, 1), nn.SiLU(), nn.Conv2d(8, 32, 1),
                                nn.Sigmoid())
        self.c = conv_bn_relu(32, 64, 1, 1, 0, nn.SiLU)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.b(self.a(x))
        x = self.c(x * self.se(x))
        return self.fc(x.mean((2, 3)))


class PixelShuffleNet(nn.Module):
    """Super-resolution tail (ESPCN-like): conv, PixelShuffle(2), conv,
    plus a PixelUnshuffle at the input."""

    def __init__(self):
        super().__init__()
        self.un = nn.PixelUnshuffle(2)
        self.a = nn.Sequential(nn.Conv2d(12, 32, 3, 1, 1), nn.ReLU())
        self.b = nn.Conv2d(32, 4 * 16, 3, 1, 1)
        self.ps = nn.PixelShuffle(2)
        self.c = nn.Conv2d(16, 3, 3, 1, 1)

    def forward(self, x):
        return self.c(F.relu(self.ps(self.b(self.a(self.un(x))))))


class GroupNormBlock(nn.Module):
    """Conv + GroupNorm + SiLU residual block (diffusion U-Net style)."""

    def __init__(self, c=32, g=8):
        super().__init__()
        self.inp = nn.Conv2d(3, c, 3, 1, 1)
        self.n1 = nn.GroupNorm(g, c)
        self.c1 = nn.Conv2d(c, c, 3, 1, 1)
        self.n2 = nn.GroupNorm(g, c)
        self.c2 = nn.Conv2d(c, c, 3, 1, 1)

    def forward(self, x):
        x = self.inp(x)
        h = self.c1(F.silu(self.n1(x)))
        h = self.c2(F.silu(self.n2(h)))
        return x + h


class LayerNormCF(nn.Module):
    """ConvNeXt's LayerNorm(data_format='channels_first'), written out:
    mean/var over axis 1, then a per-channel affine."""

    def __init__(self, c, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))
        self.eps = eps

    def forward(self, x):
        u = x.mean(1, keepdim=True)
        s = (x - u).pow(2).mean(1, keepdim=True)
        x = (x - u) / torch.sqrt(s + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class LayerNormCFNet(nn.Module):
    def __init__(self, c=32):
        super().__init__()
        self.stem = nn.Conv2d(3, c, 4, 4)
        self.n1 = LayerNormCF(c)
        self.dw = nn.Conv2d(c, c, 7, 1, 3, groups=c)
        self.n2 = LayerNormCF(c)
        self.pw = nn.Conv2d(c, 2 * c, 1)
        self.pw2 = nn.Conv2d(2 * c, c, 1)

    def forward(self, x):
        x = self.n1(self.stem(x))
        return x + self.pw2(F.relu(self.pw(self.n2(self.dw(x)))))


class PoolZoo(nn.Module):
    """Pool/pad variants real nets use: ceil_mode, count_include_pad=False,
    asymmetric conv padding, dilated depthwise conv, ReLU6 / LeakyReLU / ELU."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 16, (3, 5), 1, (1, 2))
        self.b = nn.Conv2d(16, 16, 3, 1, 2, dilation=2, groups=16)
        self.c = nn.Conv2d(16, 24, 3, 2, 0)
        self.d = nn.Conv2d(24, 8, 1)

    def forward(self, x):
        x = F.relu6(self.a(x))
        x = F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False)
        x = F.leaky_relu(self.b(x), 0.1)
        x = F.max_pool2d(x, 3, 2, 1, ceil_mode=True)
        x = F.elu(self.c(x))
        return self.d(F.avg_pool2d(x, 2, ceil_mode=True))


class DoubleConv(nn.Sequential):
    def __init__(self, cin, cout, mid=None):
        mid = mid or cout
        super().__init__(nn.Conv2d(cin, mid, 3, padding=1, bias=False), nn.BatchNorm2d(mid), nn.ReLU(inplace=True),
                         nn.Conv2d(mid, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UpMilesial(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
        self.conv = DoubleConv(cin, cout, cin // 2)

    def forward(self, x1, x2):
        x1 = self.up(x1)
        dy = x2.size()[2] - x1.size()[2]
        dx = x2.size()[3] - x1.size()[3]
        x1 = F.pad(x1, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
        return self.conv(torch.cat([x2, x1], dim=1))


class UNetMilesial(nn.Module):
    """milesial/Pytorch-UNet (bilinear=True) at 1/4 width: align_corners=True
    upsampling and F.pad with sizes computed from tensor shapes (a Pad whose
    pads come from Shape/Gather/Sub, all zero here)."""

    def __init__(self, cin=3, ncls=2, w=16):
        super().__init__()
        self.inc = DoubleConv(cin, w)
        self.downs = nn.ModuleList([nn.Sequential(nn.MaxPool2d(2), DoubleConv(a, b))
                                    for a, b in ((w, 2 * w), (2 * w, 4 * w), (4 * w, 8 * w), (8 * w, 8 * w))])
        self.ups = nn.ModuleList([UpMilesial(a, b) for a, b in ((16 * w, 4 * w), (8 * w, 2 * w), (4 * w, w),
                                                                (2 * w, w))])
        self.outc = nn.Conv2d(w, ncls, 1)

    def forward(self, x):
        skips = [self.inc(x)]
        for d in self.downs:
            skips.append(d(skips[-1]))
        x = skips.pop()
        for u in self.ups:
            x = u(x, skips.pop())
        return self.outc(x)


class ConvBNSiLU(nn.Sequential):
    def __init__(self, cin, cout, k=1, s=1):
        super().__init__(nn.Conv2d(cin, cout, k, s, k // 2, bias=False), nn.BatchNorm2d(cout), nn.SiLU())


class C3(nn.Module):
    def __init__(self, cin, cout, n=1):
        super().__init__()
        h = cout // 2
        self.cv1, self.cv2, self.cv3 = ConvBNSiLU(cin, h), ConvBNSiLU(cin, h), ConvBNSiLU(2 * h, cout)
        self.m = nn.Sequential(*[nn.Sequential(ConvBNSiLU(h, h), ConvBNSiLU(h, h, 3)) for _ in range(n)])

    def forward(self, x):
        a = self.cv1(x)
        return self.cv3(torch.cat([a + self.m(a), self.cv2(x)], 1))


class YoloLike(nn.Module):
    """YOLOv5-style: Focus stem (strided slices + concat), C3 blocks, SPPF
    (chained 5x5 max pools), nearest upsample + concat neck, and a detection
    head reshaped/permuted to [1, 3, ny, nx, 85] with a sigmoid."""

    def __init__(self, w=16, na=3, no=85):
        super().__init__()
        self.na, self.no = na, no
        self.focus = ConvBNSiLU(12, w, 3)
        self.b1 = nn.Sequential(ConvBNSiLU(w, 2 * w, 3, 2), C3(2 * w, 2 * w))
        self.b2 = nn.Sequential(ConvBNSiLU(2 * w, 4 * w, 3, 2), C3(4 * w, 4 * w, 2))
        self.b3 = nn.Sequential(ConvBNSiLU(4 * w, 8 * w, 3, 2), C3(8 * w, 8 * w))
        self.sppf_a, self.sppf_b = ConvBNSiLU(8 * w, 4 * w), ConvBNSiLU(16 * w, 8 * w)
        self.lat = ConvBNSiLU(8 * w, 4 * w)
        self.n1 = C3(8 * w, 4 * w)
        self.head = nn.ModuleList([nn.Conv2d(4 * w, na * no, 1), nn.Conv2d(8 * w, na * no, 1)])

    def forward(self, x):
        x = self.focus(torch.cat([x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2], x[..., 1::2, 1::2]], 1))
        p3 = self.b2(self.b1(x))
        p4 = self.b3(p3)
        a = self.sppf_a(p4)
        y1 = F.max_pool2d(a, 5, 1, 2)
        y2 = F.max_pool2d(y1, 5, 1, 2)
        p4 = self.sppf_b(torch.cat([a, y1, y2, F.max_pool2d(y2, 5, 1, 2)], 1))
        up = F.interpolate(self.lat(p4), scale_factor=2.0, mode="nearest")
        p3 = self.n1(torch.cat([up, p3], 1))
        outs = []
        for h, p in zip(self.head, (p3, p4)):
            y = h(p)
            bs, _, ny, nx = y.shape
            outs.append(y.view(bs, self.na, self.no, ny, nx).permute(0, 1, 3, 4, 2).contiguous().sigmoid())
        return tuple(outs)


class SegOut(nn.Module):
    """torchvision segmentation models return a dict: keep 'out' only."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m(x)["out"]


# ----------------------------------------------------------------------------
# the zoo
# ----------------------------------------------------------------------------

def _seg(fn, **kw):
    return lambda: SegOut(fn(weights=None, weights_backbone=None, aux_loss=False, **kw))


def _tv(fn, **kw):
    return lambda: fn(weights=None, **kw)


IMG = (1, 3, 128, 128)
# name -> (builder, input shape, origin)
BASE = {
    "resnet18": (_tv(tvm.resnet18), IMG, "torchvision resnet18"),
    "resnet50": (_tv(tvm.resnet50), IMG, "torchvision resnet50"),
    "resnext50_32x4d": (_tv(tvm.resnext50_32x4d), IMG, "torchvision resnext50_32x4d (grouped 3x3 convs)"),
    "wide_resnet50_2": (_tv(tvm.wide_resnet50_2), (1, 3, 96, 96), "torchvision wide_resnet50_2"),
    "mobilenet_v2": (_tv(tvm.mobilenet_v2), IMG, "torchvision mobilenet_v2"),
    "mobilenet_v3_small": (_tv(tvm.mobilenet_v3_small), IMG, "torchvision mobilenet_v3_small"),
    "mobilenet_v3_large": (_tv(tvm.mobilenet_v3_large), IMG, "torchvision mobilenet_v3_large"),
    "efficientnet_b0": (_tv(tvm.efficientnet_b0), IMG, "torchvision efficientnet_b0"),
    "efficientnet_v2_s": (_tv(tvm.efficientnet_v2_s), IMG, "torchvision efficientnet_v2_s"),
    "densenet121": (_tv(tvm.densenet121), IMG, "torchvision densenet121"),
    "googlenet": (_tv(tvm.googlenet, aux_logits=False, init_weights=True), IMG,
                  "torchvision googlenet, aux_logits=False"),
    "inception_v3": (_tv(tvm.inception_v3, aux_logits=False, init_weights=True), (1, 3, 299, 299),
                     "torchvision inception_v3, aux_logits=False"),
    # transform_input=True is what the pretrained weights set: per-channel
    # x[:, c] * a + b on the input, concatenated back
    "googlenet_transform_input": (_tv(tvm.googlenet, aux_logits=False, init_weights=True, transform_input=True),
                                  IMG, "torchvision googlenet, transform_input=True (as with pretrained weights)"),
    "regnet_x_400mf": (_tv(tvm.regnet_x_400mf), IMG, "torchvision regnet_x_400mf"),
    "regnet_y_400mf": (_tv(tvm.regnet_y_400mf), IMG, "torchvision regnet_y_400mf (SE)"),
    "mnasnet0_5": (_tv(tvm.mnasnet0_5), IMG, "torchvision mnasnet0_5"),
    "shufflenet_v2_x1_0": (_tv(tvm.shufflenet_v2_x1_0), IMG, "torchvision shufflenet_v2_x1_0"),
    "squeezenet1_0": (_tv(tvm.squeezenet1_0), IMG, "torchvision squeezenet1_0"),
    # adaptive pools to 6x6 / 7x7 need the full 224 input to export
    "alexnet": (_tv(tvm.alexnet), (1, 3, 224, 224), "torchvision alexnet"),
    "vgg11_bn": (_tv(tvm.vgg11_bn), (1, 3, 224, 224), "torchvision vgg11_bn"),
    "convnext_tiny": (_tv(tvm.convnext_tiny), IMG, "torchvision convnext_tiny (LayerNorm, GELU)"),
    "fcn_resnet50": (_seg(tvseg.fcn_resnet50), IMG, "torchvision fcn_resnet50, output 'out'"),
    "deeplabv3_mobilenet_v3_large": (_seg(tvseg.deeplabv3_mobilenet_v3_large), IMG,
                                     "torchvision deeplabv3_mobilenet_v3_large, output 'out'"),
    "lraspp_mobilenet_v3_large": (lambda: SegOut(tvseg.lraspp_mobilenet_v3_large(weights=None,
                                                                                weights_backbone=None)),
                                  IMG, "torchvision lraspp_mobilenet_v3_large, output 'out'"),
    "r3d_18": (_tv(tvvid.r3d_18), (1, 3, 8, 64, 64), "torchvision video r3d_18 (Conv3d)"),
    "unet_small": (UNetSmall, (1, 3, 64, 64), "2-level U-Net: ConvTranspose + bilinear upsample"),
    "audio_cnn1d": (AudioCNN1d, (1, 1, 4000), "1-D CNN on raw audio (Conv1d/BN1d/pools)"),
    "se_hardsigmoid": (SEHardsigmoid, (1, 3, 64, 64), "MobileNetV3 block: SE + hardsigmoid/hardswish"),
    "silu_block": (SiLUBlock, (1, 3, 64, 64), "EfficientNet block: SiLU + SE"),
    "pixel_shuffle": (PixelShuffleNet, (1, 3, 64, 64), "PixelUnshuffle/PixelShuffle (Depth/SpaceToDepth)"),
    "groupnorm_block": (GroupNormBlock, (1, 3, 32, 32), "GroupNorm + SiLU residual block"),
    "layernorm_cf": (LayerNormCFNet, (1, 3, 64, 64), "ConvNeXt LayerNorm channels_first, written out"),
    "pool_zoo": (PoolZoo, (1, 3, 61, 61), "ceil_mode / count_include_pad / asymmetric / dilated"),
    "unet_milesial": (UNetMilesial, (1, 3, 96, 96), "milesial/Pytorch-UNet: align_corners=True, F.pad from shapes"),
    "yolo_like": (YoloLike, (1, 3, 128, 128), "YOLOv5-style Focus/C3/SPPF/nearest upsample/permuted head"),
}

# timm (optional): more real architectures, random init, no download.
TIMM = ["ghostnet_100", "ghostnetv2_100", "mixnet_s", "rexnet_100", "cspdarknet53", "cs3darknet_s", "dla34",
        "hrnet_w18_small", "res2net50_26w_4s", "selecsls42b", "dpn68", "tf_efficientnet_b0", "repvgg_a0",
        "resnest14d", "skresnet18", "efficientnet_lite0", "mobilenetv3_large_100", "mobilenetv4_conv_small",
        "mobilevit_xxs", "inception_v4", "xception41", "ese_vovnet19b_dw", "resnet26d", "lcnet_050", "fbnetv3_b",
        "tinynet_a", "ecaresnet26t", "gcresnet33ts", "nf_resnet26", "resnetv2_50x1_bit", "tresnet_m",
        "hgnetv2_b0", "repghostnet_050", "mobileone_s0", "efficientvit_b0", "seresnext26d_32x4d", "regnetz_b16",
        "gernet_s", "darknet53", "repvit_m1", "starnet_s1", "edgenext_xx_small", "poolformer_s12", "fastvit_t8"]
TIMM_SHAPE = {"inception_v4": (1, 3, 160, 160), "xception41": (1, 3, 160, 160)}
# scaled_dot_product_attention exports from opset 14 on
OPSET = {"timm_mobilevit_xxs": 17, "timm_efficientvit_b0": 17, "timm_fastvit_t8": 17}


def _timm(name):
    def build():
        import timm
        return timm.create_model(name, pretrained=False)
    return build


try:
    import timm  # noqa: F401
    for _n in TIMM:
        BASE["timm_" + _n] = (_timm(_n), TIMM_SHAPE.get(_n, IMG), "timm " + _n)
except ImportError:
    pass

# variants: NAME_opN (TorchScript exporter at opset N), NAME_dynamo
VARIANTS = [
    ("resnet18", 11), ("mobilenet_v3_small", 11), ("shufflenet_v2_x1_0", 11), ("unet_small", 11),
    ("deeplabv3_mobilenet_v3_large", 11),
    ("mobilenet_v3_large", 17), ("convnext_tiny", 17), ("efficientnet_b0", 18), ("unet_small", 18),
    ("deeplabv3_mobilenet_v3_large", 18), ("groupnorm_block", 18), ("audio_cnn1d", 18),
    ("resnet18", "dynamo"), ("mobilenet_v3_small", "dynamo"), ("unet_small", "dynamo"),
    # dynamic_axes={'input': {0: 'batch'}}: the batch is symbolic in the file
    ("resnet18", "dynbatch"), ("shufflenet_v2_x1_0", "dynbatch"), ("unet_milesial", "dynbatch"),
    ("yolo_like", "dynbatch"), ("mobilenet_v3_large", "dynbatch"),
]


def zoo_entries():
    out = {}
    for name, (build, shape, origin) in BASE.items():
        out[name] = dict(base=name, build=build, shape=shape, origin=origin, opset=OPSET.get(name, 13),
                         exporter="torchscript")
    for base, v in VARIANTS:
        build, shape, origin = BASE[base]
        if v == "dynamo":
            out[base + "_dynamo"] = dict(base=base, build=build, shape=shape, origin=origin, opset=None,
                                         exporter="dynamo")
        elif v == "dynbatch":
            out[base + "_dynbatch"] = dict(base=base, build=build, shape=shape, origin=origin, opset=13,
                                           exporter="torchscript", dynamic_batch=True)
        else:
            out["%s_op%d" % (base, v)] = dict(base=base, build=build, shape=shape, origin=origin, opset=v,
                                             exporter="torchscript")
    return out


# ----------------------------------------------------------------------------
# weights
# ----------------------------------------------------------------------------

NORM_TYPES = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm, nn.modules.instancenorm._InstanceNorm,
              LayerNormCF)


def randomize_norm_affine(model, seed):
    """gamma in [0.5,1.5], beta ~ N(0,0.2): a BN/LN that is not an identity."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, NORM_TYPES) and getattr(m, "weight", None) is not None:
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                if getattr(m, "bias", None) is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.2)


def recalibrate_bn(model, shape, seed, batches=4, batch=8):
    """Running statistics as the cumulative average over seeded N(0,1)
    batches.  Only BN layers train (dropout and stochastic depth stay off)."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return 0
    model.eval()
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
        m.train()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _ in range(batches):
            model(torch.randn((batch,) + tuple(shape[1:]), generator=g))
    model.eval()
    return len(bns)


# ----------------------------------------------------------------------------
# export
# ----------------------------------------------------------------------------

def layout_of(shape, channel_first=True):
    return {3: "NCW", 4: "NCHW", 5: "NCDHW"}.get(len(shape), "plain") if channel_first else "plain"


def rel_err(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    m = float(np.max(np.abs(b))) if b.size else 0.0
    d = float(np.max(np.abs(a - b))) if b.size else 0.0
    return d / m if m > 0 else (0.0 if d == 0 else float("inf"))


def as_list(y):
    return list(y) if isinstance(y, (tuple, list)) else [y]


def export_onnx(model, x, path, entry, out_names):
    kw = dict(input_names=["input"], output_names=out_names, do_constant_folding=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if entry["exporter"] == "dynamo":
            prog = torch.onnx.export(model, (x,), dynamo=True, external_data=False, **kw)
            prog.save(path)
        else:
            if entry.get("dynamic_batch"):
                kw["dynamic_axes"] = {n: {0: "batch"} for n in ["input"] + out_names}
            torch.onnx.export(model, (x,), path, opset_version=entry["opset"], dynamo=False, **kw)


def onnx_facts(path):
    import onnx
    m = onnx.load(path)
    hist = {}
    for n in m.graph.node:
        hist[n.op_type] = hist.get(n.op_type, 0) + 1
    opset = max((o.version for o in m.opset_import if o.domain in ("", "ai.onnx")), default=None)
    facts = dict(op_histogram=dict(sorted(hist.items(), key=lambda kv: (-kv[1], kv[0]))),
                 node_count=len(m.graph.node), opset=opset,
                 onnx_initializer_elements=int(sum(int(np.prod(t.dims)) for t in m.graph.initializer)),
                 batchnorm_in_onnx="BatchNormalization" in hist,
                 functions=len(m.functions))
    try:
        onnx.checker.check_model(m)
        facts["onnx_checker"] = "ok"
    except Exception as e:  # noqa: BLE001
        facts["onnx_checker"] = "FAIL: %s" % str(e).splitlines()[0][:200]
    try:
        onnx.checker.check_model(m, full_check=True)
        facts["onnx_checker_full"] = "ok"
    except Exception as e:  # noqa: BLE001
        facts["onnx_checker_full"] = "FAIL: %s" % str(e).splitlines()[0][:200]
    return facts


def ort_check(path, x, refs):
    try:
        import onnxruntime as ort
    except ImportError:
        return "onnxruntime not installed"
    try:
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        got = s.run(None, {s.get_inputs()[0].name: x})
        return dict(version=ort.__version__, rel=max(rel_err(g, r) for g, r in zip(got, refs)))
    except Exception as e:  # noqa: BLE001
        return "FAIL: %s" % str(e).splitlines()[0][:200]


def export_one(name, entry, out_dir):
    t0 = time.time()
    torch.manual_seed(0)
    model = entry["build"]()
    randomize_norm_affine(model, 1234)
    nbn = recalibrate_bn(model, entry["shape"], 4321)
    model.eval()
    input_seed = zlib.crc32(entry["base"].encode()) & 0x7FFFFFFF
    x = np.random.default_rng(input_seed).standard_normal(entry["shape"]).astype(np.float32)
    with torch.no_grad():
        ys = [y.numpy() for y in as_list(model(torch.from_numpy(x)))]
        y64 = [y.numpy() for y in as_list(copy.deepcopy(model).double()(torch.from_numpy(x).double()))]
    fp64 = max(rel_err(a, b) for a, b in zip(ys, y64))
    out_names = ["output"] if len(ys) == 1 else ["output%d" % i for i in range(len(ys))]
    onnx_file = name + ".onnx"
    export_onnx(model, torch.from_numpy(x), os.path.join(out_dir, onnx_file), entry, out_names)
    np.save(os.path.join(out_dir, name + ".input.npy"), x)
    outputs = []
    for oname, y in zip(out_names, ys):
        fn = "%s.%s.npy" % (name, oname)
        np.save(os.path.join(out_dir, fn), y.astype(np.float32))
        outputs.append(dict(name=oname, shape=list(y.shape), dtype="float32", file=fn,
                            layout=layout_of(y.shape, y.ndim >= 3)))
    facts = onnx_facts(os.path.join(out_dir, onnx_file))
    rtol = max(1e-4, float("%.1g" % (10 * fp64)))
    e = dict(name=name, file=onnx_file, set="zoo", opset=facts.pop("opset"),
             exporter=entry["exporter"] + ("" if entry["exporter"] != "dynamo" else " (torch.export)"),
             inputs=[dict(name="input", shape=list(entry["shape"]), dtype="float32",
                          layout=layout_of(entry["shape"]), file=name + ".input.npy")],
             outputs=outputs,
             params=int(sum(p.numel() for p in model.parameters())),
             file_size_bytes=os.path.getsize(os.path.join(out_dir, onnx_file)),
             seed=dict(torch_manual_seed=0, input_seed=input_seed, norm_affine_seed=1234,
                       bn_calibration_seed=4321),
             relates_to=entry["origin"], batchnorm_layers_in_torch=nbn,
             fp32_vs_fp64_rel=float("%.3g" % fp64), suggested_float_rtol=rtol,
             torch_version=torch.__version__, torchvision_version=torchvision.__version__)
    e.update(facts)
    e["onnxruntime_check"] = ort_check(os.path.join(out_dir, onnx_file), x, ys)
    e["export_seconds"] = round(time.time() - t0, 2)
    return e


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", help="folder to write (created; manifest.json is merged)")
    ap.add_argument("--only", default="", help="comma-separated names (see --list)")
    ap.add_argument("--skip", default="", help="comma-separated names to leave out")
    ap.add_argument("--list", action="store_true", help="print the model names and exit")
    ap.add_argument("--keep-going", action="store_true", help="record an export failure and continue")
    args = ap.parse_args(argv)
    zoo = zoo_entries()
    if args.list:
        for n, e in zoo.items():
            print("%-36s %-12s opset %-4s %s" % (n, e["exporter"], e["opset"] or "-", "x".join(map(str, e["shape"]))))
        return 0
    if not args.out:
        ap.error("--out is required")
    only = [s for s in args.only.split(",") if s]
    skip = set(s for s in args.skip.split(",") if s)
    unknown = [n for n in only + sorted(skip) if n not in zoo]
    if unknown:
        ap.error("unknown model(s): %s (see --list)" % ", ".join(unknown))
    names = [n for n in (only or list(zoo)) if n not in skip]
    os.makedirs(args.out, exist_ok=True)
    mpath = os.path.join(args.out, "manifest.json")
    doc = dict(set="zoo", description="PyTorch CNNs exported by tools/zoo/export_zoo.py (random weights, "
                                      "BN re-estimated on N(0,1)); reference outputs from PyTorch.",
               generator="tools/zoo/export_zoo.py", models=[])
    if os.path.exists(mpath):
        with open(mpath) as f:
            doc["models"] = json.load(f).get("models", [])
    failed = []
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    for n in names:
        t0 = time.time()
        try:
            e = export_one(n, zoo[n], args.out)
        except Exception as ex:  # noqa: BLE001
            if not args.keep_going:
                raise
            failed.append(n)
            print("%-36s EXPORT FAILED: %s" % (n, str(ex).splitlines()[0][:200]), flush=True)
            continue
        doc["models"] = [m for m in doc["models"] if m["name"] != n] + [e]
        print("%-36s opset %-3s %5d nodes %7.2f MB  fp64 %.1e  ort %s  %.1fs" % (
            n, e["opset"], e["node_count"], e["file_size_bytes"] / 1e6, e["fp32_vs_fp64_rel"],
            ("%.1e" % e["onnxruntime_check"]["rel"]) if isinstance(e["onnxruntime_check"], dict)
            else e["onnxruntime_check"], time.time() - t0), flush=True)
        order = {k: i for i, k in enumerate(zoo)}
        doc["models"].sort(key=lambda m: order.get(m["name"], len(order)))
        with open(mpath + ".tmp", "w") as f:
            json.dump(doc, f, indent=1)
        os.replace(mpath + ".tmp", mpath)
    if failed:
        print("export failed: %s" % ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
