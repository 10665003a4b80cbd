#!/usr/bin/env bash
# Measures a model against classical fills on the held-out photos and writes Docs/quality.md.
#
# Why: a number for our fills means little alone. This evaluates the model with `graphrun eval`
# on the 37 held-out photos of Tools/fetch-photos.sh (centre squares at 256², seeded official
# masks, several per photo), fills the very same cases with OpenCV Telea, OpenCV Navier–Stokes
# and PatchMatch (Tools/baselines.py), scores every method with the same Swift code
# (`graphrun score`), and tabulates the results.
#
# Usage: bash Tools/quality.sh [MODEL.bin] [--per-photo N] [--seed S] [--out DIR]
#   MODEL.bin   default: the shipped Models/deepfill_v2_demo/deepfill_v2_demo.bin
#   --per-photo masks per photo (default 5: 185 cases per mask kind)
#   --out       where the runs go (default /tmp/fillgraph-quality); Docs/quality.md is rewritten
# Needs: the photos (fetched on first use, ~240 MB of .debs) and a Python venv with
# opencv-python-headless, pypatchmatch and numpy (made on first use in ~/.venvs/fillgraph-baselines).
set -euo pipefail
cd "$(dirname "$0")/.."
model=Models/deepfill_v2_demo/deepfill_v2_demo.bin per_photo=5 seed=1 out=/tmp/fillgraph-quality
while [ $# -gt 0 ]; do
  case "$1" in
    --per-photo) per_photo=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    -*) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) model=$1; shift ;;
  esac
done
[ -f "$model" ] || { echo "error: no model at $model" >&2; exit 2; }

[ -d photos/heldout ] || bash Tools/fetch-photos.sh photos
venv=~/.venvs/fillgraph-baselines
if ! "$venv/bin/python" -c 'import cv2, numpy, patchmatch' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q opencv-python-headless pypatchmatch numpy
fi
swift build -c release --product graphrun >/dev/null
count=$((37 * per_photo))
mkdir -p "$out"
for masks in brush rect+brush; do
  dir="$out/${masks/+/_}"
  echo "== $masks: $count cases"
  .build/release/graphrun eval "$model" --photos photos/heldout --masks "$masks" --count "$count" --seed "$seed" --out "$dir" -q >/dev/null
  "$venv/bin/python" Tools/baselines.py "$dir" --graphrun .build/release/graphrun >/dev/null
done

python3 - "$out" "$model" "$count" "$seed" > Docs/quality.md <<'PY'
import json, sys
out, model, count, seed = sys.argv[1:]
def load(path):
    with open(path) as f:
        return json.load(f)
print("# Fill quality\n")
print(f"`bash Tools/quality.sh` wrote this page: `graphrun eval {model}`")
print("on the 37 held-out photos of `Tools/fetch-photos.sh` (centre squares shrunk to 256², never")
print(f"seen in training), {int(count) // 37} seeded official masks per photo ({count} cases per mask kind,")
print(f"seed {seed}), and the very same cases filled by `Tools/baselines.py`. Every row is scored by the same code")
print("(`graphrun score`). ℓ1 and ℓ2 (mean squared error) are over the whole image in [0, 1], the")
print("measures of the paper's Table 1; PSNR and SSIM over the whole image and inside the hole.\n")
for kind, title in (("brush", "Brush strokes"), ("rect_brush", "Rectangle ∪ brush strokes (the training masks)")):
    base = f"{out}/{kind}"
    runs = [load(f"{base}/results.json")] + [load(f"{base}/baselines/{m}/results.json") for m in ("telea", "ns", "patchmatch")]
    hashes = {r["maskHash"] for r in runs}
    assert len(hashes) == 1, f"methods saw different masks: {hashes}"
    first = runs[0]
    print(f"## {title}\n")
    print(f"{first['overall']['count']} cases, mean hole {first['overall']['holePercent']:.1f} %, mask hash {first['maskHash']}.\n")
    print("| method | ℓ1 % | ℓ2 % | PSNR dB | PSNR hole dB | SSIM | SSIM hole | s / image |")
    print("|---|---|---|---|---|---|---|---|")
    for r in runs:
        o = r["overall"]
        t = f"{r['secondsPerImage']:.2f}" if r.get("secondsPerImage") else "—"
        print(f"| {r['method']} | {o['l1Percent']:.2f} | {o['l2Percent']:.3f} | {o['psnr']:.2f} | {o['psnrHole']:.2f} | "
              f"{o['ssim']:.4f} | {o['ssimHole']:.4f} | {t} |")
    print("\nℓ1 % by hole ratio:\n")
    bins = [b["range"] for b in first["bins"]]
    print("| method | " + " | ".join(f"{b} ({n['summary']['count']})" for b, n in zip(bins, first["bins"])) + " |")
    print("|---|" + "---|" * len(bins))
    for r in runs:
        by = {b["range"]: b["summary"]["l1Percent"] for b in r["bins"]}
        print(f"| {r['method']} | " + " | ".join(f"{by[b]:.2f}" if b in by else "—" for b in bins) + " |")
    print()
print("Seconds per image: the model's on this machine's 2 threads (graphrun, one network run each), the")
print("baselines' in their Python process (OpenCV and PatchMatch on one thread). Grids of the first")
print("cases are in each run's grid.png (masked input · fill · original).")
PY
echo "wrote Docs/quality.md (runs in $out)"
