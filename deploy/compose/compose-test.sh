#!/usr/bin/env bash
# make compose-test: builds the sdproxy image and a local etcd image (no
# registry is needed), brings up deploy/compose, writes through instance 1,
# reads through instance 2, stops one etcd member and one sdproxy and checks
# that the rest still serves, then removes every container, network, volume
# and image it made. Installs docker.io and docker-compose from Debian and
# starts dockerd when no engine answers.
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)
root=$(cd ../.. && pwd)

say() { printf 'compose-test: %s\n' "$*"; }
fail() { printf 'compose-test: FAIL: %s\n' "$*" >&2; exit 1; }

# --- an engine and a compose command -------------------------------------
need=()
command -v docker >/dev/null || need+=(docker.io)
command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 || need+=(docker-compose)
command -v curl >/dev/null || need+=(curl)
command -v ldd >/dev/null || need+=(libc-bin)
[ -x /usr/bin/etcd ] || need+=(etcd-server)
if [ ${#need[@]} -gt 0 ]; then
	say "installing ${need[*]}"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
started_dockerd=
if ! docker info >/dev/null 2>&1; then
	command -v dockerd >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null; }
	say "starting dockerd"
	dockerd >/tmp/sdproxy-compose-test-dockerd.log 2>&1 &
	started_dockerd=$!
	for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
	docker info >/dev/null 2>&1 || { tail -20 /tmp/sdproxy-compose-test-dockerd.log >&2; fail "dockerd did not start"; }
fi
if docker compose version >/dev/null 2>&1; then
	dc_bin=(docker compose)
else
	dc_bin=(docker-compose)
fi
say "engine $(docker version -f '{{.Server.Version}}'), compose: ${dc_bin[*]} ($("${dc_bin[@]}" version --short 2>/dev/null || echo '?'))"

# --- names and ports of this run only -------------------------------------
run=sdpct$$
export SDPROXY_IMAGE="$run-sdproxy:latest" ETCD_IMAGE="$run-etcd:debian"
free_port() { # a loopback port nothing listens on
	local p
	while :; do
		p=$((20000 + RANDOM % 20000))
		(: </dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo "$p"; return; }
	done
}
export SDPROXY1_PORT=$(free_port) SDPROXY1_ADMIN_PORT=$(free_port) SDPROXY2_PORT=$(free_port) SDPROXY2_ADMIN_PORT=$(free_port) DEMO_STORE_PORT=$(free_port)
dc() { "${dc_bin[@]}" -p "$run" -f "$here/docker-compose.yml" "$@"; }

cleanup() {
	local rc=$?
	if [ $rc -ne 0 ]; then
		say "logs of the stack (failed run):"
		dc logs --no-color --tail 40 2>&1 | sed -e 's/sdpa_[0-9a-f]*/sdpa_…/g' -e 's/\(qk_[a-z0-9]*_\)[A-Za-z0-9]*/\1…/g' || true
	fi
	dc down -v --remove-orphans --timeout 5 >/dev/null 2>&1 || true
	docker rmi -f "$SDPROXY_IMAGE" "${SDPROXY_IMAGE%:latest}:$version" "$ETCD_IMAGE" >/dev/null 2>&1 || true
	if [ -n "$started_dockerd" ]; then kill "$started_dockerd" 2>/dev/null || true; fi
	[ $rc -eq 0 ] && say "PASS (cleaned up)" || say "cleaned up"
	exit $rc
}
version=${VERSION:-dev}
trap cleanup EXIT

# --- images ----------------------------------------------------------------
IMAGE="${SDPROXY_IMAGE%:latest}" VERSION="$version" GO="${GO:-go}" "$root/deploy/build-image.sh"
"$here/build-etcd-image.sh" "$ETCD_IMAGE"

# --- up ----------------------------------------------------------------------
say "docker compose up (project $run)"
dc up -d --no-build
wait_exit() { # service timeout: waits for a one-shot service and checks it exited 0
	local id status code
	for _ in $(seq "$2"); do
		id=$(dc ps -a -q "$1" 2>/dev/null || true)
		if [ -n "$id" ]; then
			status=$(docker inspect -f '{{.State.Status}}' "$id")
			if [ "$status" = exited ]; then
				code=$(docker inspect -f '{{.State.ExitCode}}' "$id")
				[ "$code" = 0 ] || { docker logs "$id" >&2; fail "$1 exited with $code"; }
				return 0
			fi
		fi
		sleep 1
	done
	fail "$1 did not finish within $2 s"
}
wait_exit init 120
wait_exit init-key 60
out=$(docker logs "$(dc ps -a -q init-key)" 2>&1)
project=$(grep -o 'for project prj_[a-z0-9]*' <<<"$out" | awk '{print $3}')
key=$(awk '/^    [^ ]/ {print $1; exit}' <<<"$out")
[ -n "$project" ] && [ -n "$key" ] || fail "init-key printed no project or key"
say "init applied sdproxy.yaml; init-key created a key for $project"

p1="http://127.0.0.1:$SDPROXY1_PORT/proxy/$project"
p2="http://127.0.0.1:$SDPROXY2_PORT/proxy/$project"
store="http://127.0.0.1:$DEMO_STORE_PORT"
wait_http() { # url: waits for any HTTP answer
	for _ in $(seq 60); do curl -s -o /dev/null "$1" && return 0; sleep 1; done
	fail "$1 never answered"
}
wait_http "http://127.0.0.1:$SDPROXY2_PORT/"
for s in sdproxy1 sdproxy2; do
	for _ in $(seq 60); do
		h=$(docker inspect -f '{{.State.Health.Status}}' "$(dc ps -q $s)")
		[ "$h" = healthy ] && break
		sleep 1
	done
	[ "$h" = healthy ] || fail "$s is $h, want healthy (sdproxy healthcheck)"
done
say "sdproxy1 and sdproxy2 are healthy"

# --- write through instance 1, read through instance 2 -------------------
post() { curl -s -w '\n%{http_code}' "$1/posts" -H "X-Qanapi-Authorization: $key" -H 'Content-Type: application/json' -d "$2"; }
get() { curl -s -w '\n%{http_code}' "$1" -H "X-Qanapi-Authorization: $key"; }
code_of() { tail -n1 <<<"$1"; }
body_of() { sed '$d' <<<"$1"; }

r=$(post "$p1" '{"userId": 1, "title": "Sensitive title", "body": "Sensitive body text"}')
[ "$(code_of "$r")" = 201 ] || fail "POST through sdproxy1: $(code_of "$r") $(body_of "$r")"
id=$(body_of "$r" | grep -o '"id": *[0-9]*' | grep -o '[0-9]*$')
[ -n "$id" ] || fail "POST answer has no id: $(body_of "$r")"
body_of "$r" | grep -q 'Sensitive title' || fail "POST answer not decrypted for the full key: $(body_of "$r")"
raw=$(curl -s "$store/posts/$id")
grep -q 'Sensitive' <<<"$raw" && fail "the store holds plaintext: $raw"
grep -q '"title"' <<<"$raw" || fail "the store has no post $id: $raw"
say "write through sdproxy1: 201; the store holds ciphertext"
r=$(get "$p2/posts/$id")
[ "$(code_of "$r")" = 200 ] && body_of "$r" | grep -q '"Sensitive title"' || fail "read through sdproxy2: $(code_of "$r") $(body_of "$r")"
say "read through sdproxy2: 200, plaintext"

n=$(dc run --rm --no-deps -T init instances -o json 2>/dev/null | grep -o '"instance_id"' | wc -l)
[ "$n" -ge 2 ] || fail "GET /admin/v1/instances lists $n instances, want 2"
say "both instances registered in etcd"

# --- faults: one etcd member and one sdproxy down -------------------------
dc stop -t 5 etcd3 >/dev/null 2>&1
dc stop -t 5 sdproxy2 >/dev/null 2>&1
say "stopped etcd3 and sdproxy2"
r=$(post "$p1" '{"userId": 2, "title": "After the faults", "body": "still encrypted"}')
[ "$(code_of "$r")" = 201 ] || fail "POST through sdproxy1 with etcd3 and sdproxy2 down: $(code_of "$r") $(body_of "$r")"
id2=$(body_of "$r" | grep -o '"id": *[0-9]*' | grep -o '[0-9]*$')
grep -q 'After the faults' <<<"$(curl -s "$store/posts/$id2")" && fail "the store holds plaintext after the faults"
r=$(get "$p1/posts/$id")
[ "$(code_of "$r")" = 200 ] && body_of "$r" | grep -q '"Sensitive title"' || fail "read through sdproxy1 after the faults: $(code_of "$r") $(body_of "$r")"
# A key made now (a write to etcd with 2 of 3 members) works at once.
out=$(dc run --rm --no-deps -T init-key key create --project Demo --name after-faults --quiet 2>/dev/null)
key2=$(tr -d '\r\n' <<<"$out")
r=$(curl -s -w '\n%{http_code}' "$p1/posts/$id2" -H "X-Qanapi-Authorization: $key2")
[ "$(code_of "$r")" = 200 ] && body_of "$r" | grep -q '"After the faults"' || fail "a key created with etcd3 down: $(code_of "$r")"
say "with etcd3 and sdproxy2 down: writes 201, reads 200, a new key works"
