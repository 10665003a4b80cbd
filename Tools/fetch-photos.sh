#!/usr/bin/env bash
# Fetches Fillgraph's photo sets from Debian data packages (listed in shared/docs/photos.md):
# 165 training photos (packages A–E) and 37 held-out scene photos (F–H).
#
# Why this way: no data-set host is reachable from our machines, but Debian's mirrors are, and
# nine data packages ship real photographs. We only *download* the .debs (`apt-get download`) and
# unpack them with `dpkg-deb -x` into a temp folder: installing would drag in dependencies (and
# tuxpaint-data's 161 MB of stamps) and scatter files over the system. The photos carry copyleft
# or attribution licences, so they are never committed: DEST is git-ignored, and DEST/LICENSES.md
# records the package, licence and (where the package says) author of every file.
#
# Package A (gcompris-qt-data) keeps its photos as WebP inside Qt .rcc resource bundles; a small
# embedded python3 program (standard library only) unpacks them and `dwebp` turns them into PNG,
# so the Swift side only has to read PNG and JPEG.
#
# Usage: bash Tools/fetch-photos.sh [DEST]      (DEST defaults to photos/ at the repository root)
# Result: DEST/train/ (165 files), DEST/heldout/ (37 files), DEST/LICENSES.md,
#         DEST/MANIFEST.sha256, DEST/licenses/ (the packages' copyright files), DEST/.debs/ (cache).
# Running it again only re-checks MANIFEST.sha256 when everything is in place.
set -euo pipefail

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
case "${1:-}" in -h|--help) usage; exit 0 ;; esac
[ $# -le 1 ] || { usage >&2; exit 2; }

repo=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$repo/photos}
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
cache=$dest/.debs
want_train=165 want_heldout=37

# letter package debian-12-version licence (licence from photos.md; per-file where a package says so)
packages=(
  "A gcompris-qt-data 3.1-2 per-image (resource README): CC-BY-SA/CC-BY 2.0-4.0, CC0, public domain"
  "B tuxpaint-data 1:0.9.28-sdl2-1 GPL-2+"
  "C palapeli-data 4:22.12.3-1 public domain (3) / GFDL (2), package-wide"
  "D plasma-workspace-data 4:5.27.5-2+deb12u2 CC0-1.0 (SPDX sidecar)"
  "E gnome-control-center-data 1:43.6-2~deb12u1 GPL-2+/GPL-3+/LGPL/CC0 (package-wide)"
  "F plasma-workspace-wallpapers 4:5.27.5-2 LGPL-3"
  "G mate-backgrounds 1.26.0-1 GPL-2+"
  "H lomiri-wallpapers-16.04 20.04.0-2 per-file (debian/copyright): CC-BY-4.0/CC-BY-SA/CC0"
  "H lomiri-wallpapers-20.04 20.04.0-2 per-file (debian/copyright): CC-BY-4.0/CC-BY-SA/CC0"
)
declare -A expect=([A]=106 [B]=19 [C]=5 [D]=20 [E]=15 [F]=11 [G]=12 [H]=14)
faces=(bicycle book calculator cat coffee2 flower2 gamepad guitar2 headphones hummingbird mountain
       plane surfer tomatoes tree)
wallpapers=(BytheWater ColdRipple ColorfulCups DarkestHour EveningGlow FallenLeaf Grey Kite
            OneStandsOut Path summer_1am)
lomiri=(Bridge_by_Sander_Klootwijk Dragonfly_by_Bolly Picture_0B_by_freespace Picture_1A_by_freespace
        Wine_by_Jakkub_Mede aitzgorri_by_Aitzol_Berasategi free_by_Peter_Nerlich
        friends_by_Aitzol_Berasategi greentock_by_Peter_Nerlich life_by_Aitzol_Berasategi
        picosdeeuropa_by_Aitzol_Berasategi seeding_by_Clements_Engelhardt
        sunset_by_Aitzol_Berasategi Kleiber_by_Lukas_Baubkus)
a_activities=(erase explore_monuments explore_world_animals explore_farm_animals)

count() { find "$1" -maxdepth 1 -type f 2>/dev/null | wc -l; }

# Quick path: a complete, unmodified set needs no network and no unpacking.
if [ -s "$dest/MANIFEST.sha256" ] && [ "$(count "$dest/train")" -eq $want_train ] \
   && [ "$(count "$dest/heldout")" -eq $want_heldout ] \
   && (cd "$dest" && sha256sum --quiet -c MANIFEST.sha256 >/dev/null 2>&1); then
  echo "photos up to date in $dest ($want_train train, $want_heldout held-out)"
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
apt_updated=""
apt_update() { [ -n "$apt_updated" ] || { echo "apt-get update"; $sudo apt-get update -qq; apt_updated=1; }; }

command -v python3 >/dev/null || { echo "error: python3 is needed to unpack Qt .rcc bundles" >&2; exit 1; }
if ! command -v dwebp >/dev/null; then
  echo "installing webp (dwebp) to convert package A's WebP photos"
  apt_update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq webp >/dev/null
fi

# 1. Download (cache reused). As root, apt warns that its _apt sandbox user cannot write into
#    DEST; naming root as the sandbox user for this download avoids that harmless warning.
mkdir -p "$cache"
apt_opts=()
[ -n "$sudo" ] || apt_opts=(-o APT::Sandbox::User=root)
for entry in "${packages[@]}"; do
  read -r letter pkg version _ <<<"$entry"
  if compgen -G "$cache/${pkg}_*.deb" >/dev/null; then continue; fi
  apt-cache policy "$pkg" 2>/dev/null | grep -q 'Candidate: [^(]' || apt_update
  spec="$pkg=$version"
  # (apt-cache show succeeds silently for an unknown version; madison lists the real ones)
  if ! apt-cache madison "$pkg" | awk -F'|' '{gsub(/ /, "", $2); print $2}' | grep -qxF "$version"; then
    candidate=$(apt-cache policy "$pkg" | awk '/Candidate:/ {print $2}')
    [ -n "$candidate" ] && [ "$candidate" != "(none)" ] \
      || { echo "error: package $pkg is not known to apt (check sources.list)" >&2; exit 1; }
    echo "warning: $pkg $version (Debian 12) is not available; using candidate $candidate" >&2
    spec="$pkg=$candidate"
  fi
  echo "downloading $spec"
  (cd "$cache" && apt-get download -q "${apt_opts[@]}" "$spec" >/dev/null)
done

# 2. Unpack each package into its own folder ($tmp/<package>) and stage the result, so a failed
#    run never leaves a half-written DEST/train or DEST/heldout behind.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
stage=$tmp/stage
mkdir -p "$stage/train" "$stage/heldout" "$stage/licenses" "$tmp/webp"
: >"$tmp/credits.tsv"    # file <TAB> package <TAB> licence <TAB> credit
declare -A pkgof licof verof
for entry in "${packages[@]}"; do
  read -r letter pkg version licence <<<"$entry"
  deb=$(ls "$cache/${pkg}"_*.deb | tail -n1)
  echo "unpacking $(basename "$deb")"
  dpkg-deb -x "$deb" "$tmp/$pkg"
  verof[$pkg]=$(dpkg-deb -f "$deb" Version)
  pkgof[$letter]="${pkgof[$letter]:+${pkgof[$letter]}, }$pkg ${verof[$pkg]}"
  licof[$letter]=$licence
  cp "$tmp/$pkg/usr/share/doc/$pkg/copyright" "$stage/licenses/$pkg.copyright"
done

# Stable, shell-safe names: letter prefix, anything odd (spaces) becomes "_".
put() { # put SRC SET NAME [LICENCE] [CREDIT] [PACKAGE]
  local name="${3//[^A-Za-z0-9._-]/_}"
  # A missing file is reported and skipped; the per-package count below then fails the run.
  [ -f "$1" ] || { echo "warning: missing ${1#"$tmp"/}" >&2; return 0; }
  cp "$1" "$stage/$2/$name"
  printf '%s/%s\t%s\t%s\t%s\n' "$2" "$name" "${6:-${pkgof[${name%%_*}]}}" \
    "${4:-${licof[${name%%_*}]}}" "${5:-}" >>"$tmp/credits.tsv"
}

# python helper: `rcc OUTDIR BUNDLE...` unpacks .webp files (and prints per-file licence/credit
# from each resource README); `dep5 FILE` prints per-file licence/credit from a copyright file.
cat >"$tmp/helper.py" <<'PY'
import os, re, struct, sys, zlib

TYPOS = {"audaPalatina.webp": "aulaPalatina.webp"}  # misspelt in explore_monuments' README

def stanzas(text):
    """Debian-copyright-like stanzas ('Key: value', continuation lines) -> {basename: (lic, who)}."""
    out = {}
    for block in re.split(r"\n\s*\n", text):
        fields, key = {}, None
        for line in block.splitlines():
            m = re.match(r"^([A-Za-z-]+):\s*(.*)$", line)
            if m:
                key = m.group(1).lower(); fields[key] = m.group(2).strip()
            elif key:
                fields[key] += " " + line.strip()
        for f in fields.get("files", "").split():
            who = fields.get("copyright", "")
            if fields.get("source"):
                who += f" ({fields['source']})"
            out[TYPOS.get(os.path.basename(f), os.path.basename(f))] = (fields.get("license", ""), who)
    return out

def rcc_files(buf):
    """Yields (path, bytes) for every file of a Qt resource bundle (format in photos.md)."""
    magic, version, tree, data, names = struct.unpack_from(">4sIIII", buf, 0)
    if magic != b"qres":
        raise SystemExit("not a Qt .rcc bundle")
    node = 22 if version >= 2 else 14
    def name(i):
        off = names + struct.unpack_from(">I", buf, tree + i * node)[0]
        (n,) = struct.unpack_from(">H", buf, off)
        return buf[off + 6: off + 6 + 2 * n].decode("utf-16-be")
    def walk(i, path):
        flags = struct.unpack_from(">H", buf, tree + i * node + 4)[0]
        if flags & 2:
            count, first = struct.unpack_from(">II", buf, tree + i * node + 6)
            for c in range(first, first + count):
                yield from walk(c, f"{path}/{name(c)}" if path else name(c))
            return
        (off,) = struct.unpack_from(">I", buf, tree + i * node + 10)
        (n,) = struct.unpack_from(">I", buf, data + off)
        blob = buf[data + off + 4: data + off + 4 + n]
        if flags & 4:
            raise SystemExit(f"{path}: zstd-compressed resource; only zlib is supported")
        yield path, zlib.decompress(blob[4:]) if flags & 1 else blob
    yield from walk(0, "")

if sys.argv[1] == "rcc":
    outdir = sys.argv[2]
    for bundle in sys.argv[3:]:
        activity = os.path.basename(bundle)[:-4]
        files = dict(rcc_files(open(bundle, "rb").read()))
        credits = {}
        for p, b in files.items():
            if p.endswith("/README"):
                credits.update(stanzas(b.decode("utf-8", "replace")))
        prefix = f"gcompris/src/activities/{activity}/resource/"
        for p, b in sorted(files.items()):
            if p.startswith(prefix) and p.endswith(".webp"):
                rel = p[len(prefix):].removeprefix("animals/")
                stem = f"A_{activity}_{rel[:-5].replace('/', '_')}"
                with open(os.path.join(outdir, stem + ".webp"), "wb") as f:
                    f.write(b)
                lic, who = credits.get(os.path.basename(p), ("", ""))
                print(f"{stem}\t{lic}\t{who}")
else:
    for base, (lic, who) in stanzas(open(sys.argv[2], encoding="utf-8").read()).items():
        print(f"{base}\t{lic}\t{who}")
PY

# 3. Training set.
echo "A: unpacking Qt resource bundles and converting WebP to PNG"
bundles=()
for a in "${a_activities[@]}"; do bundles+=("$tmp/gcompris-qt-data/usr/share/gcompris-qt/rcc/$a.rcc"); done
python3 "$tmp/helper.py" rcc "$tmp/webp" "${bundles[@]}" >"$tmp/A.tsv"
# dwebp's PNG encoding is the slowest step (over a minute on one core), so use every core.
cut -f1 "$tmp/A.tsv" | xargs -P "$(nproc)" -I{} dwebp -quiet "$tmp/webp/{}.webp" -o "$tmp/webp/{}.png"
while IFS=$'\t' read -r stem lic who; do
  put "$tmp/webp/$stem.png" train "$stem.png" "${lic:-${licof[A]}}" "$who"
done <"$tmp/A.tsv"

echo "B-E: copying JPEG and PNG photos"
for f in "$tmp/tuxpaint-data"/usr/share/tuxpaint/templates/*.jpg; do put "$f" train "B_${f##*/}"; done
for f in "$tmp/palapeli-data"/usr/share/palapeli/collection/*.jpg; do put "$f" train "C_${f##*/}"; done
for f in "$tmp/plasma-workspace-data"/usr/share/plasma/avatars/photos/*.png; do
  lic=$(sed -n 's/.*SPDX-License-Identifier: *//p' "$f.license" 2>/dev/null | head -n1)
  who=$(sed -n 's/.*SPDX-FileCopyrightText: *//p' "$f.license" 2>/dev/null | head -n1)
  src=$(sed -n 's/^# *\(https\?:.*\)/\1/p' "$f.license" 2>/dev/null | head -n1)
  who="$who${src:+ ($src)}"
  put "$f" train "D_${f##*/}" "${lic:-}" "$who"
done
for n in "${faces[@]}"; do
  put "$tmp/gnome-control-center-data/usr/share/pixmaps/faces/$n.jpg" train "E_$n.jpg"
done

# 4. Held-out set.
echo "F-H: copying held-out scene photos"
for n in "${wallpapers[@]}"; do
  f=$(find "$tmp/plasma-workspace-wallpapers/usr/share/wallpapers/$n/contents/images" -maxdepth 1 -type f \
        \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' \) -printf '%s %p\n' \
      | sort -n | tail -n1 | cut -d' ' -f2-)
  [ -n "$f" ] || { echo "error: no image for wallpaper $n" >&2; exit 1; }
  ext=${f##*.}; put "$f" heldout "F_$n.${ext,,}"
done
for f in "$tmp/mate-backgrounds"/usr/share/backgrounds/mate/nature/*.jpg; do put "$f" heldout "G_${f##*/}"; done
cat "$stage"/licenses/lomiri-wallpapers-*.copyright >"$tmp/H.copyright"
python3 "$tmp/helper.py" dep5 "$tmp/H.copyright" >"$tmp/H.tsv"
for n in "${lomiri[@]}"; do
  IFS=$'\t' read -r _ lic who < <(grep -F "$n.jpg"$'\t' "$tmp/H.tsv" || true)
  for pkg in lomiri-wallpapers-16.04 lomiri-wallpapers-20.04; do
    f=$tmp/$pkg/usr/share/backgrounds/$n.jpg
    if [ -f "$f" ]; then put "$f" heldout "H_$n.jpg" "${lic:-}" "${who:-}" "$pkg ${verof[$pkg]}"; fi
  done
done

# 5. Verify per package before touching DEST.
ok=1
for l in A B C D E F G H; do
  got=$(find "$stage/train" "$stage/heldout" -maxdepth 1 -type f -name "${l}_*" | wc -l)
  printf '  %s %-55s %3d photos (expected %d)\n' "$l" "${pkgof[$l]}" "$got" "${expect[$l]}"
  [ "$got" -eq "${expect[$l]}" ] || ok=0
done
train=$(count "$stage/train") heldout=$(count "$stage/heldout")
echo "  total: $train train (expected $want_train), $heldout held-out (expected $want_heldout)"
if [ $ok -eq 0 ] || [ "$train" -ne $want_train ] || [ "$heldout" -ne $want_heldout ]; then
  echo "error: photo counts differ from photos.md; DEST left unchanged" >&2
  exit 1
fi

{
  echo "# Photos fetched by Tools/fetch-photos.sh"
  echo
  echo "Never commit these files. Licences are per package (photos.md) unless the package gives"
  echo "one per file; full texts are in licenses/ (each package's debian copyright file)."
  echo
  echo "| file | package | licence | copyright / source |"
  echo "|---|---|---|---|"
  LC_ALL=C sort "$tmp/credits.tsv" | while IFS=$'\t' read -r f p lic who; do
    echo "| $f | $p | ${lic//|/\\|} | ${who//|/\\|} |"
  done
} >"$stage/LICENSES.md"
(cd "$stage" && find train heldout -type f | LC_ALL=C sort | xargs -d '\n' sha256sum) >"$stage/MANIFEST.sha256"

rm -rf "$dest/train" "$dest/heldout" "$dest/licenses"
mv "$stage/train" "$stage/heldout" "$stage/licenses" "$stage/LICENSES.md" "$stage/MANIFEST.sha256" "$dest/"
echo "done: $dest/train ($train), $dest/heldout ($heldout), LICENSES.md, MANIFEST.sha256"
