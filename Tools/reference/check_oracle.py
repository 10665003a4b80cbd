#!/usr/bin/env python3
"""Run the NumPy reference on the oracle fixtures (and optionally on further case folders)
and check the differences against the tolerances of Tests/Fixtures/oracle/README.md.

usage: python3 check_oracle.py [--oracle DIR] [--f64] [CASE_DIR ...]

Extra CASE_DIRs (e.g. folders written by make_case.py) are checked the same way; a case
folder may carry its own generator.npz, otherwise the oracle's is used. Exit status 1 if
any check fails.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deepfill_reference as R  # noqa: E402
import pngio  # noqa: E402

# README "Recommended tolerances": pixels -> (stage1 max, stage1 mean, stage2/output max, p99.9, mean)
TOL = [
    (64 * 64, (1e-4, 1e-5, 2e-4, 1e-4, 2e-5)),
    (128 * 96, (5e-4, 3e-5, 1e-3, 5e-4, 1e-4)),
    (256 * 256, (2e-3, 1e-4, 1e-2, 5e-3, 3e-4)),
    (512 * 512, (5e-3, 1e-4, 1e-1, 1e-2, 3e-4)),
]
TOL_DISC_LOGITS = 2e-5
TOL_DISC_U = 2e-6
TOL_CA = 5e-5

failures = []


def tol_for(h, w):
    n = h * w
    for px, t in TOL:
        if n <= px:
            return t
    return TOL[-1][1]


def check(cond, what):
    if not cond:
        failures.append(what)
        print("    FAIL:", what)


def stats(a, b):
    d = np.abs(a.astype(np.float64) - b.astype(np.float64)).ravel()
    return d.max(), d.mean(), np.percentile(d, 99.9)


def check_case(d, gen_default, disc, f64):
    name = os.path.basename(os.path.normpath(d))
    gpath = os.path.join(d, "generator.npz")
    gen = R.load_npz(gpath) if os.path.exists(gpath) else gen_default
    print("== %s%s" % (name, " (own generator.npz)" if os.path.exists(gpath) else ""))
    img_png = pngio.read_png(os.path.join(d, "image.png"))
    msk_png = pngio.read_png(os.path.join(d, "mask.png"))
    image = np.load(os.path.join(d, "image.npy"))
    mask = np.load(os.path.join(d, "mask.npy"))
    H, W = image.shape[1:]
    check(np.array_equal(R.image_from_png_array(img_png), image), "%s image.npy == decode(image.png)" % name)
    check(np.array_equal(R.mask_from_png_array(msk_png), mask), "%s mask.npy == decode(mask.png)" % name)
    check(np.array_equal(R.make_input(image, mask), np.load(os.path.join(d, "input.npy"))), "%s input.npy exact" % name)
    r = R.run_generator(gen, image, mask)
    t1max, t1mean, t2max, t2p, t2mean = tol_for(H, W)
    print("  %dx%d  hole %.1f %%   tolerances: stage1 %.0e/%.0e, stage2/output %.0e/%.0e/%.0e (max/p99.9/mean)"
          % (H, W, 100 * mask.mean(), t1max, t1mean, t2max, t2p, t2mean))
    print("  %-8s %10s %10s %10s" % ("", "max", "mean", "p99.9"))
    for k in ("stage1", "stage2", "output"):
        gold = np.load(os.path.join(d, k + ".npy"))
        mx, mn, p = stats(r[k], gold)
        print("  %-8s %10.2e %10.2e %10.2e" % (k, mx, mn, p))
        if k == "stage1":
            check(mx <= t1max and mn <= t1mean, "%s stage1 within tolerance" % name)
        else:
            check(mx <= t2max and p <= t2p and mn <= t2mean, "%s %s within tolerance" % (name, k))
    out_gold = np.load(os.path.join(d, "output.npy"))
    known = np.broadcast_to(mask == 0, out_gold.shape)
    check(np.array_equal(out_gold[known], image[known]), "%s golden output == image outside the hole" % name)
    check(np.array_equal(r["output"][known], image[known]), "%s reference output == image outside the hole" % name)
    am_gold = np.load(os.path.join(d, "attention_argmax.npy"))
    check(am_gold.dtype == np.int32 and am_gold.shape == (H // 8, W // 8), "%s attention_argmax dtype/shape" % name)
    mism = int((r["attention_argmax"] != am_gold).sum())
    print("  attention_argmax mismatches: %d of %d" % (mism, am_gold.size))
    allowed = int(am_gold.size * 0.001) if H * W >= 512 * 512 else 0
    check(mism <= allowed, "%s attention_argmax exact" % name)
    png_gold = pngio.read_png(os.path.join(d, "output.png"))
    lv = int(np.abs(R.output_to_png_array(r["output"]).astype(int) - png_gold.astype(int)).max())
    lv_self = int(np.abs(R.output_to_png_array(out_gold).astype(int) - png_gold.astype(int)).max())
    allowed_lv = int(np.floor(127.5 * t2max)) + 1
    print("  output.png: max level difference %d (allowed %d); output.png vs round(output.npy): %d"
          % (lv, allowed_lv, lv_self))
    check(lv <= allowed_lv, "%s output.png levels" % name)
    check(lv_self == 0, "%s output.png == round-half-up(output.npy)" % name)
    if f64:
        r64 = R.run_generator(gen, image, mask, dtype=np.float64)
        print("  own float32 vs float64: stage1 %.2e  stage2 %.2e  argmax mismatches %d"
              % (stats(r["stage1"], r64["stage1"])[0], stats(r["stage2"], r64["stage2"])[0],
                 int((r["attention_argmax"] != r64["attention_argmax"]).sum())))
        mx64 = stats(r64["stage2"], np.load(os.path.join(d, "stage2.npy")))[0]
        print("  golden stage2 vs own float64: max %.2e" % mx64)
    if os.path.exists(os.path.join(d, "disc_input.npy")):
        x = np.load(os.path.join(d, "disc_input.npy"))
        check(np.array_equal(x, np.concatenate([out_gold, mask], 0)), "%s disc_input == cat(output, mask)" % name)
        logits, u_after = R.run_discriminator(disc, x)
        lg_gold = np.load(os.path.join(d, "disc_logits.npy"))
        check(lg_gold.shape == logits.shape, "%s disc_logits shape" % name)
        dl = stats(logits, lg_gold)[0]
        ug = R.load_npz(os.path.join(d, "disc_u_after.npz"))
        du = max(stats(u_after[k], ug[k])[0] for k in ug)
        print("  discriminator: logits max %.2e (tol %.0e), u_after max %.2e (tol %.0e), %d logits"
              % (dl, TOL_DISC_LOGITS, du, TOL_DISC_U, logits.size))
        check(dl <= TOL_DISC_LOGITS, "%s disc logits" % name)
        check(du <= TOL_DISC_U, "%s disc u_after" % name)


def check_ca(d):
    print("== contextual_attention")
    f = np.load(os.path.join(d, "f.npy"))
    m = np.load(os.path.join(d, "mask.npy"))
    for fuse, fn in ((True, "y"), (False, "y_nofuse")):
        y = R.contextual_attention(f, f, m, fuse=fuse)
        mx, mn, p = stats(y, np.load(os.path.join(d, fn + ".npy")))
        print("  %-9s max %.2e  mean %.2e  p99.9 %.2e (tol %.0e)" % (fn, mx, mn, p, TOL_CA))
        check(mx <= TOL_CA, "contextual_attention %s" % fn)
    # the fixture must distinguish fuse on/off
    d_on_off = stats(np.load(os.path.join(d, "y.npy")), np.load(os.path.join(d, "y_nofuse.npy")))[0]
    print("  (y vs y_nofuse differ by %.2e max)" % d_on_off)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--oracle", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "Fixtures", "oracle"))
    ap.add_argument("--f64", action="store_true", help="also report the reference's own float32-vs-float64 error")
    ap.add_argument("--skip-oracle", action="store_true", help="only check the given CASE_DIRs")
    ap.add_argument("cases", nargs="*")
    a = ap.parse_args()
    gen = R.load_npz(os.path.join(a.oracle, "generator.npz"))
    disc = R.load_npz(os.path.join(a.oracle, "discriminator.npz"))
    dirs = []
    if not a.skip_oracle:
        dirs = sorted(os.path.join(a.oracle, n) for n in os.listdir(a.oracle) if n.startswith("case_"))
    dirs += a.cases
    for d in dirs:
        check_case(d, gen, disc, a.f64)
    if not a.skip_oracle:
        check_ca(os.path.join(a.oracle, "contextual_attention"))
    if failures:
        print("\n%d check(s) FAILED" % len(failures))
        sys.exit(1)
    print("\nALL CHECKS PASSED")


if __name__ == "__main__":
    main()
