#!/usr/bin/env bash
# The ablation study: trains DeepFill v2 and each ablation variant from the same seed for the
# same number of iterations (graphtrain fit), evaluates each on the held-out photos with two
# mask kinds (graphrun eval), and writes Docs/ablations.md (a table: ℓ1, ℓ2, PSNR and SSIM by
# mask kind, plus time per iteration) and Docs/ablations.png (the same held-out photos filled
# by every variant, drawn by graphtrain samples --compare).
#
#   bash Tools/ablate.sh [--steps 150] [--cnum 16] [--dcnum 32] [--batch 8] [--size 128]
#                        [--photos photos] [--runs runs/ablate] [--threads N] [--only NAME,...]
#
# The defaults fit in about an hour on 2 cores. Runs resume: a variant already at --steps is
# only evaluated again, so an interrupted study goes on where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."

steps=150 cnum=16 dcnum=32 batch=8 size=128 photos=photos runs=runs/ablate threads="" only=""
while [ $# -gt 0 ]; do
    case "$1" in
        --steps) steps=$2; shift 2 ;;
        --cnum) cnum=$2; shift 2 ;;
        --dcnum) dcnum=$2; shift 2 ;;
        --batch) batch=$2; shift 2 ;;
        --size) size=$2; shift 2 ;;
        --photos) photos=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --threads) threads=$2; shift 2 ;;
        --only) only=$2; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "ablate.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

[ -d "$photos/train" ] && [ -d "$photos/heldout" ] || bash Tools/fetch-photos.sh "$photos"
swift build -c release --product graphtrain >&2
swift build -c release --product graphrun >&2
bin=$(swift build -c release --show-bin-path)
threadflag=()
[ -n "$threads" ] && threadflag=(--threads "$threads")

# name | generator | discriminator | discriminator params | extra fit flags | what changes
variants=(
    "base|deepfill_v2.yaml|sn_patchgan.yaml|||the official model: gated convolutions, contextual attention, SN-PatchGAN"
    "no_attention|deepfill_v2_no_attention.yaml|sn_patchgan.yaml|||refinement without the contextual-attention branch"
    "vanilla_conv|deepfill_v2_vanilla.yaml|sn_patchgan.yaml|||convolution + ELU instead of gated convolution"
    "global_gan|deepfill_v2.yaml|global_gan.yaml|size=$size||one spectral-normalised discriminator over the whole image, one score per image"
    "sn_off|deepfill_v2.yaml|sn_patchgan_no_sn.yaml|||the PatchGAN discriminator without spectral normalisation"
    "sn_grad_sigma|deepfill_v2.yaml|sn_patchgan.yaml||--sn-grad sigma|spectral norm's gradient through σ only (PyTorch's spectral_norm)"
)

mkdir -p "$runs"
names=()
for v in "${variants[@]}"; do
    IFS='|' read -r name gen disc dparam fitflags what <<<"$v"
    if [ -n "$only" ] && [[ ",$only," != *",$name,"* ]]; then continue; fi
    names+=("$name")
    run="$runs/$name"
    if [ ! -f "$run/config.yaml" ]; then
        dflags=(--dparam "cnum=$dcnum")
        [ -n "$dparam" ] && dflags+=(--dparam "$dparam")
        "$bin/graphtrain" init "$run" --generator "Graphs/$gen" --discriminator "Graphs/$disc" \
            --param "cnum=$cnum" "${dflags[@]}" --random-init --seed 1
    fi
    echo "== $name: $what" >&2
    # shellcheck disable=SC2086
    "$bin/graphtrain" fit "$run" --data "$photos/train" --steps "$steps" --batch "$batch" --size "${size}x${size}" \
        --checkpoint-every 10 "${threadflag[@]}" $fitflags > "$run/fit.jsonl"
    "$bin/graphtrain" export "$run" -o "$run/model.bin"
    for masks in brush rect+brush; do
        "$bin/graphrun" eval "$run/model.bin" --photos "$photos/heldout" --size "$size" --masks "$masks" --seed 1 \
            --out "$run/eval-$masks" "${threadflag[@]}" --quiet > /dev/null
    done
done

compare=()
for name in "${names[@]:1}"; do compare+=(--compare "$runs/$name"); done
"$bin/graphtrain" samples "$runs/${names[0]}" --data "$photos/heldout" --count 4 "${compare[@]}" -o Docs/ablations.png

python3 - "$runs" "$steps" "$cnum" "$dcnum" "$batch" "$size" "${variants[@]}" <<'EOF'
import json, os, sys
runs, steps, cnum, dcnum, batch, size = sys.argv[1:7]
rows = [v.split("|") for v in sys.argv[7:]]
out = ["# Ablations", "",
       f"Every variant trained by `Tools/ablate.sh` from the same seed (1) for {steps} iterations of batch {batch} at "
       f"{size}², generator cnum {cnum}, discriminator cnum {dcnum}, the official recipe otherwise (Adam 1e-4, "
       "β = (0.5, 0.999), hinge loss, ℓ1 : adversarial = 1 : 1, rect+brush masks, random crops and flips), on the 165 "
       "training photos; then evaluated by `graphrun eval` on the 37 held-out photos (centre squares, seeded masks: the "
       "same cases for every variant). Errors over the whole image in [0, 1]; PSNR and SSIM inside the hole. "
       "Time per iteration is the mean over the run after its first iteration, on the 2-core machine that wrote this file.", "",
       "| variant | what changes | masks (mean hole) | ℓ1 % | ℓ2 % | PSNR hole dB | SSIM hole | s / iteration |",
       "|---|---|---|---|---|---|---|---|"]
for name, gen, disc, dparam, fitflags, what in rows:
    run = os.path.join(runs, name)
    if not os.path.exists(os.path.join(run, "eval-brush", "results.json")):
        continue
    times = [json.loads(l)["seconds"] for l in open(os.path.join(run, "losses.jsonl")) if l.strip()][1:]
    per = sum(times) / max(1, len(times))
    for i, masks in enumerate(["brush", "rect+brush"]):
        r = json.load(open(os.path.join(run, f"eval-{masks}", "results.json")))["overall"]
        out.append(f"| {name if i == 0 else ''} | {what if i == 0 else ''} | {masks} ({r['holePercent']:.1f} %) | {r['l1Percent']:.2f} | "
                   f"{r['l2Percent']:.3f} | {r['psnrHole']:.2f} | {r['ssimHole']:.3f} | {f'{per:.2f}' if i == 0 else ''} |")
out += ["", "![The same held-out photos, filled by each variant](ablations.png)", "",
        "Columns: the input with its hole, each variant's completed image (in the table's order), the original.", ""]
open("Docs/ablations.md", "w").write("\n".join(out))
print("wrote Docs/ablations.md and Docs/ablations.png")
EOF
