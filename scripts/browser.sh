#!/usr/bin/env bash
# Debian's Chromium (and ChromeDriver) for the analyst page's browser tests (tests/page/): installed
# from the system's packages when missing; no test tool ever downloads a browser. Needs root or sudo.
set -euo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
echo "browser.sh: installing Debian's chromium and chromium-driver" >&2
$sudo apt-get install -y -q chromium chromium-driver >/dev/null \
  || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q chromium chromium-driver >/dev/null; }
chromium --version >&2
