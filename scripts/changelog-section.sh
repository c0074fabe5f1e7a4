#!/usr/bin/env bash
# Prints the section of CHANGELOG.md for one version: the lines under its heading (`## 0.2.0 - 2026-12-12`,
# also `## [0.2.0]`) up to the next `## ` heading, without the blank lines around them. Fails with one line on
# stderr when the version has no section or an empty one, so a release cannot go out without its notes.
#
#   scripts/changelog-section.sh VERSION [CHANGELOG]    (default: CHANGELOG.md beside scripts/)
set -euo pipefail

version=${1:?usage: changelog-section.sh VERSION [CHANGELOG]}
changelog=${2:-"$(dirname "$0")/../CHANGELOG.md"}
[ -f "$changelog" ] || { echo "changelog: no $changelog" >&2; exit 1; }

# The heading's first word, brackets removed, must be the version exactly: 0.1.0 is not 0.1.0-rc1 or 10.1.0.
section=$(awk -v want="$version" '
  /^## / {
    if (inside) exit
    word = $2
    gsub(/^\[|\]$/, "", word)
    if (word == want) inside = 1
    next
  }
  inside { lines[++n] = $0 }
  END {
    first = 1; while (first <= n && lines[first] ~ /^[ \t]*$/) first++
    last = n; while (last >= first && lines[last] ~ /^[ \t]*$/) last--
    for (i = first; i <= last; i++) print lines[i]
  }
' "$changelog")

if [ -z "$section" ]; then
  echo "changelog: $changelog has no section for $version (a heading \"## $version - DATE\" with the changes under it)" >&2
  exit 1
fi
printf '%s\n' "$section"
