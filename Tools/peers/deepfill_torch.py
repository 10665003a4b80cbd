"""DeepFill v2 generator in PyTorch, with the official TensorFlow graph's conventions (the same
network Graphs/deepfill_v2.yaml describes), for timing PyTorch and ONNX Runtime against Fillgraph.

Written from the spec (shared docs, sections 1-3), not copied from any port:
  - TF 'SAME' padding: symmetric for the stride-1 layers, (0, 1) for the 3x3 stride-2 ones;
  - nearest resizes with TF1's align-corners rule, as index gathers fixed for one input size;
  - contextual attention with fuse on, as the official op (checked against the oracle).
One instance serves one input size (the gather indices are constants), which also makes the ONNX
export static.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

RATES = {"conv7_atrous": 2, "conv8_atrous": 4, "conv9_atrous": 8, "conv10_atrous": 16,
         "xconv7_atrous": 2, "xconv8_atrous": 4, "xconv9_atrous": 8, "xconv10_atrous": 16}


def tf1_nearest(n_in, n_out):
    """TF1 resize_nearest_neighbor(align_corners=True) source indices, in float32 like TF."""
    scale = np.float32(n_in - 1) / np.float32(n_out - 1) if n_out > 1 else np.float32(0)
    idx = np.floor(np.arange(n_out, dtype=np.float32) * scale + np.float32(0.5)).astype(np.int64)
    return torch.from_numpy(np.minimum(idx, n_in - 1))


class DeepFillV2(nn.Module):
    def __init__(self, weights, height, width):
        super().__init__()
        self.w = nn.ParameterDict()
        for k, v in weights.items():
            self.w[k.replace(".", "__")] = nn.Parameter(torch.from_numpy(np.ascontiguousarray(v)), requires_grad=False)
        h4, w4 = height // 4, width // 4
        self.register_buffer("mask_rows", tf1_nearest(height, h4), persistent=False)
        self.register_buffer("mask_cols", tf1_nearest(width, w4), persistent=False)
        self.register_buffer("half_rows", tf1_nearest(h4, h4 // 2), persistent=False)
        self.register_buffer("half_cols", tf1_nearest(w4, w4 // 2), persistent=False)
        self.register_buffer("eye", torch.eye(3).view(1, 1, 3, 3), persistent=False)

    def conv(self, name, x, stride=1, rate=1, act="elu"):
        w, b = self.w[name + "__weight"], self.w[name + "__bias"]
        k = w.shape[2]
        if stride == 2:
            x = F.pad(x, (0, 1, 0, 1)) if k == 3 else F.pad(x, (1, 2, 1, 2))
            y = F.conv2d(x, w, b, stride=2)
        else:
            y = F.conv2d(x, w, b, padding=rate * (k - 1) // 2, dilation=rate)
        if act is None:
            return y
        f, g = torch.chunk(y, 2, dim=1)
        return (F.relu(f) if act == "relu" else F.elu(f)) * torch.sigmoid(g)

    def up(self, name, x):
        return self.conv(name, F.interpolate(x, scale_factor=2.0, mode="nearest"))

    def attention(self, f, mask_s):
        C, h, w = f.shape[1], f.shape[2], f.shape[3]
        raw = F.unfold(f, 4, padding=1, stride=2)  # [1, C*16, L]
        L = raw.shape[2]
        raw = raw.view(C, 4, 4, L).permute(3, 0, 1, 2)  # [L, C, 4, 4]
        fd = f.index_select(2, self.half_rows).index_select(3, self.half_cols)
        hd, wd = fd.shape[2], fd.shape[3]
        pw = F.unfold(fd, 3, padding=1).view(C, 3, 3, L).permute(3, 0, 1, 2)  # [L, C, 3, 3]
        norm = pw.pow(2).sum(dim=(1, 2, 3), keepdim=True).sqrt().clamp_min(1e-4)
        s = F.conv2d(fd, pw / norm, padding=1)  # [1, L, hd, wd]
        md = mask_s.index_select(2, self.half_rows).index_select(3, self.half_cols)
        mm = (F.unfold(md, 3, padding=1)[0].mean(dim=0) == 0).float().view(1, L, 1, 1)
        t = F.conv2d(s.reshape(1, 1, L, L), self.eye, padding=1)
        t = t.view(1, hd, wd, hd, wd).permute(0, 2, 1, 4, 3).reshape(1, 1, L, L)
        t = F.conv2d(t, self.eye, padding=1)
        t = t.view(1, wd, hd, wd, hd).permute(0, 2, 1, 4, 3).reshape(1, L, hd, wd)
        a = F.softmax(t * mm * 10, dim=1) * mm
        return F.conv_transpose2d(a, raw, stride=2, padding=1) / 4

    def forward(self, image, mask):
        ones = torch.ones_like(mask)
        x_in = image * (1 - mask)
        x = torch.cat([x_in, ones, mask], dim=1)
        c = self.conv
        x = c("conv1", x)
        x = c("conv3", c("conv2_downsample", x, 2))
        x = c("conv5", c("conv4_downsample", x, 2))
        x = c("conv6", x)
        mask_s = mask.index_select(2, self.mask_rows).index_select(3, self.mask_cols)
        for s in ("conv7_atrous", "conv8_atrous", "conv9_atrous", "conv10_atrous"):
            x = c(s, x, rate=RATES[s])
        x = c("conv12", c("conv11", x))
        x = c("conv14", self.up("conv13_upsample", x))
        x = c("conv16", self.up("conv15_upsample", x))
        stage1 = torch.tanh(c("conv17", x, act=None))
        xnow = stage1 * mask + x_in * (1 - mask)
        y = c("xconv1", xnow)
        y = c("xconv3", c("xconv2_downsample", y, 2))
        y = c("xconv5", c("xconv4_downsample", y, 2))
        y = c("xconv6", y)
        for s in ("xconv7_atrous", "xconv8_atrous", "xconv9_atrous", "xconv10_atrous"):
            y = c(s, y, rate=RATES[s])
        z = c("pmconv1", xnow)
        z = c("pmconv3", c("pmconv2_downsample", z, 2))
        z = c("pmconv5", c("pmconv4_downsample", z, 2))
        z = c("pmconv6", z, act="relu")
        z = self.attention(z, mask_s)
        z = c("pmconv10", c("pmconv9", z))
        m = c("allconv12", c("allconv11", torch.cat([y, z], dim=1)))
        m = c("allconv14", self.up("allconv13_upsample", m))
        m = c("allconv16", self.up("allconv15_upsample", m))
        stage2 = torch.tanh(c("allconv17", m, act=None))
        return stage2 * mask + x_in * (1 - mask)


def benchmark_inputs(h, w):
    """The arrays Fillgraph's Benchmark.inputs builds (Sources/graphbench/Benchmark.swift)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    image = np.stack([0.6 * np.sin(x / (11 + 4 * c)) * np.cos(y / (17 + 3 * c)) + 0.2 * np.sin((x + y) / 29)
                      for c in range(3)]).astype(np.float32)
    mask = np.zeros((1, h, w), np.float32)
    mask[:, h // 4:h // 4 + h // 2, w // 4:w // 4 + w // 2] = 1
    return torch.from_numpy(image)[None], torch.from_numpy(mask)[None]
