"""Independent NumPy reference of the DeepFill v2 generator (official TF v2.0.0 graph),
its contextual attention and the SN-PatchGAN discriminator.

Layout: channel-first [C, H, W]; weights OIHW ("<scope>.weight" [O, I, kh, kw],
"<scope>.bias" [O]) exactly as in Tests/Fixtures/oracle/generator.npz and
discriminator.npz. Everything is computed in float32 by default; pass
dtype=np.float64 to the run_* functions to get a float64 run of the same graph
(used to measure float32 rounding error). The resize index rule always uses float32
arithmetic, as TF1 does, independently of `dtype`.

Only numpy is needed.
"""
import math

import numpy as np

F32 = np.float32

# --------------------------------------------------------------------------------------
# Layer table: (scope, stride, dilation, activation). activation: 'elu', 'relu', None.
# Upsample layers (x2 pixel replication before the conv) are those whose name ends in
# "_upsample".
# --------------------------------------------------------------------------------------
STAGE1 = [
    ("conv1", 1, 1, "elu"),
    ("conv2_downsample", 2, 1, "elu"),
    ("conv3", 1, 1, "elu"),
    ("conv4_downsample", 2, 1, "elu"),
    ("conv5", 1, 1, "elu"),
    ("conv6", 1, 1, "elu"),
    # mask_s is taken here
    ("conv7_atrous", 1, 2, "elu"),
    ("conv8_atrous", 1, 4, "elu"),
    ("conv9_atrous", 1, 8, "elu"),
    ("conv10_atrous", 1, 16, "elu"),
    ("conv11", 1, 1, "elu"),
    ("conv12", 1, 1, "elu"),
    ("conv13_upsample", 1, 1, "elu"),
    ("conv14", 1, 1, "elu"),
    ("conv15_upsample", 1, 1, "elu"),
    ("conv16", 1, 1, "elu"),
    ("conv17", 1, 1, None),
]
XBRANCH = [
    ("xconv1", 1, 1, "elu"),
    ("xconv2_downsample", 2, 1, "elu"),
    ("xconv3", 1, 1, "elu"),
    ("xconv4_downsample", 2, 1, "elu"),
    ("xconv5", 1, 1, "elu"),
    ("xconv6", 1, 1, "elu"),
    ("xconv7_atrous", 1, 2, "elu"),
    ("xconv8_atrous", 1, 4, "elu"),
    ("xconv9_atrous", 1, 8, "elu"),
    ("xconv10_atrous", 1, 16, "elu"),
]
PM_PRE = [
    ("pmconv1", 1, 1, "elu"),
    ("pmconv2_downsample", 2, 1, "elu"),
    ("pmconv3", 1, 1, "elu"),
    ("pmconv4_downsample", 2, 1, "elu"),
    ("pmconv5", 1, 1, "elu"),
    ("pmconv6", 1, 1, "relu"),
]
PM_POST = [
    ("pmconv9", 1, 1, "elu"),
    ("pmconv10", 1, 1, "elu"),
]
MERGE = [
    ("allconv11", 1, 1, "elu"),
    ("allconv12", 1, 1, "elu"),
    ("allconv13_upsample", 1, 1, "elu"),
    ("allconv14", 1, 1, "elu"),
    ("allconv15_upsample", 1, 1, "elu"),
    ("allconv16", 1, 1, "elu"),
    ("allconv17", 1, 1, None),
]
GENERATOR_LAYERS = STAGE1 + XBRANCH + PM_PRE + PM_POST + MERGE  # 42 convolutions, graph order
RGB_LAYERS = ("conv17", "allconv17")

# im2col chunk budget (bytes) - keeps 512x512 well below 1 GB.
_IM2COL_BUDGET = 96 * 1024 * 1024


# --------------------------------------------------------------------------------------
# Basic ops
# --------------------------------------------------------------------------------------
def same_pads(size, k, stride, dilation):
    """TF 'SAME': returns (out, before, after)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (k - 1) * dilation + 1 - size, 0)
    return out, total // 2, total - total // 2


def conv2d_same(x, w, b=None, stride=1, dilation=1):
    """TF-'SAME' zero-padded conv2d (cross-correlation). x [C,H,W], w [O,C,kh,kw], b [O].
    im2col + one matmul per chunk of output rows."""
    dt = x.dtype
    C, H, W = x.shape
    O, Ci, kh, kw = w.shape
    assert Ci == C, (w.shape, x.shape)
    Ho, pt, pb = same_pads(H, kh, stride, dilation)
    Wo, pl, pr = same_pads(W, kw, stride, dilation)
    xp = np.zeros((C, H + pt + pb, W + pl + pr), dtype=dt)
    xp[:, pt:pt + H, pl:pl + W] = x
    wm = np.ascontiguousarray(w.reshape(O, C * kh * kw), dtype=dt)
    out = np.empty((O, Ho, Wo), dtype=dt)
    bytes_per_row = C * kh * kw * Wo * np.dtype(dt).itemsize
    rc = max(1, min(Ho, _IM2COL_BUDGET // max(bytes_per_row, 1)))
    for r0 in range(0, Ho, rc):
        r1 = min(Ho, r0 + rc)
        n = r1 - r0
        cols = np.empty((C, kh, kw, n, Wo), dtype=dt)
        for i in range(kh):
            y0 = r0 * stride + i * dilation
            for j in range(kw):
                x0 = j * dilation
                cols[:, i, j] = xp[:, y0:y0 + (n - 1) * stride + 1:stride, x0:x0 + (Wo - 1) * stride + 1:stride]
        out[:, r0:r1] = (wm @ cols.reshape(C * kh * kw, n * Wo)).reshape(O, n, Wo)
    if b is not None:
        out += b.astype(dt)[:, None, None]
    return out


def elu(x):
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0))).astype(x.dtype)


def sigmoid(x):
    one = x.dtype.type(1)
    return (one / (one + np.exp(-x))).astype(x.dtype)


def tf_nearest_index(in_size, out_size):
    """TF1 resize_nearest_neighbor(align_corners=True) source indices, computed in float32
    with rounding half away from zero (roundf)."""
    if out_size > 1:
        scale = F32(in_size - 1) / F32(out_size - 1)
    else:
        scale = F32(0)  # single output pixel: index 0
    v = np.arange(out_size, dtype=np.float32) * scale  # float32 product, as in TF
    fl = np.floor(v)
    r = np.where(v - fl >= F32(0.5), fl + 1, fl)  # v >= 0: round half away from zero
    return np.minimum(r.astype(np.int64), in_size - 1)


def resize_nearest_ac(x, out_h, out_w):
    """x [C,H,W] -> [C,out_h,out_w] with TF1 align-corners nearest."""
    iy = tf_nearest_index(x.shape[1], out_h)
    ix = tf_nearest_index(x.shape[2], out_w)
    return x[:, iy][:, :, ix]


def upsample2(x):
    """x2 nearest (align corners) == pixel replication for an exact x2 upscale."""
    return np.repeat(np.repeat(x, 2, axis=1), 2, axis=2)


# --------------------------------------------------------------------------------------
# Contextual attention
# --------------------------------------------------------------------------------------
def _extract_patches(x, k, stride):
    """TF extract_image_patches, 'SAME', rates 1. x [C,H,W] -> [L, C, k, k] with L in
    row-major order of the output grid."""
    C, H, W = x.shape
    Ho, pt, pb = same_pads(H, k, stride, 1)
    Wo, pl, pr = same_pads(W, k, stride, 1)
    xp = np.zeros((C, H + pt + pb, W + pl + pr), dtype=x.dtype)
    xp[:, pt:pt + H, pl:pl + W] = x
    p = np.empty((Ho, Wo, C, k, k), dtype=x.dtype)
    for a in range(k):
        for c in range(k):
            p[:, :, :, a, c] = xp[:, a:a + (Ho - 1) * stride + 1:stride, c:c + (Wo - 1) * stride + 1:stride].transpose(1, 2, 0)
    return p.reshape(Ho * Wo, C, k, k), (Ho, Wo), (pt, pl)


def _fuse_diag(S):
    """Convolution of the 2-D matrix S with the 3x3 identity kernel, SAME, zero border:
    out[p,q] = S[p-1,q-1] + S[p,q] + S[p+1,q+1]."""
    T = np.zeros_like(S)
    T[1:, 1:] = S[:-1, :-1]
    T += S
    T[:-1, :-1] += S[1:, 1:]
    return T


def contextual_attention(f, b, mask, ksize=3, stride=1, rate=2, fuse_k=3, softmax_scale=10.0,
                         fuse=True, return_details=False):
    """Official inpaint_ops.contextual_attention for one image.

    f, b: [C, h, w] (or [1, C, h, w]) foreground / background features (b = f in the generator).
    mask: [1, h, w], [h, w] or [1,1,h,w]: hole mask (1 = hole) at the resolution of f
          (the generator passes mask_s). It is resized by 1/rate inside, as in TF.
    Returns y [C, h, w] (and, if return_details, a dict with 'argmax' [h/rate, w/rate] int32,
    'logits' [P, L] (the softmax input, i.e. softmax_scale * scores * mm), 'mm' [L],
    'weights' [P, L]).
    """
    assert stride == 1 and fuse_k == 3, "only the generator's configuration (stride 1, fuse_k 3) is implemented"
    squeeze4 = f.ndim == 4
    if squeeze4:
        f, b = f[0], b[0]
    dt = f.dtype
    m = np.asarray(mask)
    m = m.reshape(m.shape[-2], m.shape[-1])[None].astype(dt)
    C, h, w = f.shape
    kernel = 2 * rate
    # 1. raw 4x4 patches of b, stride rate*stride, SAME
    raw, (rh, rw), _ = _extract_patches(b, kernel, rate * stride)  # [L, C, 4, 4]
    # 2. downscale f, b, mask (align-corners nearest)
    fs = resize_nearest_ac(f, int(h / rate), int(w / rate))
    bs = resize_nearest_ac(b, int(b.shape[1] / rate), int(b.shape[2] / rate))
    ms = resize_nearest_ac(m, int(m.shape[1] / rate), int(m.shape[2] / rate))
    hs, ws = fs.shape[1:]
    hb, wb = bs.shape[1:]
    # 3. matching patches of downscaled b, normalised
    wpat, _, _ = _extract_patches(bs, ksize, stride)  # [L, C, 3, 3]
    L = wpat.shape[0]
    assert L == raw.shape[0], "odd h/4 or w/4: raw and matching patch counts differ (TF fails too)"
    wmat = wpat.reshape(L, -1)
    norm = np.sqrt(np.sum(np.square(wmat), axis=1, dtype=dt)).astype(dt)
    wmat = wmat / np.maximum(norm, dt.type(1e-4))[:, None]
    # 4. mm from the downscaled mask (batch element 0), 3x3 SAME patches, valid iff all zero
    mp, _, _ = _extract_patches(ms, ksize, stride)  # [L, 1, 3, 3]
    mm = (np.mean(mp.reshape(L, -1), axis=1) == 0).astype(dt)  # [L]
    # 5. scores: conv of downscaled f (SAME) with the L kernels -> S [P, L]
    fp, _, _ = _extract_patches(fs, ksize, stride)  # [P, C, 3, 3]
    P = fp.shape[0]
    S = fp.reshape(P, -1) @ wmat.T  # [P, L]
    # 6. fuse
    if fuse:
        S = _fuse_diag(S)
        S = S.reshape(hs, ws, hb, wb).transpose(1, 0, 3, 2).reshape(P, L)
        S = _fuse_diag(S)
        S = S.reshape(ws, hs, wb, hb).transpose(1, 0, 3, 2).reshape(P, L)
    # 7. masked softmax
    S = S * mm[None, :]
    logits = S * dt.type(softmax_scale)
    e = np.exp(logits - np.max(logits, axis=1, keepdims=True))
    A = e / np.sum(e, axis=1, keepdims=True, dtype=dt)
    A = A * mm[None, :]
    # 8. argmax
    amax = np.argmax(A, axis=1).astype(np.int32).reshape(hs, ws)
    # 9. paste: conv2d_transpose(stride rate, SAME) / 4
    M = (A @ raw.reshape(L, -1)).reshape(hs, ws, C, kernel, kernel)
    pad = (kernel - rate) // 2  # = 1 for rate 2 (TF SAME for k=4, s=2, even size)
    out = np.zeros((C, rate * hs + kernel, rate * ws + kernel), dtype=dt)
    for a in range(kernel):
        for c in range(kernel):
            out[:, a:a + rate * hs:rate, c:c + rate * ws:rate] += M[:, :, :, a, c].transpose(2, 0, 1)
    y = out[:, pad:pad + h, pad:pad + w] / dt.type(4.0)
    y = np.ascontiguousarray(y)
    if squeeze4:
        y = y[None]
    if return_details:
        return y, {"argmax": amax, "logits": logits, "mm": mm, "weights": A}
    return y


# --------------------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------------------
class _Convs:
    """Applies the named generator layers. With `calibrate`, rescales each layer's weight
    (in the given dict, in graph order) so that its pre-activation std equals the target
    (1.0, or 0.7 for conv17/allconv17); the bias is kept."""

    def __init__(self, weights, dtype, calibrate=False):
        self.w = weights
        self.dt = dtype
        self.calibrate = calibrate
        self.stats = {}

    def layer(self, spec, x):
        name, stride, dil, act = spec
        if name.endswith("_upsample"):
            x = upsample2(x)
        W = self.w[name + ".weight"]
        B = self.w[name + ".bias"]
        if self.calibrate:
            target = 0.7 if name in RGB_LAYERS else 1.0
            z0 = conv2d_same(x.astype(np.float64), W.astype(np.float64), None, stride, dil)
            Bb = np.broadcast_to(B.astype(np.float64)[:, None, None], z0.shape)
            zc = z0 - z0.mean()
            bc = Bb - Bb.mean()
            a = np.mean(zc * zc)
            c = np.mean(zc * bc)
            d = np.mean(bc * bc)
            s = (-c + math.sqrt(c * c - a * (d - target * target))) / a
            self.w[name + ".weight"] = W = (W.astype(np.float64) * s).astype(np.float32)
            self.stats[name] = s
        z = conv2d_same(x, W.astype(self.dt), B.astype(self.dt), stride, dil)
        if self.calibrate:
            self.stats[name] = (self.stats[name], float(np.std(z.astype(np.float64))))
        else:
            self.stats[name] = float(np.std(z.astype(np.float64)))
        if act is None:
            return z
        c = z.shape[0] // 2
        feat, gate = z[:c], z[c:]
        if act == "elu":
            feat = elu(feat)
        elif act == "relu":
            feat = np.maximum(feat, 0)
        else:
            raise ValueError(act)
        return feat * sigmoid(gate)

    def run(self, specs, x):
        for s in specs:
            x = self.layer(s, x)
        return x


def make_input(image, mask):
    """image [3,H,W] in [-1,1], mask [1,H,W] {0,1} -> generator input [5,H,W]."""
    dt = image.dtype
    x_in = image * (dt.type(1) - mask)
    ones = np.ones_like(mask)
    return np.concatenate([x_in, ones, ones * mask], axis=0)


def run_generator(weights, image, mask, dtype=np.float32, calibrate=False, return_details=False):
    """weights: dict of OIHW arrays; image [3,H,W] float32 in [-1,1]; mask [1,H,W] {0,1}.
    Returns dict(stage1, stage2, output [3,H,W], attention_argmax int32 [H/8, W/8]).
    With calibrate=True the weights dict is modified in place (layer-by-layer rescaling),
    see _Convs."""
    H, W = image.shape[1:]
    assert H % 8 == 0 and W % 8 == 0, "H and W must be multiples of 8"
    image = image.astype(dtype)
    mask = mask.astype(dtype)
    one = dtype(1)
    convs = _Convs(weights, dtype, calibrate)
    x_in = image * (one - mask)
    x = make_input(image, mask)
    # stage 1
    x = convs.run(STAGE1[:6], x)
    mask_s = resize_nearest_ac(mask, x.shape[1], x.shape[2])  # resize_mask_like after conv6
    x = convs.run(STAGE1[6:], x)
    stage1 = np.tanh(x)
    # stage 2
    xnow = stage1 * mask + x_in * (one - mask)
    xh = convs.run(XBRANCH, xnow)
    pm = convs.run(PM_PRE, xnow)
    pm, cad = contextual_attention(pm, pm, mask_s, 3, 1, 2, fuse=True, return_details=True)
    pm = convs.run(PM_POST, pm)
    x = np.concatenate([xh, pm], axis=0)
    x = convs.run(MERGE, x)
    stage2 = np.tanh(x)
    output = image * (one - mask) + stage2 * mask
    res = {
        "stage1": stage1,
        "stage2": stage2,
        "output": output,
        "attention_argmax": cad["argmax"],
    }
    if return_details:
        res["attention"] = cad
        res["mask_s"] = mask_s
        res["preact_std"] = convs.stats
    return res


def attention_gaps(logits, mm):
    """Per foreground position: gap between best and second-best logit among the usable
    (mm = 1) background patches, and the argmax index. logits [P, L]."""
    usable = mm > 0
    lg = logits[:, usable].astype(np.float64)
    if lg.shape[1] < 2:
        return np.full(logits.shape[0], np.inf)
    part = -np.partition(-lg, 1, axis=1)[:, :2]
    return part[:, 0] - part[:, 1]


# --------------------------------------------------------------------------------------
# Discriminator
# --------------------------------------------------------------------------------------
def _l2n(x):
    dt = x.dtype
    return x / (np.sqrt(np.sum(np.square(x), dtype=dt)).astype(dt) + dt.type(1e-12))


def spectral_norm(w, u):
    """One power iteration from u. w [O, I, kh, kw], u [O]. Returns (w / sigma, u', sigma)."""
    dt = w.dtype
    Wm = w.reshape(w.shape[0], -1)
    v = _l2n(Wm.T @ u)
    Wv = Wm @ v
    u2 = _l2n(Wv)
    sigma = np.dot(u2, Wv)
    return w / sigma, u2, sigma


def run_discriminator(weights, x, dtype=np.float32):
    """SN-PatchGAN. x [4,H,W] = cat(output, mask). Returns (logits flattened in
    (channel,row,col) order, dict convN.u -> updated u)."""
    x = x.astype(dtype)
    u_after = {}
    for n in range(1, 7):
        w = weights["conv%d.weight" % n].astype(dtype)
        b = weights["conv%d.bias" % n].astype(dtype)
        u = weights["conv%d.u" % n].astype(dtype)
        wn, u2, _ = spectral_norm(w, u)
        u_after["conv%d.u" % n] = u2
        z = conv2d_same(x, wn, b, stride=2, dilation=1)
        x = np.maximum(z, z * dtype(0.2))  # LeakyReLU(0.2)
    return x.reshape(-1), u_after


# --------------------------------------------------------------------------------------
# Helpers for files
# --------------------------------------------------------------------------------------
def load_npz(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def image_from_png_array(rgb_u8):
    """uint8 [H,W,3] -> float32 [3,H,W]: p / 127.5 - 1 in float32."""
    p = rgb_u8.astype(np.float32).transpose(2, 0, 1)
    return np.ascontiguousarray(p / F32(127.5) - F32(1))


def mask_from_png_array(gray_u8):
    return (gray_u8 > 127).astype(np.float32)[None]


def output_to_png_array(output):
    """float32 [3,H,W] -> uint8 [H,W,3]: floor((x+1)*127.5 + 0.5) in float64, clipped."""
    v = np.floor((output.astype(np.float64) + 1.0) * 127.5 + 0.5)
    return np.clip(v, 0, 255).astype(np.uint8).transpose(1, 2, 0).copy()
