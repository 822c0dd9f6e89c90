#!/usr/bin/env bash
# Vendor the web page's two players from the npm registry into src/iptvsync/web/static/vendor/:
# hls.js (HLS over Media Source Extensions) and mpegts.js (MPEG-TS over MSE). The output is
# committed, so a clone needs neither npm nor a build step; run this again only to move a
# version (edit the pins below, run, commit). `npm pack` checks each tarball against the
# registry's sha512 integrity; the sums below pin the exact tarballs we reviewed.
set -euo pipefail
cd "$(dirname "$0")/.."

HLS_VERSION=1.7.4
MPEGTS_VERSION=1.8.2
OUT=src/iptvsync/web/static/vendor

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "hls.js@$HLS_VERSION" "mpegts.js@$MPEGTS_VERSION" >/dev/null)

check() {  # file, expected sha256
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  if [ -n "$2" ] && [ "$got" != "$2" ]; then
    echo "vendor-web: $1 has sha256 $got, expected $2" >&2
    exit 1
  fi
  echo "$got"
}
HLS_SHA=$(check "$work/hls.js-$HLS_VERSION.tgz" "${HLS_SHA256:-e4ab3d5d13f7cca9ef241d098f39686e19fd451831ba07dc9943482fd5ff75c7}")
MPEGTS_SHA=$(check "$work/mpegts.js-$MPEGTS_VERSION.tgz" "${MPEGTS_SHA256:-fc0632083671b7a5ee03fd80e479bdf9f20f41015b957969aaf86703fb1c7bc0}")

mkdir -p "$work/hls" "$work/mpegts" "$OUT"
tar xzf "$work/hls.js-$HLS_VERSION.tgz" -C "$work/hls"
tar xzf "$work/mpegts.js-$MPEGTS_VERSION.tgz" -C "$work/mpegts"

# hls.js as an ES module (imported by player.js) and its transmuxing worker, loaded from this
# origin through the `workerPath` option (no blob: worker, so the CSP keeps worker-src 'self').
cp "$work/hls/package/dist/hls.min.mjs" "$OUT/hls.min.js"
cp "$work/hls/package/dist/hls.worker.js" "$OUT/hls.worker.js"
cp "$work/hls/package/LICENSE" "$OUT/hls.js.LICENSE.txt"
# mpegts.js ships a UMD bundle only: player.js loads it with a classic <script> (window.mpegts).
cp "$work/mpegts/package/dist/mpegts.js" "$OUT/mpegts.js"
cp "$work/mpegts/package/LICENSE" "$OUT/mpegts.js.LICENSE.txt"
if [ -f "$work/mpegts/package/dist/mpegts.js.LICENSE.txt" ]; then
  cat "$work/mpegts/package/dist/mpegts.js.LICENSE.txt" >> "$OUT/mpegts.js.LICENSE.txt"
fi
# The bundles point at source maps we do not ship; drop the comment so no browser asks for them.
sed -i '/^\/\/# sourceMappingURL=/d' "$OUT/hls.min.js" "$OUT/hls.worker.js" "$OUT/mpegts.js"

cat > "$OUT/VERSIONS" <<VERSIONS
# Written by scripts/vendor-web.sh; do not edit by hand.
hls.js $HLS_VERSION npm tarball sha256 $HLS_SHA (Apache-2.0, hls.js.LICENSE.txt)
mpegts.js $MPEGTS_VERSION npm tarball sha256 $MPEGTS_SHA (Apache-2.0, mpegts.js.LICENSE.txt)
VERSIONS
echo "vendor-web: hls.js $HLS_VERSION, mpegts.js $MPEGTS_VERSION -> $OUT"
