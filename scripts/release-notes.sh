#!/usr/bin/env bash
# Prints the notes of a GitHub release: the version's section of CHANGELOG.md (written for operators, with
# its upgrade notes), the downloads, how to install and verify them, and the SHA-256 checksums. Used by
# .github/workflows/release.yml. Fails, printing nothing, when CHANGELOG.md has no section for the version.
#
#   scripts/release-notes.sh VERSION DIST_DIR [CHANGELOG] > notes.md
set -euo pipefail

version=${1:?usage: release-notes.sh VERSION DIST_DIR [CHANGELOG]}
dist=${2:?usage: release-notes.sh VERSION DIST_DIR [CHANGELOG]}
changelog=${3:-"$(dirname "$0")/../CHANGELOG.md"}
[ -f "$dist/SHA256SUMS" ] || { echo "release-notes: no $dist/SHA256SUMS" >&2; exit 1; }
changes=$(bash "$(dirname "$0")/changelog-section.sh" "$version" "$changelog")
# The repository the release is published from (set in GitHub Actions), for the links and the verify command.
repo=${GITHUB_REPOSITORY:-OWNER/REPO}

# The newest v* tag that is an ancestor of HEAD and not this version's own.
previous=$(git tag --merged HEAD --list 'v*' --sort=-version:refname | grep -vx "v$version" | head -n 1 || true)

size() { awk -v b="$(wc -c <"$1")" 'BEGIN { if (b >= 1e6) printf "%.1f MB", b / 1e6; else printf "%.0f kB", b / 1e3 }'; }

echo "## buntracker $version"
echo
printf '%s\n' "$changes"
echo
if [ -n "$previous" ]; then
  echo "[Every commit since $previous](https://github.com/$repo/compare/$previous...v$version)"
  echo
fi
echo "## Downloads"
echo
echo "| file | size | what |"
echo "|---|---|---|"
while read -r _ file; do
  case "$file" in
    *-no-dashboard.tar.gz) what="Linux: the tracker without the dashboard, with install-linux.sh, README and licence" ;;
    *.tar.gz) what="Linux: the tracker, install-linux.sh, README and licence" ;;
    *-no-dashboard.exe) what="Windows executable without the dashboard" ;;
    *.exe) what="Windows executable (double-click to run)" ;;
    *-no-dashboard) what="Linux executable without the dashboard" ;;
    install-linux.sh) what="Linux installer (systemd service)" ;;
    install-windows.ps1) what="Windows installer (scheduled task at boot, firewall)" ;;
    *) what="Linux executable" ;;
  esac
  echo "| \`$file\` | $(size "$dist/$file") | $what |"
done <"$dist/SHA256SUMS"
echo
cat <<'EOF'
The x64 executables need a CPU with SSSE3, SSE4.1, SSE4.2 and POPCNT (Intel Nehalem, AMD Bulldozer or newer;
in a virtual machine a CPU type other than `qemu64` or `kvm64`); arm64 needs ARMv8.0-A. See "Which CPUs" in
README.md.
EOF
echo
echo "## Install"
echo
echo "Linux (x64; for arm64 use \`buntracker-linux-arm64.tar.gz\`):"
echo
echo '```sh'
echo "tar xzf buntracker-linux-x64.tar.gz && sudo ./buntracker-linux-x64/install-linux.sh install --listen 6969"
echo '```'
echo
echo "Windows: download \`buntracker-windows-x64.exe\` and double-click it, or install it to start at boot from an"
echo "elevated PowerShell in the download folder:"
echo
echo '```powershell'
echo 'powershell -ExecutionPolicy Bypass -File .\install-windows.ps1 install -Listen 6969'
echo '```'
echo
echo "Installing, verifying, reverse proxies, monitoring, upgrades and backups: https://github.com/$repo/tree/v$version/docs"
echo
echo "## Verify the download"
echo
echo "Check the files you downloaded against the checksums, and that they were built by this repository's release"
echo "workflow (a build provenance attestation; needs the GitHub CLI):"
echo
echo '```sh'
echo "sha256sum -c --ignore-missing SHA256SUMS"
echo "gh attestation verify buntracker-linux-x64.tar.gz --repo $repo"
echo '```'
echo
echo "## Checksums (SHA-256)"
echo
echo '```'
cat "$dist/SHA256SUMS"
echo '```'
