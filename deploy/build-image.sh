#!/usr/bin/env bash
# Builds the sdproxy image the way goreleaser does: a static binary built
# here, copied into a scratch image (see ../Dockerfile). Pulls nothing.
#   IMAGE    image name (default sdproxy); tagged :$VERSION and :latest
#   VERSION  version stamped into the binary and the labels (default: git describe)
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
IMAGE=${IMAGE:-sdproxy}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)
CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
ctx=bin/image

command -v docker >/dev/null || { echo "make image: docker is not installed (Debian: apt-get install docker.io)" >&2; exit 1; }
rm -rf "$ctx"
mkdir -p "$ctx/rootfs/etc/ssl/certs" "$ctx/writable/data" "$ctx/writable/secrets" "$ctx/writable/tmp"
CGO_ENABLED=0 "$GO" build -trimpath -ldflags "-s -w -X main.version=$VERSION" -o "$ctx/rootfs/sdproxy" ./cmd/sdproxy
# CA roots for https upstreams and etcd: the build machine's bundle.
roots=/etc/ssl/certs/ca-certificates.crt
if [ -f "$roots" ]; then
	cp "$roots" "$ctx/rootfs/etc/ssl/certs/ca-certificates.crt"
else
	echo "make image: warning: $roots not found (Debian: ca-certificates); the image will trust no public CA" >&2
	: >"$ctx/rootfs/etc/ssl/certs/ca-certificates.crt"
fi
printf 'root:x:0:0:root:/:/sbin/nologin\nsdproxy:x:65532:65532:sdproxy:/data:/sbin/nologin\n' >"$ctx/rootfs/etc/passwd"
printf 'root:x:0:\nsdproxy:x:65532:\n' >"$ctx/rootfs/etc/group"
chmod 1777 "$ctx/writable/tmp"
chmod 700 "$ctx/writable/secrets" "$ctx/writable/data"
cp Dockerfile "$ctx/Dockerfile"

docker build --quiet -f "$ctx/Dockerfile" \
	--build-arg "VERSION=$VERSION" --build-arg "REVISION=$REVISION" --build-arg "CREATED=$CREATED" \
	-t "$IMAGE:$VERSION" -t "$IMAGE:latest" "$ctx" >/dev/null
echo "built $IMAGE:$VERSION (and $IMAGE:latest), $(docker image inspect -f '{{.Size}}' "$IMAGE:latest" | awk '{printf "%.1f MB", $1/1e6}')"
