#!/usr/bin/env bash
# Vendor the dashboard's JavaScript and CSS from npm into src/corridor/web/static/vendor/.
#
# The files are committed, so a fresh clone (and the running dashboard) needs no npm and no
# network: nothing is fetched at run time. Run this only to change a pinned version; it
# `npm pack`s each package at its pinned version, copies the built files and the licence, and
# rewrites VENDORED.md with name, version, licence and the sha256 of every copied file.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/src/corridor/web/static/vendor"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# name@version | licence | files to copy (paths inside the package) | why
PACKAGES=(
  "htmx.org@2.0.4|BSD-0-Clause|dist/htmx.min.js LICENSE|partial page updates (site panel) without a framework"
  "leaflet@1.9.4|BSD-2-Clause|dist/leaflet.js dist/leaflet.css LICENSE|pan/zoom map over the package's own GeoJSON, no tiles"
  "axe-core@4.10.2|MPL-2.0|axe.min.js LICENSE|accessibility checks in the browser tests only"
)

rm -rf "$DEST"
mkdir -p "$DEST"
{
  echo "# Vendored web assets"
  echo
  echo "Written by \`scripts/vendor-web.sh\` (do not edit by hand). Each package was fetched from"
  echo "the npm registry with \`npm pack NAME@VERSION\`; the files below are copied unchanged."
  echo "Nothing is downloaded at run time."
  echo
  echo "| package | version | licence | file | sha256 | why |"
  echo "|---|---|---|---|---|---|"
} > "$WORK/VENDORED.md"

for entry in "${PACKAGES[@]}"; do
  IFS='|' read -r spec licence files why <<< "$entry"
  name="${spec%@*}"
  version="${spec##*@}"
  dir_name="${name#@}"
  dir_name="${dir_name//\//-}"
  mkdir -p "$WORK/$dir_name" "$DEST/$dir_name"
  (cd "$WORK/$dir_name" && npm pack --silent "$spec" >/dev/null && tar -xzf ./*.tgz)
  for f in $files; do
    src="$WORK/$dir_name/package/$f"
    if [ ! -f "$src" ]; then
      echo "vendor-web: $spec has no $f" >&2
      exit 1
    fi
    cp "$src" "$DEST/$dir_name/$(basename "$f")"
    sum="$(sha256sum "$DEST/$dir_name/$(basename "$f")" | cut -d' ' -f1)"
    echo "| $name | $version | $licence | $dir_name/$(basename "$f") | \`$sum\` | $why |" \
      >> "$WORK/VENDORED.md"
  done
done
cp "$WORK/VENDORED.md" "$DEST/VENDORED.md"
echo "vendor-web: wrote $(find "$DEST" -type f | wc -l) files to $DEST"
du -sh "$DEST"
