#!/usr/bin/env bash
# Puts the four Fashion-MNIST IDX files into DEST (default data/cache), taking them from SRC when
# given, else ../shared/data/fashion-mnist, else downloading them from the official source.
# Every file is checked against data/fashion-mnist.sha256 (sha256 of the *uncompressed* bytes,
# since re-compressed copies differ in their gzip headers).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dest=${1:-$here/cache}
src=${2:-}
official=http://fashion-mnist.s3-website.eu-central-1.amazonaws.com
mkdir -p "$dest"

verify() { # dir name
  local want got
  want=$(awk -v n="$2" '$2 == n {print $1}' "$here/fashion-mnist.sha256")
  got=$(gzip -dc "$1/$2.gz" 2>/dev/null | sha256sum | cut -d' ' -f1) || return 1
  [ "$want" = "$got" ]
}

for name in $(awk '{print $2}' "$here/fashion-mnist.sha256"); do
  if [ -f "$dest/$name.gz" ] && verify "$dest" "$name"; then continue; fi
  found=
  for dir in $src "$here/../../shared/data/fashion-mnist"; do
    if [ -f "$dir/$name.gz" ] && verify "$dir" "$name"; then
      cp "$dir/$name.gz" "$dest/$name.gz"; found=1; break
    fi
  done
  if [ -z "$found" ]; then
    echo "downloading $name.gz from $official" >&2
    curl -fsSL --retry 3 -o "$dest/$name.gz.part" "$official/$name.gz" \
      || { echo "error: could not download $name.gz; pass a directory holding it: ./build.sh data DIR" >&2; exit 1; }
    mv "$dest/$name.gz.part" "$dest/$name.gz"
  fi
  verify "$dest" "$name" || { echo "error: $dest/$name.gz fails its sha256 check" >&2; rm -f "$dest/$name.gz"; exit 1; }
done
echo "$dest"
