"""graphrun on one thread count against another, interleaved: the benchmark inputs (the same
image and mask as paired_ort.py and bench_peers.py), graphrun started afresh each time as a
user runs it, the thread counts alternating so both see the same machine load. Reports, per
pair and over all pairs, the ratio of graphrun's reported fill time ("in X s": convert, plan,
run, composite) and of the whole process's wall time.

This machine is a shared VM whose speed moves by 20-50 % within seconds, so one pair says
little; the median of the per-pair ratios over 20 or more pairs is the figure to quote. What
the machine itself gives at that moment is measured alongside (--ceiling, on by default): a
single-threaded NumPy/OpenBLAS matrix product (FMA-bound, like graphrun's GEMMs) alone, then
as many copies at once as the larger thread count; the ceiling is how much more work the
copies did together than the one alone. graphrun's ratio over that ceiling is its parallel
efficiency on this machine, whatever the neighbours are doing.

Usage: python paired_threads.py [--size 512] [--pairs 20] [--threads 1,2] [--no-ceiling] [--graphrun-args ...]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

# A single-threaded float32 matrix-product loop (about 0.8 s here), timed inside the process.
PROBE = """
import time, numpy as np
a = np.random.default_rng(0).random((768, 768), dtype=np.float32)
a @ a
t = time.perf_counter()
for _ in range(60): a @ a
print(time.perf_counter() - t)
"""

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)


def quartiles(values):
    v = sorted(values)
    return v[len(v) // 4], statistics.median(v), v[(3 * len(v)) // 4]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--pairs", type=int, default=20)
    ap.add_argument("--threads", default="1,2", help="the two thread counts, fewer first (default 1,2)")
    ap.add_argument("--weights", default=os.path.join(ROOT, "Tests", "Fixtures", "oracle", "generator.npz"))
    ap.add_argument("--bin", default=os.path.join(ROOT, ".build", "release"))
    ap.add_argument("--no-ceiling", dest="ceiling", action="store_false", help="skip the machine's own parallel ceiling")
    ap.add_argument("--graphrun-args", nargs=argparse.REMAINDER, default=[])
    args = ap.parse_args()
    few, many = (int(t) for t in args.threads.split(","))
    from deepfill_torch import benchmark_inputs
    from bench_peers import write_png
    n = args.size
    image, mask = benchmark_inputs(n, n)
    work = tempfile.mkdtemp(prefix="fillgraph-threads-")
    model = os.path.join(work, "model.bin")
    subprocess.run([os.path.join(args.bin, "graphc"), "compile", os.path.join(ROOT, "Graphs", "deepfill_v2.yaml"),
                    "--weights", args.weights, "-o", model, "-q"], check=True)
    write_png(os.path.join(work, "photo.png"), ((image[0].permute(1, 2, 0).numpy() + 1) * 127.5).round().clip(0, 255))
    write_png(os.path.join(work, "mask.png"), (mask[0, 0].numpy() * 255).round())

    def run(threads):
        out = os.path.join(work, f"out{threads}.png")
        command = [os.path.join(args.bin, "graphrun"), model, "-i", os.path.join(work, "photo.png"), "-m", os.path.join(work, "mask.png"),
                   "-o", out, "--threads", str(threads)] + args.graphrun_args
        t = time.perf_counter()
        r = subprocess.run(command, check=True, capture_output=True, text=True)
        wall = time.perf_counter() - t
        m = re.search(r" in ([0-9.]+) s on ", r.stdout)
        if not m:
            sys.exit(f"graphrun printed no run time: {r.stdout!r}")
        return float(m.group(1)), wall

    def probe(copies):
        """Seconds of the slowest of `copies` single-threaded matrix-product loops run at once."""
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        procs = [subprocess.Popen([sys.executable, "-c", PROBE], env=env, stdout=subprocess.PIPE, text=True) for _ in range(copies)]
        return max(float(p.communicate()[0]) for p in procs)

    run(few), run(many)  # warm the page cache
    fills, walls, ceilings = [], [], []
    for i in range(args.pairs):
        a, b = run(few), run(many)
        fills.append(a[0] / b[0])
        walls.append(a[1] / b[1])
        line = (f"pair {i + 1}: {few} thread(s) {a[0]:.2f} s ({a[1]:.2f} s process), {many} threads {b[0]:.2f} s ({b[1]:.2f} s process), "
                f"ratio {fills[-1]:.2f} ({walls[-1]:.2f})")
        if args.ceiling:
            alone, together = probe(few), probe(many)
            ceilings.append(many / few * alone / together)
            line += f"; machine ceiling {ceilings[-1]:.2f}"
        print(line, flush=True)
    with open(os.path.join(work, f"out{few}.png"), "rb") as f1, open(os.path.join(work, f"out{many}.png"), "rb") as f2:
        same = f1.read() == f2.read()
    for name, ratios in (("fill time", fills), ("process wall", walls)):
        q1, med, q3 = quartiles(ratios)
        print(f"{n}x{n}, {few} -> {many} threads, {name}: median ratio {med:.3f} (quartiles {q1:.3f}-{q3:.3f}, "
              f"min {min(ratios):.2f}, max {max(ratios):.2f}) over {len(ratios)} pairs")
    if ceilings:
        q1, med, q3 = quartiles(ceilings)
        print(f"machine ceiling ({many} matrix-product loops at once against {few}): median {med:.3f} (quartiles {q1:.3f}-{q3:.3f}, "
              f"min {min(ceilings):.2f}, max {max(ceilings):.2f})")
        q1, med, q3 = quartiles([f / c for f, c in zip(fills, ceilings)])
        print(f"graphrun's fill-time ratio over the ceiling of its pair: median {med:.3f} (quartiles {q1:.3f}-{q3:.3f})")
    print("outputs of the two thread counts: " + ("the same bytes" if same else "DIFFERENT"))


if __name__ == "__main__":
    main()
