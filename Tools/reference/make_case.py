#!/usr/bin/env python3
"""Generate a DeepFill v2 golden case folder with the NumPy reference, laid out like the
oracle's case_<H>x<W>/ folders (see Tests/Fixtures/oracle/README.md).

usage:
  python3 make_case.py --height 256 --width 256 --seed 11 --out /tmp/cases/case_256x256
  python3 make_case.py --height 256 --width 192 --seed 15 --new-weights-seed 7 --out DIR
  python3 make_case.py ... --disc Tests/Fixtures/oracle/discriminator.npz   # + discriminator files

Writes image.png, mask.png, image.npy, mask.npy, input.npy, stage1.npy, stage2.npy,
output.npy, output.png, attention_argmax.npy, attention_gap.npy (extra: per-position
best minus second-best attention logit), case.json (parameters and statistics),
optionally generator.npz (--new-weights-seed) and disc_input.npy, disc_logits.npy,
disc_u_after.npz (--disc).

Image: smooth random colour gradients + diagonal colour stripes + translucent rectangles
+ noise (numpy RandomState([seed, 1])).
Mask: official training mask = rectangle OR brush strokes (spec section 6), drawn with
numpy RandomState(seed) (re-drawn until 15-40 % hole and 10-90 % usable attention
patches). The rectangle is scaled with the image (H/2 x W/2, each side shrunk by
0..H/16 resp. 0..W/16). The brush strokes follow brush_stroke_mask exactly in RNG order
and constants (including the (h, w) = (W, H) quirk), but are rasterised by a small numpy
approximation of PIL's wide line + ellipse, so a given seed does not give the
bit-identical mask PIL would draw; the distribution is the same.
"""
import argparse
import hashlib
import json
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deepfill_reference as R  # noqa: E402
import pngio  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_WEIGHTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "Fixtures", "oracle", "generator.npz")


# --------------------------------------------------------------------------------------
# Synthetic image
# --------------------------------------------------------------------------------------
def synth_image(H, W, seed):
    rng = np.random.RandomState([seed, 1])
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    img = np.zeros((H, W, 3))
    # smooth colour gradient
    for c in range(3):
        a = rng.uniform(-1, 1, 3)
        img[:, :, c] += 60 * (a[0] * yy / H + a[1] * xx / W) + 30 * a[2] * np.sin(2 * np.pi * (xx / W + yy / H) * rng.uniform(0.3, 1.2))
    # diagonal stripes: one dominant direction, per-channel period and phase
    theta = rng.uniform(0, np.pi)
    for c in range(3):
        th = theta + rng.uniform(-0.25, 0.25)
        period = rng.uniform(10, 28)
        u = xx * np.cos(th) + yy * np.sin(th)
        img[:, :, c] += 70 * np.sin(2 * np.pi * u / period + rng.uniform(0, 2 * np.pi))
        # a weaker second pattern
        th2 = rng.uniform(0, np.pi)
        u2 = xx * np.cos(th2) + yy * np.sin(th2)
        img[:, :, c] += 25 * np.sin(2 * np.pi * u2 / rng.uniform(20, 80) + rng.uniform(0, 2 * np.pi))
    img += 128
    # translucent rectangles
    n_rect = rng.randint(3, 8)
    for _ in range(n_rect):
        h = rng.randint(max(2, H // 16), max(3, H // 3))
        w = rng.randint(max(2, W // 16), max(3, W // 3))
        t = rng.randint(0, H - h + 1)
        l = rng.randint(0, W - w + 1)
        col = rng.uniform(0, 255, 3)
        alpha = rng.uniform(0.25, 0.6)
        img[t:t + h, l:l + w] = (1 - alpha) * img[t:t + h, l:l + w] + alpha * col
    img += rng.normal(0, 4.0, img.shape)
    return np.clip(np.floor(img + 0.5), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------------------
# Official training mask: random_bbox + bbox2mask OR brush_stroke_mask
# --------------------------------------------------------------------------------------
def _draw_disk(m, cx, cy, r):
    H, W = m.shape
    y0, y1 = max(0, cy - r - 1), min(H, cy + r + 2)
    x0, x1 = max(0, cx - r - 1), min(W, cx + r + 2)
    if y0 >= y1 or x0 >= x1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1]
    m[y0:y1, x0:x1] |= (xx - cx) ** 2 + (yy - cy) ** 2 <= (r + 0.5) ** 2


def _draw_wide_segment(m, p0, p1, width):
    """Approximation of PIL ImagingDrawWideLine: a filled rectangle of half-width
    (width-1)/2 around the segment, no caps (the ellipses at the vertices cover them)."""
    H, W = m.shape
    (x0, y0), (x1, y1) = p0, p1
    dx, dy = x1 - x0, y1 - y0
    ln = math.hypot(dx, dy)
    if ln == 0:
        if 0 <= y0 < H and 0 <= x0 < W:
            m[y0, x0] = True
        return
    hw = (width - 1) / 2.0 + 0.5
    ya, yb = max(0, int(min(y0, y1) - hw - 1)), min(H, int(max(y0, y1) + hw + 2))
    xa, xb = max(0, int(min(x0, x1) - hw - 1)), min(W, int(max(x0, x1) + hw + 2))
    if ya >= yb or xa >= xb:
        return
    yy, xx = np.mgrid[ya:yb, xa:xb].astype(np.float64)
    t = ((xx - x0) * dx + (yy - y0) * dy) / ln  # along
    d = np.abs((xx - x0) * dy - (yy - y0) * dx) / ln  # across
    m[ya:yb, xa:xb] |= (t >= 0) & (t <= ln) & (d <= hw)


def brush_stroke_mask(H, W, rng):
    min_num_vertex, max_num_vertex = 4, 12
    mean_angle, angle_range = 2 * math.pi / 5, 2 * math.pi / 15
    min_width, max_width = 12, 40
    average_radius = math.sqrt(H * H + W * W) / 8
    m = np.zeros((H, W), dtype=bool)
    for _ in range(rng.randint(1, 4)):
        num_vertex = rng.randint(min_num_vertex, max_num_vertex)
        angle_min = mean_angle - rng.uniform(0, angle_range)
        angle_max = mean_angle + rng.uniform(0, angle_range)
        angles = []
        for i in range(num_vertex):
            if i % 2 == 0:
                angles.append(2 * math.pi - rng.uniform(angle_min, angle_max))
            else:
                angles.append(rng.uniform(angle_min, angle_max))
        h, w = W, H  # quirk: PIL mask.size is (W, H)
        vertex = [(int(rng.randint(0, w)), int(rng.randint(0, h)))]
        for i in range(num_vertex):
            r = np.clip(rng.normal(loc=average_radius, scale=average_radius // 2), 0, 2 * average_radius)
            new_x = np.clip(vertex[-1][0] + r * math.cos(angles[i]), 0, w)
            new_y = np.clip(vertex[-1][1] + r * math.sin(angles[i]), 0, h)
            vertex.append((int(new_x), int(new_y)))
        width = int(rng.uniform(min_width, max_width))
        for a, b in zip(vertex[:-1], vertex[1:]):
            _draw_wide_segment(m, a, b, width)
        for v in vertex:
            _draw_disk(m, v[0], v[1], width // 2)
    rng.normal()  # the two (discarded) flips still consume RNG state
    rng.normal()
    return m


def rect_mask(H, W, rng):
    height, width = H // 2, W // 2
    max_dh, max_dw = H // 8, W // 8  # shrink by 0..H/16 per side
    t = rng.randint(0, H - height)  # tf.random_uniform(minval=0, maxval=H-height), exclusive
    l = rng.randint(0, W - width)
    dh = rng.randint(max_dh // 2 + 1)
    dw = rng.randint(max_dw // 2 + 1)
    m = np.zeros((H, W), dtype=bool)
    m[t + dh:t + height - dh, l + dw:l + width - dw] = True
    return m


def usable_fraction(mask):
    """Share of attention background patches with no hole pixel (two-step mask resize)."""
    H, W = mask.shape
    m = mask.astype(np.float32)[None]
    ms = R.resize_nearest_ac(m, H // 4, W // 4)
    ms = R.resize_nearest_ac(ms, H // 8, W // 8)[0]
    p = np.pad(ms, 1)
    s = sum(p[a:a + H // 8, b:b + W // 8] for a in range(3) for b in range(3))
    return float(np.mean(s == 0))


def training_mask(H, W, seed, hole_range=(0.15, 0.40), usable_range=(0.10, 0.90), max_draws=10000):
    rng = np.random.RandomState(seed)
    for draw in range(1, max_draws + 1):
        m = rect_mask(H, W, rng) | brush_stroke_mask(H, W, rng)
        hole = float(m.mean())
        use = usable_fraction(m)
        if hole_range[0] <= hole <= hole_range[1] and usable_range[0] <= use <= usable_range[1]:
            return m, draw, hole, use
    raise RuntimeError("no acceptable mask in %d draws" % max_draws)


# --------------------------------------------------------------------------------------
# Random calibrated weights
# --------------------------------------------------------------------------------------
def random_weights(shapes, seed):
    """Uniform fan-in-scaled kernels and U(-0.05, 0.05) biases, in graph order."""
    rng = np.random.RandomState(seed)
    w = {}
    for name, _, _, _ in R.GENERATOR_LAYERS:
        ws = shapes[name + ".weight"]
        fan_in = ws[1] * ws[2] * ws[3]
        lim = math.sqrt(3.0 / fan_in)
        w[name + ".weight"] = rng.uniform(-lim, lim, ws).astype(np.float32)
        w[name + ".bias"] = rng.uniform(-0.05, 0.05, shapes[name + ".bias"]).astype(np.float32)
    return w


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for blk in iter(lambda: f.read(1 << 20), b""):
            h.update(blk)
    return h.hexdigest()


# --------------------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--height", type=int, required=True)
    ap.add_argument("--width", type=int, required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--weights", default=DEFAULT_WEIGHTS, help="generator.npz (default: the oracle's)")
    ap.add_argument("--new-weights-seed", type=int, default=None,
                    help="write a new calibrated generator.npz into the case folder and use it")
    ap.add_argument("--disc", default=None, help="discriminator.npz: also write disc_input/logits/u_after")
    ap.add_argument("--no-f64", action="store_true", help="skip the float64 run (gap/rounding-error statistics)")
    a = ap.parse_args()
    H, W = a.height, a.width
    if H % 8 or W % 8:
        sys.exit("height and width must be multiples of 8")
    os.makedirs(a.out, exist_ok=True)
    t0 = time.time()

    img_u8 = synth_image(H, W, a.seed)
    mask_b, draws, hole, usable = training_mask(H, W, a.seed)
    mask_u8 = np.where(mask_b, 255, 0).astype(np.uint8)
    pngio.write_png(os.path.join(a.out, "image.png"), img_u8)
    pngio.write_png(os.path.join(a.out, "mask.png"), mask_u8)
    # decode exactly as the oracle README describes (from the written PNGs)
    image = R.image_from_png_array(pngio.read_png(os.path.join(a.out, "image.png")))
    mask = R.mask_from_png_array(pngio.read_png(os.path.join(a.out, "mask.png")))
    x_input = R.make_input(image, mask)
    print("%dx%d seed %d: mask after %d draw(s): hole %.1f %%, usable attention patches %.1f %%"
          % (H, W, a.seed, draws, 100 * hole, 100 * usable))

    weights = R.load_npz(a.weights)
    wsrc = os.path.abspath(a.weights)
    if a.new_weights_seed is not None:
        shapes = {k: v.shape for k, v in weights.items()}
        weights = random_weights(shapes, a.new_weights_seed)
        cal = R.run_generator(weights, image, mask, calibrate=True, return_details=True)  # rescales in place
        stds = cal["preact_std"]
        print("calibrated %d layers; pre-activation std after rescaling: min %.4f max %.4f (RGB layers %.4f, %.4f)"
              % (len(stds), min(v[1] for k, v in stds.items() if k not in R.RGB_LAYERS),
                 max(v[1] for k, v in stds.items() if k not in R.RGB_LAYERS),
                 stds["conv17"][1], stds["allconv17"][1]))
        gpath = os.path.join(a.out, "generator.npz")
        np.savez(gpath, **{k: weights[k] for name, _, _, _ in R.GENERATOR_LAYERS for k in (name + ".weight", name + ".bias")})
        wsrc = "generator.npz (new, seed %d)" % a.new_weights_seed

    r = R.run_generator(weights, image, mask, return_details=True)
    att = r["attention"]
    gaps = R.attention_gaps(att["logits"], att["mm"])
    best_w = float(att["weights"].max(axis=1).mean())

    files = {
        "image.npy": image,
        "mask.npy": mask,
        "input.npy": x_input,
        "stage1.npy": r["stage1"].astype(np.float32),
        "stage2.npy": r["stage2"].astype(np.float32),
        "output.npy": r["output"].astype(np.float32),
        "attention_argmax.npy": r["attention_argmax"].astype(np.int32),
        # extra (not in the oracle format): best minus second-best logit among usable
        # patches, per attention position (same grid as attention_argmax)
        "attention_gap.npy": gaps.reshape(H // 8, W // 8).astype(np.float32),
    }
    for k, v in files.items():
        np.save(os.path.join(a.out, k), np.ascontiguousarray(v))
    pngio.write_png(os.path.join(a.out, "output.png"), R.output_to_png_array(r["output"]))

    info = {
        "height": H, "width": W, "seed": a.seed, "weights": wsrc,
        "mask_draws": draws, "hole_fraction": hole, "usable_patch_fraction": usable,
        "attention_grid": [H // 8, W // 8], "L": (H // 8) * (W // 8),
        "mean_best_attention_weight": best_w,
        "min_logit_gap": float(gaps.min()),
        "positions_gap_below_0.1": int((gaps < 0.1).sum()),
        "positions_gap_below_1": int((gaps < 1).sum()),
        "stage2_range": [float(r["stage2"].min()), float(r["stage2"].max())],
    }
    print("attention: grid %dx%d (L=%d), mean best weight %.3f, min logit gap %.4f (median %.2f)"
          % (H // 8, W // 8, info["L"], best_w, gaps.min(), np.median(gaps)))
    if gaps.min() < 0.05:
        print("WARNING: tiny best/second-best logit gap %.3g - attention_argmax may be fragile" % gaps.min())

    if not a.no_f64:
        r64 = R.run_generator(weights, image, mask, dtype=np.float64, return_details=True)
        g64 = R.attention_gaps(r64["attention"]["logits"], r64["attention"]["mm"])
        err = np.abs(gaps - g64)
        ratio = float(np.min(g64 / np.maximum(err, 1e-30)))
        am_mis = int((r64["attention_argmax"] != r["attention_argmax"]).sum())
        d2 = np.abs(r["stage2"].astype(np.float64) - r64["stage2"])
        d1 = np.abs(r["stage1"].astype(np.float64) - r64["stage1"])
        info.update({"min_gap_over_f32_error": ratio, "argmax_mismatch_f32_vs_f64": am_mis,
                     "stage1_f32_vs_f64_max": float(d1.max()), "stage2_f32_vs_f64_max": float(d2.max()),
                     "stage2_f32_vs_f64_mean": float(d2.mean()),
                     "stage2_f32_vs_f64_p999": float(np.percentile(d2, 99.9))})
        print("float32 vs float64: stage1 max %.2e, stage2 max %.2e mean %.2e p99.9 %.2e; "
              "argmax mismatches %d; min gap / its f32 error %.0f"
              % (d1.max(), d2.max(), d2.mean(), np.percentile(d2, 99.9), am_mis, ratio))
        if am_mis or ratio < 10:
            print("WARNING: attention_argmax is not robust against float32 rounding in this case")

    if a.disc:
        disc = R.load_npz(a.disc)
        dx = np.concatenate([files["output.npy"], mask], axis=0)
        logits, u_after = R.run_discriminator(disc, dx)
        np.save(os.path.join(a.out, "disc_input.npy"), dx)
        np.save(os.path.join(a.out, "disc_logits.npy"), logits.astype(np.float32))
        np.savez(os.path.join(a.out, "disc_u_after.npz"), **{k: v.astype(np.float32) for k, v in u_after.items()})
        info["discriminator"] = os.path.abspath(a.disc)
        info["disc_logits_shape"] = [256, -(-H // 64), -(-W // 64)]
        print("discriminator: %d logits ([256, %d, %d]), range [%.3f, %.3f]"
              % (logits.size, -(-H // 64), -(-W // 64), logits.min(), logits.max()))

    info["seconds"] = round(time.time() - t0, 1)
    info["sha256"] = {fn: sha256(os.path.join(a.out, fn)) for fn in sorted(os.listdir(a.out))
                      if fn != "case.json"}
    with open(os.path.join(a.out, "case.json"), "w") as f:
        json.dump(info, f, indent=1)
    print("wrote %s in %.1f s" % (a.out, time.time() - t0))


if __name__ == "__main__":
    main()
