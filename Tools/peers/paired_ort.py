"""graphrun's whole process against ONNX Runtime's session.run, interleaved: the same weights,
image and mask (bench_peers.py's benchmark inputs), one ORT session kept warm in this process,
graphrun started afresh each time as a user runs it. Pairs alternate, so both see the same
machine load; the ratio is reported per pair and as the median of the pairs.

Usage: python paired_ort.py [--size 512] [--pairs 9] [--threads 2] [--graphrun-args ...]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--pairs", type=int, default=9)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--weights", default=os.path.join(ROOT, "Tests", "Fixtures", "oracle", "generator.npz"))
    ap.add_argument("--bin", default=os.path.join(ROOT, ".build", "release"))
    ap.add_argument("--graphrun-args", nargs=argparse.REMAINDER, default=[])
    args = ap.parse_args()
    import torch
    import onnxruntime as ort
    from deepfill_torch import DeepFillV2, benchmark_inputs
    from bench_peers import write_png
    torch.set_num_threads(args.threads)
    n = args.size
    image, mask = benchmark_inputs(n, n)
    work = tempfile.mkdtemp(prefix="fillgraph-paired-")
    net = DeepFillV2(dict(np.load(args.weights)), n, n).eval()
    onnx = os.path.join(work, "deepfill.onnx")
    with torch.no_grad():
        torch.onnx.export(net, (image, mask), onnx, input_names=["image", "mask"], output_names=["completed"], opset_version=17, dynamo=False)
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session = ort.InferenceSession(onnx, options, providers=["CPUExecutionProvider"])
    feed = {"image": image.numpy(), "mask": mask.numpy()}
    model = os.path.join(work, "model.bin")
    subprocess.run([os.path.join(args.bin, "graphc"), "compile", os.path.join(ROOT, "Graphs", "deepfill_v2.yaml"),
                    "--weights", args.weights, "-o", model, "-q"], check=True)
    write_png(os.path.join(work, "photo.png"), ((image[0].permute(1, 2, 0).numpy() + 1) * 127.5).round().clip(0, 255))
    write_png(os.path.join(work, "mask.png"), (mask[0, 0].numpy() * 255).round())
    command = [os.path.join(args.bin, "graphrun"), model, "-i", os.path.join(work, "photo.png"), "-m", os.path.join(work, "mask.png"),
               "-o", os.path.join(work, "out.png"), "--threads", str(args.threads), "--quiet"] + args.graphrun_args
    session.run(None, feed)
    subprocess.run(command, check=True)
    ratios = []
    for i in range(args.pairs):
        t = time.perf_counter(); session.run(None, feed); o = time.perf_counter() - t
        t = time.perf_counter(); subprocess.run(command, check=True); g = time.perf_counter() - t
        ratios.append(o / g)
        print(f"pair {i + 1}: onnxruntime session.run {o:.3f} s, graphrun process {g:.3f} s, ratio {o / g:.2f}", flush=True)
    print(f"{n}x{n}, {args.threads} threads: median ratio {statistics.median(ratios):.2f} (min {min(ratios):.2f}, max {max(ratios):.2f}) over {len(ratios)} pairs")


if __name__ == "__main__":
    main()
