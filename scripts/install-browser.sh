#!/usr/bin/env bash
# install-browser.sh: installs Debian's Chromium for the dashboard's browser
# tests (sink/dashboard, internal/browsertest), idempotently, together with the DejaVu fonts
# the tests' screenshots are rendered with. scripts/setup.sh calls it; run it
# by hand with "bash scripts/install-browser.sh". Run as root or with sudo
# available. Re-running it does nothing when the packages are installed.
set -euo pipefail

PACKAGES=(chromium fonts-dejavu-core)

log() { printf 'install-browser: %s\n' "$*" >&2; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
	log "chromium present: $(chromium --version 2>/dev/null || echo 'version unknown')"
	exit 0
fi

log "installing Debian packages: ${missing[*]}"
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
log "installed: $(chromium --version 2>/dev/null)"
