#!/usr/bin/env bash
# install-browser.sh: installs Debian's Chromium for the dashboard's browser
# tests (web/browsertest), idempotently. scripts/setup.sh calls it; run it by
# hand with "bash scripts/install-browser.sh". Run as root or with sudo
# available. Re-running it does nothing when chromium is already installed.
set -euo pipefail

log() { printf 'install-browser: %s\n' "$*" >&2; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q "install ok installed"; then
	log "chromium present ($(chromium --version 2>/dev/null || echo 'version unknown'))"
	exit 0
fi

log "installing Debian's chromium"
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
log "installed $(chromium --version)"
