#!/usr/bin/env python3
"""Classical inpainting baselines for an eval run, scored by `graphrun score`.

A Fillgraph number means little alone: this fills the very same cases with three classical
methods, so the model's results.md can be read next to theirs. The metrics are not computed
here but by the Swift `graphrun score`, so that every row of a comparison is measured by one
piece of code.

    python3 Tools/baselines.py EVAL [--graphrun PATH] [--methods telea,ns,patchmatch] [--radius 3]

EVAL is a directory made by `graphrun eval ... --out EVAL`: inputs/<id>.png (truth, RGB),
masks/<id>.png (255 = hole) and fills/<id>.png. For each method this writes
EVAL/baselines/<method>/fills/<id>.png (known pixels copied from the input, so only holes
differ), then runs `graphrun score` into EVAL/baselines/<method>/ (results.json, results.md,
grid.png) and prints seconds per image.

Methods: telea = OpenCV Telea (fast marching), ns = OpenCV Navier-Stokes, both with
--radius as their neighbourhood; patchmatch = PatchMatch (Barnes et al. 2009) from the
pypatchmatch package, patch radius 3 (7x7 patches), fixed seed so reruns are identical.

Dependencies (PyPI), in a venv outside the repository:
    python3 -m venv ~/.venvs/fillgraph-baselines
    ~/.venvs/fillgraph-baselines/bin/pip install opencv-python-headless pypatchmatch numpy
and run it with ~/.venvs/fillgraph-baselines/bin/python Tools/baselines.py EVAL.
"""
import argparse
import shlex
import os
import subprocess
import sys
import time
from pathlib import Path

INSTALL = ("python3 -m venv ~/.venvs/fillgraph-baselines && "
           "~/.venvs/fillgraph-baselines/bin/pip install opencv-python-headless pypatchmatch numpy")
PATCH_SIZE = 3  # pypatchmatch's radius; its default of 15 (31x31 patches) is far slower
SEED = 0

try:
    import cv2
    import numpy as np
except ImportError as e:
    sys.exit(f"error: {e}. Install the dependencies in a venv and run with its python:\n  {INSTALL}")


def patchmatch_fill(image, hole, _radius):
    # Imported on first use so telea/ns work without pypatchmatch.
    try:
        from patchmatch import patch_match
    except ImportError as e:
        sys.exit(f"error: {e} (needed for --methods patchmatch). Install it with:\n  {INSTALL}")
    if not patch_match.patchmatch_available:
        sys.exit("error: pypatchmatch is installed but its native library did not load")
    patch_match.set_random_seed(SEED)  # every inpaint restarts from this seed: reproducible
    return patch_match.inpaint(image, hole, patch_size=PATCH_SIZE)


METHODS = {  # id: (name passed to --method, fill(image_bgr, hole_u8, radius))
    "telea": ("OpenCV Telea (radius {r})", lambda im, h, r: cv2.inpaint(im, h, r, cv2.INPAINT_TELEA)),
    "ns": ("OpenCV Navier-Stokes (radius {r})", lambda im, h, r: cv2.inpaint(im, h, r, cv2.INPAINT_NS)),
    "patchmatch": (f"PatchMatch (patch {2 * PATCH_SIZE + 1}x{2 * PATCH_SIZE + 1})", patchmatch_fill),
}


def read(path, flags):
    image = cv2.imread(str(path), flags)
    if image is None:
        sys.exit(f"error: cannot read {path}")
    return image


def main():
    repo = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("eval", type=Path, help="directory made by `graphrun eval --out`")
    ap.add_argument("--graphrun", type=Path, default=repo / ".build/release/graphrun")
    ap.add_argument("--methods", default="telea,ns,patchmatch")
    ap.add_argument("--radius", type=int, default=3, help="OpenCV inpainting radius (pixels)")
    args = ap.parse_args()

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        sys.exit(f"error: unknown method(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(METHODS)}")
    if args.radius < 1:
        sys.exit("error: --radius must be at least 1")
    # Fail before minutes of filling, not after.
    if not (args.graphrun.is_file() and os.access(args.graphrun, os.X_OK)):
        sys.exit(f"error: {args.graphrun} is not an executable; build it (swift build -c release) or pass --graphrun")
    inputs, masks = args.eval / "inputs", args.eval / "masks"
    ids = sorted(p.stem for p in inputs.glob("*.png"))
    if not ids:
        sys.exit(f"error: {inputs} holds no .png; is {args.eval} a `graphrun eval --out` directory?")
    missing = [i for i in ids if not (masks / f"{i}.png").is_file()]
    if missing:
        sys.exit(f"error: {masks} lacks {', '.join(missing[:5])}.png")

    timings = []
    for method in methods:
        name = METHODS[method][0].format(r=args.radius)
        fill = METHODS[method][1]
        out = args.eval / "baselines" / method
        fills = out / "fills"
        fills.mkdir(parents=True, exist_ok=True)
        for old in fills.glob("*.png"):  # a stale fill from an earlier, larger run would be scored too
            old.unlink()
        seconds = 0.0
        for n, i in enumerate(ids, 1):
            # BGR throughout: all three methods treat the channels alike, and imwrite turns it back.
            truth = read(inputs / f"{i}.png", cv2.IMREAD_COLOR)
            # Same rule as graphrun's Holes.fromMaskImage: above half scale is a hole.
            hole = (read(masks / f"{i}.png", cv2.IMREAD_GRAYSCALE) > 127).astype(np.uint8) * 255
            if hole.shape != truth.shape[:2]:
                sys.exit(f"error: {i}: mask {hole.shape[::-1]} and input {truth.shape[1::-1]} differ in size")
            start = time.perf_counter()
            filled = fill(truth, hole, args.radius)
            seconds += time.perf_counter() - start
            # Only hole pixels may differ from the truth, whatever a method does at their border.
            result = np.where(hole[..., None] != 0, filled, truth)
            if not cv2.imwrite(str(fills / f"{i}.png"), result):
                sys.exit(f"error: cannot write {fills / f'{i}.png'}")
            if sys.stderr.isatty():
                print(f"\r{method}: {n}/{len(ids)}", end="", file=sys.stderr, flush=True)
        if sys.stderr.isatty():
            print(file=sys.stderr)
        per_image = seconds / len(ids)
        timings.append((method, name, per_image))
        print(f"{method}: {per_image:.4f} s/image over {len(ids)} images; scoring")

        cmd = [str(args.graphrun), "score", "--truth", str(inputs), "--masks", str(masks),
               "--fills", str(fills), "--method", name, "--out", str(out),
               "--seconds-per-image", f"{per_image:.6f}"]
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.stdout:
            print(run.stdout, end="")
        if run.returncode != 0:
            message = (run.stderr or run.stdout).strip() or "(no message)"
            sys.exit(f"error: `{shlex.join(cmd)}` failed with exit code {run.returncode}:\n{message}")
        if run.stderr:
            print(run.stderr, end="", file=sys.stderr)

    print("\nseconds per image (fill only, one process):")
    for method, name, per_image in timings:
        print(f"  {method:<11} {per_image:9.4f}  {name}")


if __name__ == "__main__":
    main()
