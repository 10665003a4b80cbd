#!/usr/bin/env python3
"""PyTorch benchmark of one DeepFill v2 training iteration (the network Fillgraph trains).

Generator = Graphs/deepfill_v2.yaml (coarse + refinement, gated convolutions, TF 'SAME' padding,
TF1 align-corners nearest resizes, contextual attention with fuse on, exactly as spec §3 of the
DeepFill v2 specification). Discriminator = Graphs/sn_patchgan.yaml (six spectral-normalised 5x5
stride-2 convolutions + LeakyReLU 0.2 on [image, mask], flatten in (c, row, col) order), spectral
norm with TF/neuralgym semantics (gradient through sigma, u' and v; u <- u' after every D call).

One iteration (spec §5, Tests/Fixtures/oracle/gradients_64x64_cnum8/README.md), x in [-1, 1] [N,3,H,W],
m one mask [1,1,H,W] for the whole batch:
    s1, s2, comp = G(x, m)
    D step: out = D(cat([cat(x, m); cat(comp.detach(), m)]))   (one call on 2N)
            d_loss = 0.5 mean(relu(1 - out[:N])) + 0.5 mean(relu(1 + out[N:]));  Adam step on D
    G step: out = D(same 2N batch, comp not detached)
            g_loss = -mean(out[N:]) + mean|x - s1| + mean|x - s2|;               Adam step on G
Adam lr 1e-4, betas (0.5, 0.999) for both.

usage:
    python Tools/bench_train_torch.py --check
        float64 step with the weights of Tests/Fixtures/oracle/gradients_64x64_cnum8 (cnum 8, dcnum 8),
        compared with values.json (losses, 1e-6 relative), grads_g.npz and grads_d_full.npz
        (max|diff| <= 1e-4 * max|oracle| per tensor) and u_after.npz. Exit 1 on failure.
        --check --mode compile: the same step in float32 through torch.compile, with the oracle
        README's float32 tolerances (losses 1e-5 relative, gradients 1e-3 of max); --mode both: both.
    python Tools/bench_train_torch.py --sizes 128,256 --batch 4 --cnum 48 --dcnum 64 --threads 2 \\
        --mode eager|compile|both [--iters N] [--warmup W]
        float32, Glorot-uniform init (zero biases, u ~ truncated normal), one fixed random batch and
        one fixed mask (rectangle + a diagonal stroke, ~25 % hole). With --mode both, each mode runs
        in its own child process so that the peak RSS reported for one mode does not include the other.

In the check, the G step's discriminator call uses the same D weights and the same stored u as the
D step (the oracle's definition: gradients of one step, before any optimiser update); in the
benchmark the real order is used (D Adam step and u <- u' first, then the G step).
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ORACLE = os.path.join(HERE, "..", "Tests", "Fixtures", "oracle", "gradients_64x64_cnum8")


# ----------------------------------------------------------------------------------------------
# shared pieces


def same_pad(n, k, s, r):
    """TF 'SAME': out = ceil(n/s), total = max((out-1)s + (k-1)r + 1 - n, 0), floor(total/2) before."""
    out = -(-n // s)
    total = max((out - 1) * s + (k - 1) * r + 1 - n, 0)
    return total // 2, total - total // 2


def conv2d_same(x, w, b, stride=1, rate=1):
    k = w.shape[2]
    if stride == 1 and ((k - 1) * rate) % 2 == 0:  # symmetric: let the conv pad
        return F.conv2d(x, w, b, padding=(k - 1) * rate // 2, dilation=rate)
    pt, pb = same_pad(x.shape[2], k, stride, rate)
    pl, pr = same_pad(x.shape[3], k, stride, rate)
    return F.conv2d(F.pad(x, (pl, pr, pt, pb)), w, b, stride=stride, dilation=rate)


def ac_nearest_index(n_in, n_out, device):
    """TF1 resize_nearest_neighbor(align_corners=True) source indices:
    min(roundf(float(dst) * float(in-1)/float(out-1)), in-1), all in float32, round half away from zero."""
    scale = float(np.float32(n_in - 1) / np.float32(n_out - 1)) if n_out > 1 else 0.0
    t = torch.arange(n_out, dtype=torch.float32, device=device) * scale
    r = torch.floor(t)
    r = r + (t - r >= 0.5).to(torch.float32)
    return r.clamp(max=n_in - 1).to(torch.long)


def resize_nearest_ac(x, oh, ow):
    ih, iw = x.shape[2], x.shape[3]
    if (ih, iw) == (oh, ow):
        return x
    x = x.index_select(2, ac_nearest_index(ih, oh, x.device))
    return x.index_select(3, ac_nearest_index(iw, ow, x.device))


def glorot_(w):
    cout, cin, kh, kw = w.shape
    lim = (6.0 / (kh * kw * (cin + cout))) ** 0.5
    with torch.no_grad():
        w.uniform_(-lim, lim)


# ----------------------------------------------------------------------------------------------
# generator


class GConv(nn.Module):
    """conv with cout outputs; act(first half) * sigmoid(second half) unless act is None."""

    def __init__(self, cin, cout, k=3, stride=1, rate=1, act="elu"):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(cout, cin, k, k))
        self.bias = nn.Parameter(torch.zeros(cout))
        glorot_(self.weight)
        self.stride, self.rate, self.act = stride, rate, act

    @property
    def features(self):
        return self.weight.shape[0] if self.act is None else self.weight.shape[0] // 2

    def forward(self, x):
        y = conv2d_same(x, self.weight, self.bias, self.stride, self.rate)
        if self.act is None:
            return y
        f, g = torch.chunk(y, 2, dim=1)
        f = F.relu(f) if self.act == "relu" else F.elu(f)
        return f * torch.sigmoid(g)


def fuse_pass(s):
    """3x3 identity-kernel conv (SAME, zeros) of s viewed as a [P, L] image: out[p,q] = sum_d s[p+d, q+d]."""
    sp = F.pad(s, (1, 1, 1, 1))
    return s + sp[:, 2:, 2:] + sp[:, :-2, :-2]


def contextual_attention(b, mask_s, softmax_scale=10.0, fuse=True):
    """Official contextual_attention(f=b, b=b, mask, ksize=3, stride=1, rate=2, fuse_k=3) (spec §3),
    batched over the samples with bmm instead of the per-sample loop (same arithmetic)."""
    N, C, h, w = b.shape
    assert h % 2 == 0 and w % 2 == 0, "contextual attention needs even feature sizes (H, W multiples of 8)"
    # 1. raw 4x4 patches, stride 2, SAME (1 before / 1 after for even sizes): [N, C*16, L], (c, i, j) order
    raw = F.unfold(b, 4, padding=1, stride=2)
    # 2. x1/2 align-corners nearest of f = b and of the mask
    bd = resize_nearest_ac(b, h // 2, w // 2)
    hd, wd = bd.shape[2], bd.shape[3]
    L = hd * wd
    # 3. 3x3 matching patches (SAME) of the downscaled b; f = b, so they are also the foreground patches
    pat = F.unfold(bd, 3, padding=1)  # [N, C*9, L]
    # 4. validity from batch element 0's mask: 1 where the 3x3 patch mean is exactly 0
    md = resize_nearest_ac(mask_s[:1], hd, wd)
    mm = (F.unfold(md, 3, padding=1).mean(dim=1) == 0).to(b.dtype).view(1, 1, L)
    # 5. scores[p, q] = f-patch p . (b-patch q / max(|b-patch q|, 1e-4))
    norm = torch.linalg.vector_norm(pat, dim=1, keepdim=True).clamp_min(1e-4)
    s = torch.bmm(pat.transpose(1, 2), pat / norm)  # [N, P, L]
    # 6. fuse: pass 1 on row-major flattening, pass 2 on column-major (wrap-around quirk included)
    if fuse:
        s = fuse_pass(s)
        s = s.view(N, hd, wd, hd, wd).permute(0, 2, 1, 4, 3).reshape(N, L, L)
        s = fuse_pass(s)
        s = s.view(N, wd, hd, wd, hd).permute(0, 2, 1, 4, 3).reshape(N, L, L)
    # 7. masked scaled softmax over the background axis (masked scores 0, not -inf), times mm again
    a = F.softmax(s * mm * softmax_scale, dim=2) * mm
    # 9. paste: conv_transpose2d(a, raw, stride 2, padding 1) / 4, as bmm + col2im
    cols = torch.bmm(raw, a.transpose(1, 2))  # [N, C*16, P]
    return F.fold(cols, (h, w), 4, padding=1, stride=2) / 4


class Generator(nn.Module):
    def __init__(self, cnum=48):
        super().__init__()
        c = cnum
        L = nn.ModuleDict()
        self.layers = L

        def add(name, cin, cout, k=3, stride=1, rate=1, act="elu"):
            L[name] = GConv(cin, cout, k, stride, rate, act)
            return L[name].features

        # stage 1
        f = add("conv1", 5, c, k=5)
        f = add("conv2_downsample", f, 2 * c, stride=2)
        f = add("conv3", f, 2 * c)
        f = add("conv4_downsample", f, 4 * c, stride=2)
        f = add("conv5", f, 4 * c)
        f = add("conv6", f, 4 * c)
        for i, r in ((7, 2), (8, 4), (9, 8), (10, 16)):
            f = add("conv%d_atrous" % i, f, 4 * c, rate=r)
        f = add("conv11", f, 4 * c)
        f = add("conv12", f, 4 * c)
        f = add("conv13_upsample", f, 2 * c)
        f = add("conv14", f, 2 * c)
        f = add("conv15_upsample", f, c)
        f = add("conv16", f, c // 2)
        add("conv17", f, 3, act=None)
        # stage 2, dilated branch
        f = add("xconv1", 3, c, k=5)
        f = add("xconv2_downsample", f, c, stride=2)
        f = add("xconv3", f, 2 * c)
        f = add("xconv4_downsample", f, 2 * c, stride=2)
        f = add("xconv5", f, 4 * c)
        f = add("xconv6", f, 4 * c)
        for i, r in ((7, 2), (8, 4), (9, 8), (10, 16)):
            fx = f = add("xconv%d_atrous" % i, f, 4 * c, rate=r)
        # stage 2, attention branch
        f = add("pmconv1", 3, c, k=5)
        f = add("pmconv2_downsample", f, c, stride=2)
        f = add("pmconv3", f, 2 * c)
        f = add("pmconv4_downsample", f, 4 * c, stride=2)
        f = add("pmconv5", f, 4 * c)
        f = add("pmconv6", f, 4 * c, act="relu")
        f = add("pmconv9", f, 4 * c)
        fp = f = add("pmconv10", f, 4 * c)
        # merge + decoder
        f = add("allconv11", fx + fp, 4 * c)
        f = add("allconv12", f, 4 * c)
        f = add("allconv13_upsample", f, 2 * c)
        f = add("allconv14", f, 2 * c)
        f = add("allconv15_upsample", f, c)
        f = add("allconv16", f, c // 2)
        add("allconv17", f, 3, act=None)

    def forward(self, image, mask):
        L = self.layers
        up = lambda t: F.interpolate(t, scale_factor=2.0, mode="nearest")  # = align-corners x2
        N = image.shape[0]
        m = mask.expand(N, -1, -1, -1)
        ones = torch.ones_like(m)
        x_in = image * (1 - m)
        x = torch.cat([x_in, ones, m], dim=1)
        for n in ("conv1", "conv2_downsample", "conv3", "conv4_downsample", "conv5", "conv6",
                  "conv7_atrous", "conv8_atrous", "conv9_atrous", "conv10_atrous", "conv11", "conv12"):
            x = L[n](x)
        x = L["conv13_upsample"](up(x))
        x = L["conv14"](x)
        x = L["conv15_upsample"](up(x))
        x = L["conv16"](x)
        x1 = torch.tanh(L["conv17"](x))
        xnow = x1 * m + x_in * (1 - m)
        x = xnow
        for n in ("xconv1", "xconv2_downsample", "xconv3", "xconv4_downsample", "xconv5", "xconv6",
                  "xconv7_atrous", "xconv8_atrous", "xconv9_atrous", "xconv10_atrous"):
            x = L[n](x)
        xh = x
        x = xnow
        for n in ("pmconv1", "pmconv2_downsample", "pmconv3", "pmconv4_downsample", "pmconv5", "pmconv6"):
            x = L[n](x)
        mask_s = resize_nearest_ac(mask, x.shape[2], x.shape[3])  # H -> H/4 in one step
        x = contextual_attention(x, mask_s)
        x = L["pmconv10"](L["pmconv9"](x))
        x = torch.cat([xh, x], dim=1)
        x = L["allconv12"](L["allconv11"](x))
        x = L["allconv13_upsample"](up(x))
        x = L["allconv14"](x)
        x = L["allconv15_upsample"](up(x))
        x = L["allconv16"](x)
        x2 = torch.tanh(L["allconv17"](x))
        completed = x2 * m + x_in * (1 - m)
        return x1, x2, completed


# ----------------------------------------------------------------------------------------------
# discriminator


class SNConv(nn.Module):
    def __init__(self, cin, cout, k=5):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(cout, cin, k, k))
        self.bias = nn.Parameter(torch.zeros(cout))
        glorot_(self.weight)
        u = torch.empty(cout)
        nn.init.trunc_normal_(u, 0.0, 1.0, -2.0, 2.0)
        self.register_buffer("u", u)

    def forward(self, x):
        w = self.weight.reshape(self.weight.shape[0], -1)  # [Cout, K]
        v = w.t() @ self.u
        v = v / (torch.linalg.vector_norm(v) + 1e-12)
        wv = w @ v
        u_new = wv / (torch.linalg.vector_norm(wv) + 1e-12)
        sigma = u_new @ wv  # u'^T W v; no stop-gradient anywhere (TF semantics)
        y = conv2d_same(x, self.weight / sigma, self.bias, stride=2)
        return F.leaky_relu(y, 0.2), u_new


class Discriminator(nn.Module):
    def __init__(self, cnum=64):
        super().__init__()
        c = cnum
        widths = [4, c, 2 * c, 4 * c, 4 * c, 4 * c, 4 * c]
        self.convs = nn.ModuleList(SNConv(widths[i], widths[i + 1]) for i in range(6))

    def forward(self, x):
        us = []
        for conv in self.convs:
            x, u = conv(x)
            us.append(u)
        return x.flatten(1), us  # (c, row, col) order

    @torch.no_grad()
    def set_u(self, us):
        for conv, u in zip(self.convs, us):
            conv.u.copy_(u.detach())


# ----------------------------------------------------------------------------------------------
# one training iteration


def set_requires_grad(module, flag):
    for p in module.parameters():
        p.requires_grad_(flag)


def train_step(G, D, Gf, Df, opt_g, opt_d, x, m, record=None, oracle_order=False):
    """G, D: the modules (parameters, u buffers); Gf, Df: what to call (the modules or their
    torch.compile wrappers). oracle_order: G step from the same D weights and stored u as the D step,
    both optimiser steps at the end (gradient check only)."""
    N = x.shape[0]
    m_n = m.expand(N, -1, -1, -1)
    s1, s2, comp = Gf(x, m)
    real = torch.cat([x, m_n], dim=1)

    # D step
    set_requires_grad(D, True)
    opt_d.zero_grad(set_to_none=True)
    out, us = Df(torch.cat([real, torch.cat([comp.detach(), m_n], dim=1)], dim=0))
    d_loss = 0.5 * F.relu(1 - out[:N]).mean() + 0.5 * F.relu(1 + out[N:]).mean()
    d_loss.backward()
    if oracle_order:
        u_stored = [c.u.clone() for c in D.convs]
    D.set_u(us)
    if record is not None:
        record["grads_d"] = {n: p.grad.detach().clone() for n, p in D.named_parameters()}
        record["u_after"] = [c.u.clone() for c in D.convs]
    if oracle_order:
        D.set_u(u_stored)
    else:
        opt_d.step()

    # G step
    set_requires_grad(D, False)
    opt_g.zero_grad(set_to_none=True)
    out, us = Df(torch.cat([real, torch.cat([comp, m_n], dim=1)], dim=0))
    g_adv = -out[N:].mean()
    l1 = (x - s1).abs().mean() + (x - s2).abs().mean()
    g_loss = g_adv + l1
    g_loss.backward()
    D.set_u(us)
    if record is not None:
        record["grads_g"] = {n: p.grad.detach().clone() for n, p in G.named_parameters()}
        record["stage1"], record["stage2"] = s1.detach(), s2.detach()
    if oracle_order:
        opt_d.step()
    opt_g.step()
    return d_loss.item(), g_loss.item(), g_adv.item(), l1.item()


def make_optimizers(G, D):
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-4, betas=(0.5, 0.999))
    return opt_g, opt_d


# ----------------------------------------------------------------------------------------------
# --check


def gname(key):
    """'layers.conv1.weight' -> 'conv1.weight'; 'convs.0.weight' -> 'conv1.weight'."""
    parts = key.split(".")
    if parts[0] == "layers":
        return parts[1] + "." + parts[2]
    return "conv%d.%s" % (int(parts[1]) + 1, parts[2])


def run_check(threads, compiled=False):
    """float64 eager step (tolerances of the brief: losses 1e-6 relative, gradients 1e-4 of each tensor's
    max); with compiled=True a float32 step through torch.compile instead, with the oracle README's
    float32 tolerances (losses 1e-5 relative, gradients 1e-3 of max)."""
    torch.set_num_threads(threads)
    dt = torch.float32 if compiled else torch.float64
    loss_tol, grad_tol, out_tol = (1e-5, 1e-3, 1e-4) if compiled else (1e-6, 1e-4, 1e-5)
    vals = json.load(open(os.path.join(ORACLE, "values.json")))
    G = Generator(vals["cnum"]).to(dt)
    D = Discriminator(vals["dcnum"]).to(dt)
    gw = np.load(os.path.join(ORACLE, "generator.npz"))
    dw = np.load(os.path.join(ORACLE, "discriminator.npz"))
    with torch.no_grad():
        used = set()
        for n, p in G.named_parameters():
            a = gw[gname(n)]
            assert a.shape == tuple(p.shape), (n, a.shape, p.shape)
            p.copy_(torch.from_numpy(a.astype(np.float64)))
            used.add(gname(n))
        for n, t in list(D.named_parameters()) + list(D.named_buffers()):
            a = dw[gname(n)]
            assert a.shape == tuple(t.shape), (n, a.shape, t.shape)
            t.copy_(torch.from_numpy(a.astype(np.float64)))
            used.add(gname(n))
    assert used == set(gw.keys()) | set(dw.keys()), "unused weights: %s" % (set(gw.keys()) | set(dw.keys()) - used)
    x = torch.from_numpy(np.load(os.path.join(ORACLE, "image.npy"))).to(dt)
    m = torch.from_numpy(np.load(os.path.join(ORACLE, "mask.npy"))).to(dt)
    opt_g, opt_d = make_optimizers(G, D)
    Gf, Df = (torch.compile(G, dynamic=False), torch.compile(D, dynamic=False)) if compiled else (G, D)
    rec = {}
    t0 = time.perf_counter()
    d_loss, g_loss, g_adv, l1 = train_step(G, D, Gf, Df, opt_g, opt_d, x, m, record=rec, oracle_order=True)
    t1 = time.perf_counter()
    ok = True
    print("oracle check: %s (64x64, batch %d, cnum %d, dcnum %d, %s, %s, %.2f s)"
          % (os.path.normpath(ORACLE), x.shape[0], vals["cnum"], vals["dcnum"], str(dt).replace("torch.", ""),
             "torch.compile" if compiled else "eager", t1 - t0))
    for k, v in (("d_loss", d_loss), ("g_loss", g_loss), ("g_adv", g_adv), ("l1", l1)):
        rel = abs(v - vals[k]) / abs(vals[k])
        ok &= rel <= loss_tol
        print("  %-7s %.15f  oracle %.15f  rel %.2e%s" % (k, v, vals[k], rel, "" if rel <= loss_tol else "  FAIL"))

    def cmp(label, got, path, tol=grad_tol):
        nonlocal ok
        ref = np.load(path)
        worst, worst_name = 0.0, ""
        for k in ref.keys():
            r = ref[k]
            g = got[k].double().numpy()
            assert g.shape == r.shape, (k, g.shape, r.shape)
            e = np.abs(g - r).max() / np.abs(r).max()
            if e > worst:
                worst, worst_name = e, k
        good = worst <= tol and set(got.keys()) == set(ref.keys())
        ok &= good
        print("  %-13s %2d tensors, worst max|diff|/max|oracle| = %.2e (%s)%s"
              % (label, len(ref.keys()), worst, worst_name, "" if good else "  FAIL"))

    cmp("grads_g", {gname(n): t for n, t in rec["grads_g"].items()}, os.path.join(ORACLE, "grads_g.npz"))
    cmp("grads_d_full", {gname(n): t for n, t in rec["grads_d"].items()}, os.path.join(ORACLE, "grads_d_full.npz"))
    cmp("u_after", {"conv%d.u" % (i + 1): u for i, u in enumerate(rec["u_after"])}, os.path.join(ORACLE, "u_after.npz"))
    for k in ("stage1", "stage2"):
        ref = np.load(os.path.join(ORACLE, k + ".npy"))
        got = rec[k].double().numpy().reshape(ref.shape)
        e = np.abs(got - ref).max()
        ok &= e <= out_tol
        print("  %-13s max|diff| = %.2e%s" % (k, e, "" if e <= out_tol else "  FAIL"))
    # for information: how far the PyTorch spectral_norm convention (u', v constant) would be
    ref_sigma = np.load(os.path.join(ORACLE, "grads_d_sigma.npz"))
    e = max(np.abs(rec["grads_d"][n].double().numpy() - ref_sigma[gname(n)]).max() / np.abs(ref_sigma[gname(n)]).max()
            for n in rec["grads_d"])
    print("  (vs grads_d_sigma.npz, the stop-gradient convention: %.2e, expected to differ)" % e)
    print("CHECK PASSED" if ok else "CHECK FAILED")
    return ok


# ----------------------------------------------------------------------------------------------
# benchmark


def make_batch(n, h, w, seed=0):
    g = torch.Generator().manual_seed(seed)
    # smooth-ish random images in [-1, 1]
    low = torch.rand(n, 3, max(h // 16, 1), max(w // 16, 1), generator=g) * 2 - 1
    x = F.interpolate(low, size=(h, w), mode="bilinear", align_corners=False)
    x = (0.8 * x + 0.2 * (torch.rand(n, 3, h, w, generator=g) * 2 - 1)).clamp(-1, 1)
    m = torch.zeros(1, 1, h, w)
    m[:, :, h // 5: h // 5 + h // 2, w // 4: w // 4 + w // 2 - w // 16] = 1  # rectangle, ~22 %
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    stroke = ((yy / h - xx / w).abs() < 0.04) & (yy > h * 0.55)  # a diagonal brush stroke
    m[0, 0][stroke] = 1
    return x.contiguous(), m


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def bench(mode, sizes, batch, cnum, dcnum, iters, warmup, seed):
    for size in sizes:
        H, W = size
        torch.manual_seed(seed)
        G = Generator(cnum)
        D = Discriminator(dcnum)
        opt_g, opt_d = make_optimizers(G, D)
        x, m = make_batch(batch, H, W, seed)
        if mode == "compile":
            torch._dynamo.reset()
            try:
                Gf, Df = torch.compile(G, dynamic=False), torch.compile(D, dynamic=False)
            except Exception as e:  # noqa: BLE001
                print("torch-compile: torch.compile failed: %s: %s" % (type(e).__name__, e), flush=True)
                return False
        else:
            Gf, Df = G, D
        warm = []
        try:
            for _ in range(warmup):
                t0 = time.perf_counter()
                train_step(G, D, Gf, Df, opt_g, opt_d, x, m)
                warm.append(time.perf_counter() - t0)
            times = []
            for _ in range(iters):
                t0 = time.perf_counter()
                losses = train_step(G, D, Gf, Df, opt_g, opt_d, x, m)
                times.append(time.perf_counter() - t0)
        except Exception as e:  # noqa: BLE001
            if mode != "compile":
                raise
            msg = str(e).strip().splitlines()
            print("torch-compile train %dx%d batch %d: FAILED (%s: %s)"
                  % (H, W, batch, type(e).__name__, " | ".join(msg[:12])), flush=True)
            return False
        print("torch-%s train %dx%d batch %d: median %.3f s/iteration (min %.3f, %d iterations)"
              % (mode, H, W, batch, statistics.median(times), min(times), len(times)), flush=True)
        print("  warmup %s s; last losses d %.4f g %.4f; peak RSS %.0f MiB"
              % (", ".join("%.2f" % t for t in warm), losses[0], losses[1], peak_rss_mib()), flush=True)
    return True


def parse_sizes(s):
    out = []
    for t in s.split(","):
        t = t.strip().lower()
        h, w = (t.split("x") + [t])[:2] if "x" in t else (t, t)
        h, w = int(h), int(w)
        if h % 8 or w % 8:
            raise SystemExit("sizes must be multiples of 8: %s" % t)
        out.append((h, w))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="float64 gradient check against the oracle, then exit")
    ap.add_argument("--sizes", default="128,256", help="comma-separated S or HxW, multiples of 8 (default 128,256)")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--cnum", type=int, default=48)
    ap.add_argument("--dcnum", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=3, help="timed iterations per size (default 3)")
    ap.add_argument("--warmup", type=int, default=None,
                    help="untimed iterations per size (default 1 eager, 2 compile)")
    ap.add_argument("--mode", choices=["eager", "compile", "both"], default="eager")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    if a.check:
        ok = True
        if a.mode in ("eager", "both"):
            ok &= run_check(a.threads)
        if a.mode in ("compile", "both"):
            ok &= run_check(a.threads, compiled=True)
        sys.exit(0 if ok else 1)

    if a.mode == "both":  # one child process per mode: separate peak RSS
        rc = 0
        for mode in ("eager", "compile"):
            argv = [sys.executable, os.path.abspath(__file__), "--mode", mode, "--sizes", a.sizes,
                    "--batch", str(a.batch), "--cnum", str(a.cnum), "--dcnum", str(a.dcnum),
                    "--threads", str(a.threads), "--iters", str(a.iters), "--seed", str(a.seed)]
            if a.warmup is not None:
                argv += ["--warmup", str(a.warmup)]
            rc |= subprocess.call(argv)
        sys.exit(rc)

    torch.set_num_threads(a.threads)
    warmup = a.warmup if a.warmup is not None else (2 if a.mode == "compile" else 1)
    print("# torch %s, %d threads, float32, batch %d, cnum %d, dcnum %d, warmup %d, iters %d, mode %s"
          % (torch.__version__, torch.get_num_threads(), a.batch, a.cnum, a.dcnum, warmup, a.iters, a.mode), flush=True)
    ok = bench(a.mode, parse_sizes(a.sizes), a.batch, a.cnum, a.dcnum, a.iters, warmup, a.seed)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
