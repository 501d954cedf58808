#!/usr/bin/env bash
# Builds a local etcd image from Debian's etcd-server (for compose-test,
# where no registry can be reached): the binary and the libraries it links,
# copied into a scratch image tagged $1.
set -euo pipefail
cd "$(dirname "$0")"
tag=${1:?usage: build-etcd-image.sh TAG}
bin=/usr/bin/etcd
[ -x "$bin" ] || { echo "build-etcd-image.sh: $bin missing (Debian: apt-get install etcd-server)" >&2; exit 1; }
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/rootfs/usr/local/bin" "$ctx/rootfs/tmp"
cp "$bin" "$ctx/rootfs/usr/local/bin/etcd"
# The dynamic loader and every library ldd names, at the same paths.
for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
	mkdir -p "$ctx/rootfs$(dirname "$lib")"
	cp -L "$lib" "$ctx/rootfs$lib"
done
chmod 1777 "$ctx/rootfs/tmp"
cp etcd/Dockerfile "$ctx/Dockerfile"
docker build --quiet -t "$tag" "$ctx" >/dev/null
echo "built $tag from $bin ($("$bin" --version | head -1))"
