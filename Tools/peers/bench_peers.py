"""Fillgraph against PyTorch eager, torch.compile (freezing) and ONNX Runtime on the same DeepFill v2
generator, the same weights and the same inputs, measured side by side in one run.

Run it through Tools/peers/run.sh, which prepares a virtual environment outside the repository.
Each (engine, size) pair runs in a fresh child process: one warm-up, then --runs timed runs
(median, min, max), and the child's peak RSS. Before timing, each peer's output on the oracle's
64x64 case is compared with the oracle (the network is the same, not just similar).
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def peak_rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child(engine, size, runs, threads, weights):
    import torch
    sys.path.insert(0, HERE)
    from deepfill_torch import DeepFillV2, benchmark_inputs
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    h, w = size
    W = dict(np.load(weights))
    image, mask = benchmark_inputs(h, w)
    net = DeepFillV2(W, h, w).eval()
    if engine == "eager":
        def call():
            with torch.inference_mode():
                return net(image, mask)
    elif engine == "compile":
        import torch._inductor.config as inductor
        inductor.freezing = True
        compiled = torch.compile(net)

        def call():
            with torch.no_grad():
                return compiled(image, mask)
    elif engine == "onnxruntime":
        import onnxruntime as ort
        path = os.path.join(tempfile.mkdtemp(prefix="fillgraph-peers-"), "deepfill.onnx")
        with torch.no_grad():
            torch.onnx.export(net, (image, mask), path, input_names=["image", "mask"], output_names=["completed"],
                              opset_version=17, dynamo=False)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        feed = {"image": image.numpy(), "mask": mask.numpy()}

        def call():
            return session.run(None, feed)
    else:
        raise SystemExit(f"unknown engine {engine}")
    call()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    times.sort()
    print(json.dumps({"median": times[len(times) // 2], "min": times[0], "max": times[-1], "peak_rss_bytes": peak_rss()}))


def write_png(path, rgb):
    """8-bit grey or RGB PNG (filter 0), enough for benchmark inputs without PIL."""
    import struct
    import zlib
    h, w = rgb.shape[:2]
    channels = 1 if rgb.ndim == 2 else rgb.shape[2]
    raw = b"".join(b"\x00" + rgb[y].astype(np.uint8).tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0 if channels == 1 else 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def graphrun_process(n, args):
    """graphrun as a user runs it, the whole process timed from outside: the same weights
    compiled to model.bin once, the benchmark photo and mask as PNG files."""
    import torch
    sys.path.insert(0, HERE)
    from deepfill_torch import benchmark_inputs
    work = tempfile.mkdtemp(prefix="fillgraph-graphrun-")
    bin_dir = os.path.dirname(args.graphbench)
    model = os.path.join(work, "model.bin")
    subprocess.run([os.path.join(bin_dir, "graphc"), "compile", os.path.join(ROOT, "Graphs", "deepfill_v2.yaml"),
                    "--weights", args.weights, "-o", model, "-q"], check=True)
    image, mask = benchmark_inputs(n, n)
    write_png(os.path.join(work, "photo.png"), ((image[0].permute(1, 2, 0).numpy() + 1) * 127.5).round().clip(0, 255))
    write_png(os.path.join(work, "mask.png"), (mask[0, 0].numpy() * 255).round())
    command = [os.path.join(bin_dir, "graphrun"), model, "-i", os.path.join(work, "photo.png"), "-m", os.path.join(work, "mask.png"),
               "-o", os.path.join(work, "out.png"), "--threads", str(args.threads), "--quiet"]
    subprocess.run(command, check=True)
    times = []
    for _ in range(args.runs):
        t = time.perf_counter()
        subprocess.run(command, check=True)
        times.append(time.perf_counter() - t)
    times.sort()
    return {"median": times[len(times) // 2], "min": times[0], "max": times[-1], "peak_rss_bytes": 0}


def check_peers(weights):
    """The PyTorch network reproduces the oracle exactly enough to be 'the same network'."""
    import torch
    sys.path.insert(0, HERE)
    from deepfill_torch import DeepFillV2
    d = os.path.join(ROOT, "Tests", "Fixtures", "oracle", "case_64x64")
    image = torch.from_numpy(np.load(os.path.join(d, "image.npy")))[None]
    mask = torch.from_numpy(np.load(os.path.join(d, "mask.npy")))[None]
    with torch.inference_mode():
        out = DeepFillV2(dict(np.load(weights)), 64, 64).eval()(image, mask)[0].numpy()
    return float(np.abs(out - np.load(os.path.join(d, "output.npy"))).max())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="256,512", help="square sizes, comma-separated")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--weights", default=os.path.join(ROOT, "Tests", "Fixtures", "oracle", "generator.npz"))
    ap.add_argument("--engines", default="fillgraph,graphrun,eager,compile,onnxruntime",
                    help="fillgraph (graphbench: Executor.run), graphrun (the whole process), eager, compile, onnxruntime")
    ap.add_argument("--graphbench", default=os.path.join(ROOT, ".build", "release", "graphbench"))
    ap.add_argument("--child", nargs=2, metavar=("ENGINE", "SIZE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        n = int(args.child[1])
        return child(args.child[0], (n, n), args.runs, args.threads, args.weights)

    import torch
    import onnxruntime
    print(f"torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, {args.threads} threads, "
          f"{args.runs} runs after 1 warm-up; weights {os.path.relpath(args.weights, ROOT)}", flush=True)
    print(f"PyTorch network vs oracle case_64x64 output: max |diff| = {check_peers(args.weights):.2e}", flush=True)
    engines = args.engines.split(",")
    results = {}
    for n in [int(s) for s in args.sizes.split(",")]:
        for engine in engines:
            if engine == "graphrun":
                results[(n, engine)] = graphrun_process(n, args)
                r = results[(n, engine)]
                print(f"  {n}x{n} {engine:12s} median {r['median']:.3f} s  (min {r['min']:.3f}, max {r['max']:.3f})  "
                      f"whole process: start, load, decode, run, encode, write", flush=True)
                continue
            if engine == "fillgraph":
                out = subprocess.run([args.graphbench, "--graph", os.path.join(ROOT, "Graphs", "deepfill_v2.yaml"),
                                      "--weights", args.weights, "--sizes", f"{n}x{n}", "--runs", str(args.runs),
                                      "--threads", str(args.threads), "--json"], capture_output=True, text=True, check=True)
                line = [l for l in out.stdout.splitlines() if l.startswith("{")][-1]
            else:
                out = subprocess.run([sys.executable, __file__, "--child", engine, str(n), "--runs", str(args.runs),
                                      "--threads", str(args.threads), "--weights", args.weights],
                                     capture_output=True, text=True)
                if out.returncode != 0:
                    print(f"{engine} at {n}: failed\n{out.stderr[-2000:]}", flush=True)
                    continue
                line = [l for l in out.stdout.splitlines() if l.startswith("{")][-1]
            results[(n, engine)] = json.loads(line)
            r = results[(n, engine)]
            print(f"  {n}x{n} {engine:12s} median {r['median']:.3f} s  (min {r['min']:.3f}, max {r['max']:.3f})  "
                  f"peak RSS {r['peak_rss_bytes'] / 1e6:.0f} MB", flush=True)
    print()
    print("| size | engine | median s | min s | max s | peak RSS MB | engine / Fillgraph (time) |")
    print("|---|---|---|---|---|---|---|")
    for (n, engine), r in results.items():
        base = results.get((n, "fillgraph"))
        ratio = f"{r['median'] / base['median']:.2f}x" if base else "-"
        print(f"| {n}x{n} | {engine} | {r['median']:.3f} | {r['min']:.3f} | {r['max']:.3f} | "
              f"{r['peak_rss_bytes'] / 1e6:.0f} | {ratio} |")


if __name__ == "__main__":
    main()
