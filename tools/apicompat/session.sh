#!/usr/bin/env bash
# session.sh: a scripted admin-API / CLI / data-plane session against one
# sdproxy binary, with every nondeterministic value normalised, so that the
# outputs of two binaries can be compared byte for byte:
#
#   tools/apicompat/session.sh /tmp/sdproxy-before.bin /tmp/before.txt
#   tools/apicompat/session.sh bin/sdproxy /tmp/after.txt
#   diff -u /tmp/before.txt /tmp/after.txt
#
# Usage: session.sh BIN [OUTPUT]   (OUTPUT defaults to standard output)
#
# It starts "BIN serve" on a fresh temporary data directory with loopback
# listeners on free ports, a fixed master key and a fixed admin token, waits
# for /readyz, runs the session, and stops the server on exit. Set
# APICOMPAT_RAW=FILE to also keep the output before normalisation.
#
# The output is a list of numbered steps: "[N] $ sdproxy ARGS" (stdout,
# stderr prefixed "stderr| ", exit status) and "[N] > METHOD [listener]
# PATH" (request headers and body, status line, sorted response headers
# without Date, body). Normalised: project and key ids (prj_PROJ00000001,
# qk_KEY000000001, in order of first appearance), key secrets (<SECRET>),
# token payloads (<payload@N/LENGTH>), request ids (<adm-req@N>, <data-req@N>,
# <srv-req@N>, …), list cursors (<cursor@N>) and times (<t@N>), all named
# after the step N where the value first appears; the CLI's table times
# (YYYY-MM-DD hh:mm:ssZ), latencies, Content-Length, temporary paths, ports
# and the admin token.
#
# Needs bash, curl, sed, grep, awk, sort, mktemp and cksum; coreutils'
# timeout is used when present. jq is not needed.

set -u
export LC_ALL=C

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 SDPROXY_BINARY [OUTPUT_FILE]" >&2
	exit 2
fi
BIN=$1
OUT=${2:-}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
if [ ! -x "$BIN" ]; then
	echo "$0: $BIN is not an executable file" >&2
	exit 2
fi
if [ -n "$OUT" ]; then
	case $OUT in /*) ;; *) OUT=$PWD/$OUT ;; esac
fi
for tool in curl sed grep awk sort mktemp cksum; do
	command -v "$tool" >/dev/null 2>&1 || { echo "$0: $tool is required" >&2; exit 2; }
done

# Fixed secrets: base64 of 32 bytes 0x00..0x1f, and a 40-character token.
MASTER_KEY=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
TOKEN=apicompat-admin-token-0123456789abcdefgh

T=$(mktemp -d "${TMPDIR:-/tmp}/sdproxy-apicompat.XXXXXXXX") || exit 1
RAW=$T/raw.txt
: >"$RAW"
SPID=
DEMO_PID=
DEMO_DATA_PORT=0 DEMO_ADMIN_PORT=0 DEMO_STORE_PORT=0

cleanup() {
	if [ -n "$DEMO_PID" ] && kill -0 "$DEMO_PID" 2>/dev/null; then
		kill "$DEMO_PID" 2>/dev/null
		sleep 1
		kill -9 "$DEMO_PID" 2>/dev/null
		wait "$DEMO_PID" 2>/dev/null
	fi
	if [ -n "$SPID" ] && kill -0 "$SPID" 2>/dev/null; then
		kill "$SPID" 2>/dev/null
		local i
		for i in $(seq 1 100); do
			kill -0 "$SPID" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$SPID" 2>/dev/null && kill -9 "$SPID" 2>/dev/null
		wait "$SPID" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# Nothing from the caller's environment may change the session.
for v in $(compgen -e | grep '^SDPROXY_'); do unset "$v"; done
cd "$T" || exit 1

if command -v timeout >/dev/null 2>&1; then
	TIMEOUT=(timeout 30)
else
	TIMEOUT=()
fi

# ---------------------------------------------------------------- server

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pick_port [TAKEN...]: a free loopback port not among TAKEN, from 20000 to
# 32767, below Linux's usual range of ephemeral ports (32768 and up), so
# that no client connection holds it by the time the server binds it.
pick_port() {
	local p i t ok
	for i in $(seq 1 100); do
		p=$((20000 + RANDOM % 12768))
		ok=1
		for t in "$@"; do [ "$p" = "$t" ] && ok=0; done
		[ "$ok" = 1 ] && port_free "$p" && { echo "$p"; return 0; }
	done
	return 1
}

# start_server [again]: start serve on fresh ports and a fresh data
# directory, or with "again" on the same ports and data directory.
start_server() {
	local attempt i
	for attempt in 1 2 3; do
		if [ "${1:-}" != again ]; then
			DATA_PORT=$(pick_port) || return 1
			ADMIN_PORT=$(pick_port "$DATA_PORT") || return 1
			rm -rf "$T/data"
		fi
		SDPROXY_DATA_DIR=$T/data \
			SDPROXY_LISTEN=127.0.0.1:$DATA_PORT \
			SDPROXY_ADMIN_LISTEN=127.0.0.1:$ADMIN_PORT \
			SDPROXY_MASTER_KEY=$MASTER_KEY \
			SDPROXY_ADMIN_TOKEN=$TOKEN \
			"$BIN" serve >"$T/serve.log" 2>&1 </dev/null &
		SPID=$!
		for i in $(seq 1 150); do
			kill -0 "$SPID" 2>/dev/null || break
			if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$ADMIN_PORT/readyz")" = 200 ]; then
				return 0
			fi
			sleep 0.1
		done
		kill "$SPID" 2>/dev/null
		wait "$SPID" 2>/dev/null
		SPID=
		echo "$0: serve did not become ready (attempt $attempt); its log:" >&2
		sed 's/^/    /' "$T/serve.log" >&2
		[ "${1:-}" = again ] && sleep 1
	done
	return 1
}

# stop_server: a graceful stop (SIGTERM), waiting for the process to end.
stop_server() {
	local i
	[ -n "$SPID" ] || return 0
	kill "$SPID" 2>/dev/null
	for i in $(seq 1 200); do
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$SPID" 2>/dev/null && kill -9 "$SPID" 2>/dev/null
	wait "$SPID" 2>/dev/null
	SPID=
}

start_server || { echo "$0: giving up" >&2; exit 1; }
ADMIN_URL=http://127.0.0.1:$ADMIN_PORT
DATA_URL=http://127.0.0.1:$DATA_PORT
export SDPROXY_ADMIN_ADDR=$ADMIN_URL SDPROXY_DATA_ADDR=$DATA_URL SDPROXY_ADMIN_TOKEN=$TOKEN

# ---------------------------------------------------------------- helpers

say() { printf '%s\n' "$*" >>"$RAW"; }
# Every command and request is a numbered step: "[N] $ sdproxy …" or
# "[N] > GET …". Normalised values are named after the step where they
# first appear, so that a change in one answer does not renumber the rest.
STEP=0
step() { STEP=$((STEP + 1)); printf '[%d] ' "$STEP" >>"$RAW"; }
section() { printf '\n\n######## %s\n' "$*" >>"$RAW"; }

# print_file FILE [PREFIX]: the file's lines, ending with a newline.
print_file() {
	[ -s "$1" ] || return 0
	sed -e "s/^/${2:-}/" -e '$a\' "$1" >>"$RAW"
}

# cli ARGS...: run the CLI; print the command, stdout, stderr (prefixed) and
# the exit status. stdout is kept in $T/out for the caller.
cli() { cli_in "" "$@"; }

# cli_in STDIN ARGS...: the same, with STDIN as standard input.
cli_in() {
	local in=$1 rc
	shift
	{
		printf '\n'
		STEP=$((STEP + 1))
		printf '[%d] $ sdproxy' "$STEP"
		printf ' %q' "$@"
		[ -n "$in" ] && printf ' <<< %q' "$in"
		printf '\n'
	} >>"$RAW"
	printf '%s' "$in" | ${TIMEOUT[@]+"${TIMEOUT[@]}"} "$BIN" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	print_file "$T/out"
	print_file "$T/err" 'stderr| '
	say "[exit $rc]"
}

# BODY_MODE: "text" prints response bodies; "sum" prints size and checksum;
# "none" leaves them out.
BODY_MODE=text

# http METHOD admin|data PATH [curl args...]: one request; prints the
# request, the status line, the sorted response headers except Date, and
# the body. The body stays in $T/body for the caller.
http() {
	local method=$1 where=$2 path=$3 url rc a prev=
	shift 3
	case $where in
	admin) url=$ADMIN_URL$path ;;
	data) url=$DATA_URL$path ;;
	demo-data) url=http://127.0.0.1:$DEMO_DATA_PORT$path ;;
	demo-store) url=http://127.0.0.1:$DEMO_STORE_PORT$path ;;
	*) echo "http: bad target $where" >&2; exit 2 ;;
	esac
	say ""
	step
	say "> $method [$where] $path"
	for a in "$@"; do
		case $prev in
		-H) say "> $a" ;;
		--data-binary)
			case $a in
			@*)
				if [ "$(wc -c <"${a#@}")" -le 4096 ]; then
					say "> body: $(cat "${a#@}")"
				else
					say "> body: <file of $(cksum <"${a#@}") (cksum, bytes)>"
				fi
				;;
			*) say "> body: $a" ;;
			esac
			;;
		esac
		prev=$a
	done
	: >"$T/hdr"
	: >"$T/body"
	if [ "$method" = HEAD ]; then
		curl -sS --max-time 10 -I -H 'Expect:' -D "$T/hdr" -o /dev/null "$@" "$url" 2>"$T/cerr"
	else
		curl -sS --max-time 10 -X "$method" -H 'Expect:' -D "$T/hdr" -o "$T/body" "$@" "$url" 2>"$T/cerr"
	fi
	rc=$?
	if [ "$rc" != 0 ]; then
		say "[curl exit $rc]"
		print_file "$T/cerr" 'curl| '
	fi
	# The status line, then the other headers sorted, without Date.
	awk '{ sub(/\r$/, "") }
		NR == 1 { print "< " $0; next }
		$0 == "" || tolower($0) ~ /^date:/ { next }
		{ h[n++] = $0 }
		END {
			for (i = 1; i < n; i++) for (j = i; j > 0 && h[j-1] > h[j]; j--) { t = h[j]; h[j] = h[j-1]; h[j-1] = t }
			for (i = 0; i < n; i++) print "< " h[i]
		}' "$T/hdr" >>"$RAW"
	if [ ! -s "$T/body" ]; then
		:
	elif [ "$BODY_MODE" = none ]; then
		say "<body left out>"
	elif [ "$BODY_MODE" = sum ]; then
		say "<body: cksum and bytes $(cksum <"$T/body")>"
	else
		print_file "$T/body"
	fi
}

# adm METHOD PATH [JSON BODY] [curl args...]: an admin call with the token.
adm() {
	local method=$1 path=$2
	shift 2
	if [ $# -gt 0 ]; then
		local body=$1
		shift
		http "$method" admin "$path" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' --data-binary "$body" "$@"
	else
		http "$method" admin "$path" -H "Authorization: Bearer $TOKEN"
	fi
}

# dp METHOD PATH KEY JSON [curl args...]: a data-plane call; KEY may be "".
dp() {
	local method=$1 path=$2 key=$3 body=$4
	shift 4
	local auth=()
	[ -n "$key" ] && auth=(-H "X-Qanapi-Authorization: $key")
	http "$method" data "$path" ${auth[@]+"${auth[@]}"} -H 'Content-Type: application/json' --data-binary "$body" "$@"
}

# json_get FIELD FILE: the first string value of FIELD (compact or indented).
json_get() {
	grep -oE "\"$1\": ?\"[^\"]*\"" "$2" | head -n 1 | sed -E 's/^"[^"]*": ?"(.*)"$/\1/'
}

# next_cursor FILE: the next_cursor string, or nothing when null.
next_cursor() { json_get next_cursor "$1"; }

# settle_events: wait (bounded) until the event log stops growing, so that
# every event of the calls so far is written before it is read.
settle_events() {
	local prev=x cur same=0 i
	for i in $(seq 1 60); do
		cur=$(curl -s --max-time 5 -H "Authorization: Bearer $TOKEN" "$ADMIN_URL/admin/v1/events/verify" |
			grep -oE '"checked": ?[0-9]+' | grep -oE '[0-9]+$')
		if [ -n "$cur" ] && [ "$cur" = "$prev" ]; then
			same=$((same + 1))
			[ "$same" -ge 3 ] && return 0
		else
			same=0
		fi
		prev=$cur
		sleep 0.1
	done
	say "[events did not settle]"
}

# ---------------------------------------------------------------- session

section "CLI help and version"
cli --version
cli --help
for c in serve demo project key datakey events encrypt decrypt \
	"project create" "project list" "project show" "project update" "project delete" \
	"key create" "key list" "key revoke" "key rotate" \
	"datakey list" "datakey rotate" "events verify"; do
	# shellcheck disable=SC2086
	cli $c --help
done
cli completion --help
cli nosuchcommand

section "health and readiness (no token)"
http GET admin /healthz
http GET admin /readyz
http POST admin /healthz
http GET admin /nope
http GET admin /metrics-not
BODY_MODE=none
http GET admin /metrics
BODY_MODE=text
say "sdproxy metric families:"
curl -s --max-time 10 "$ADMIN_URL/metrics" | grep -E '^# (TYPE|HELP) sdproxy_' | sort >>"$RAW"

section "admin authentication"
http GET admin /admin/v1/projects
http GET admin /admin/v1/projects -H "Authorization: Bearer wrong-token"
http GET admin /admin/v1/projects -H "Authorization: Basic $TOKEN"
http GET admin /admin/v1/projects -H "Authorization: Bearer"
http GET admin /admin/v1/projects -H "Authorization: bearer $TOKEN"
http GET admin /admin/v1/nope
http POST admin /admin/v1/projects -H 'Content-Type: application/json' --data-binary '{"name":"x"}'
cli project list --admin-addr "$ADMIN_URL" </dev/null
say ""
say "# with SDPROXY_ADMIN_TOKEN=wrong-token:"
SDPROXY_ADMIN_TOKEN=wrong-token cli project list
say ""
say "# with SDPROXY_ADMIN_TOKEN unset:"
SDPROXY_ADMIN_TOKEN= cli project list --data-dir "$T/no-such-dir"
cli project list --admin-addr http://127.0.0.1:1
cli project list --admin-addr "$ADMIN_URL" -o yaml

section "projects: CLI"
cli project list
cli project list -o json
cli project create --name Orders --environment production --upstream http://127.0.0.1:1/api \
	--destination https://api.partner.example,http://other.example:8443 --rps 50 --burst 100 --max-active-keys 20
cli project create --name Payments -o json
P_PAY=$(json_get id "$T/out")
cli project create --name Direct --rps 1000000 --burst 5
cli project list -o json
P_ORD=$(grep -oE '"id": ?"prj_[0-9a-z]+"' "$T/out" | head -n 1 | grep -oE 'prj_[0-9a-z]+')
P_DIR=$(grep -oE '"id": ?"prj_[0-9a-z]+"' "$T/out" | sed -n 3p | grep -oE 'prj_[0-9a-z]+')
cli project list
cli project show "$P_ORD"
cli project show "$P_ORD" -o json
cli project show prj_unknown
cli project show prj_unknown -o json
cli project show
cli project update "$P_ORD" --name "Orders EU" --rps 60 --burst 120
cli project update "$P_ORD" --destination https://api.partner.example -o json
cli project update "$P_ORD" --upstream "" -o json
cli project update "$P_ORD" --environment staging
cli project update "$P_ORD" --max-active-keys 0
cli project update prj_unknown --name x
cli project create
cli project create --name Bad --environment moon
cli project create --name Bad --upstream ftp://x
cli project create --name Bad --rps 5
cli project create --name Bad --destination not-a-url
cli project create --name Temp -o json
P_TMP=$(json_get id "$T/out")
cli project delete "$P_TMP"
cli project delete "$P_TMP"
cli project delete "$P_TMP" -o json
cli project list

section "projects: admin API"
adm GET /admin/v1/projects
adm GET /admin/v1/projects/
adm POST /admin/v1/projects '{"name":"Inventory","environment":"staging","upstream":"https://inventory.internal:9000/api","destinations":["https://api.partner.example"],"rate_limit":{"requests_per_second":10,"burst":20},"max_active_keys":3}'
P_INV=$(json_get id "$T/body")
adm POST /admin/v1/projects '{"name":"Minimal"}'
adm POST /admin/v1/projects ''
adm POST /admin/v1/projects '{}'
adm POST /admin/v1/projects '{"name":""}'
adm POST /admin/v1/projects "{\"name\":\"$(printf 'n%.0s' $(seq 1 201))\"}"
adm POST /admin/v1/projects '{"name":"x","environment":"moon"}'
adm POST /admin/v1/projects '{"name":"x","upstream":"not a url"}'
adm POST /admin/v1/projects '{"name":"x","upstream":"http://u:p@host/a"}'
adm POST /admin/v1/projects '{"name":"x","upstream":"http://host/a?q=1"}'
adm POST /admin/v1/projects '{"name":"x","destinations":["nope"]}'
adm POST /admin/v1/projects '{"name":"x","rate_limit":{"requests_per_second":0,"burst":1}}'
adm POST /admin/v1/projects '{"name":"x","rate_limit":{"requests_per_second":1,"burst":0}}'
adm POST /admin/v1/projects '{"name":"x","rate_limit":{"requests_per_second":2000000,"burst":1}}'
adm POST /admin/v1/projects '{"name":"x","max_active_keys":0}'
adm POST /admin/v1/projects '{"name":"x","max_active_keys":1001}'
adm POST /admin/v1/projects '{"name":"x","colour":"blue"}'
adm POST /admin/v1/projects '{"name":42}'
adm POST /admin/v1/projects '{"name":"x","rate_limit":"fast"}'
adm POST /admin/v1/projects '{"name":"x","destinations":"https://a.example"}'
adm POST /admin/v1/projects '{"name":"x","max_active_keys":"ten"}'
adm POST /admin/v1/projects '[1,2]'
adm POST /admin/v1/projects '"name"'
adm POST /admin/v1/projects '{"name":"x"'
adm POST /admin/v1/projects '{"name":"x"}{"name":"y"}'
say ""
say "# over 1 MiB: only announced by Content-Length, no body sent, so that the early"
say "# answer cannot race with the upload (a reset instead of the 413)"
http POST admin /admin/v1/projects -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -H 'Content-Length: 2000000'
adm GET "/admin/v1/projects/$P_INV"
adm GET /admin/v1/projects/prj_unknown
adm PATCH "/admin/v1/projects/$P_INV" '{"name":"Inventory 2","rate_limit":{"requests_per_second":11,"burst":22}}'
adm PATCH "/admin/v1/projects/$P_INV" '{}'
adm PATCH "/admin/v1/projects/$P_INV" '{"environment":"production"}'
adm PATCH "/admin/v1/projects/$P_INV" '{"environment":"staging"}'
adm PATCH "/admin/v1/projects/$P_INV" '{"upstream":""}'
adm PATCH "/admin/v1/projects/$P_INV" '{"max_active_keys":-1}'
adm PATCH "/admin/v1/projects/$P_INV" '{"bogus":1}'
adm PATCH /admin/v1/projects/prj_unknown '{"name":"x"}'
adm PUT "/admin/v1/projects/$P_INV" '{"name":"x"}'
adm DELETE /admin/v1/projects
adm POST "/admin/v1/projects/$P_INV" '{}'
adm GET "/admin/v1/projects/$P_INV/nope"
adm DELETE /admin/v1/projects/prj_unknown

say ""
say "# pagination of projects, limit=1"
adm GET '/admin/v1/projects?limit=1'
c=$(next_cursor "$T/body")
n=0
while [ -n "$c" ] && [ "$n" -lt 20 ]; do
	adm GET "/admin/v1/projects?limit=1&cursor=$c"
	c=$(next_cursor "$T/body")
	n=$((n + 1))
done
adm GET '/admin/v1/projects?limit=2'
c=$(next_cursor "$T/body")
adm GET "/admin/v1/projects?limit=1000&cursor=$c"
adm GET '/admin/v1/projects?limit=0'
adm GET '/admin/v1/projects?limit=1001'
adm GET '/admin/v1/projects?limit=abc'
adm GET '/admin/v1/projects?cursor=not-a-cursor'
adm GET '/admin/v1/projects?cursor=%%%'
adm GET '/admin/v1/projects?cursor=MXx6eno' # base64url of "1|zzz"

section "API keys: CLI"
cli key list --project "$P_PAY"
cli key create --project "$P_PAY" --name checkout
K1_ID=$(grep -oE 'qk_[0-9a-z]+_[0-9A-Za-z]+' "$T/out" | head -n 1)
K1_ID=${K1_ID%_*}
cli key create --project "$P_PAY" --name reporting --permissions decrypt -o json
K2_ID=$(json_get id "$T/out")
cli key create --project "$P_PAY" --name enc-only --permissions encrypt -q
K_ENC=$(head -n 1 "$T/out")
cli classification create --project "$P_PAY" --slug pii --name "Personal data"
cli classification create --project "$P_PAY" --slug card --mask-show-last 4
cli key create --project "$P_PAY" --name tagged --classifications pii,card --expires-at 2099-01-01T00:00:00Z
cli key create --project "$P_PAY" --name month --expires-in 720h -o json
cli key create --project "$P_PAY" -q
K_PLAIN=$(head -n 1 "$T/out")
cli key create --project "$P_PAY" --permissions sign
cli key create --project "$P_PAY" --classifications 'Not A Slug'
cli key create --project "$P_PAY" --expires-at tomorrow
cli key create --project "$P_PAY" --expires-at 2001-01-01T00:00:00Z
cli key create --project prj_unknown --name x
cli key create --name no-project
cli key list --project "$P_PAY"
cli key list --project "$P_PAY" -o json
cli key list --project prj_unknown
cli key revoke "$K2_ID" --project "$P_PAY"
cli key revoke "$K2_ID" --project "$P_PAY" -o json
cli key revoke qk_unknown --project "$P_PAY"
cli key rotate "$K1_ID" --project "$P_PAY"
cli key rotate "$K1_ID" --project "$P_PAY"
cli key list --project "$P_PAY" -o json
K1R_ID=$(grep -oE '"id": ?"qk_[0-9a-z]+"' "$T/out" | tail -n 1 | grep -oE 'qk_[0-9a-z]+')
cli key rotate "$K1R_ID" --project "$P_PAY" --grace-period 1h -o json
K1RR_ID=$(json_get id "$T/out")
cli key rotate "$K1RR_ID" --project "$P_PAY" -q
cli key rotate "$K2_ID" --project "$P_PAY"
cli key rotate "$K1RR_ID" --project "$P_PAY" --grace-period -1h
cli key list --project "$P_PAY"

section "API keys: admin API"
adm GET "/admin/v1/projects/$P_DIR/keys"
adm POST "/admin/v1/projects/$P_DIR/keys" '{"name":"direct-app","permissions":["encrypt","decrypt"],"classifications":[],"expires_at":"2099-06-01T12:00:00Z"}'
KD=$(json_get key "$T/body")
KD_ID=$(json_get id "$T/body")
cli classification create --project "$P_DIR" --slug pii
cli classification create --project "$P_DIR" --slug card
adm POST "/admin/v1/projects/$P_DIR/keys" ''
KD2=$(json_get key "$T/body")
KD2_ID=$(json_get id "$T/body")
adm POST "/admin/v1/projects/$P_DIR/keys" '{"permissions":["encrypt"]}'
KD_ENC=$(json_get key "$T/body")
adm POST "/admin/v1/projects/$P_DIR/keys" '{"permissions":[]}'
adm POST "/admin/v1/projects/$P_DIR/keys" '{"permissions":["admin"]}'
adm POST "/admin/v1/projects/$P_DIR/keys" '{"classifications":["BAD SLUG"]}'
adm POST "/admin/v1/projects/$P_DIR/keys" '{"expires_at":"soon"}'
adm POST "/admin/v1/projects/$P_DIR/keys" '{"expires_at":"2001-01-01T00:00:00Z"}'
adm POST "/admin/v1/projects/$P_DIR/keys" "{\"name\":\"$(printf 'k%.0s' $(seq 1 201))\"}"
adm POST "/admin/v1/projects/$P_DIR/keys" '{"name":"x","secret":"mine"}'
adm POST "/admin/v1/projects/$P_DIR/keys" '{"permissions":"encrypt"}'
adm POST /admin/v1/projects/prj_unknown/keys '{}'
adm GET /admin/v1/projects/prj_unknown/keys
adm GET "/admin/v1/projects/$P_DIR/keys/$KD_ID"
adm GET "/admin/v1/projects/$P_DIR/keys/qk_unknown"
adm GET "/admin/v1/projects/$P_PAY/keys/$KD_ID"
adm DELETE "/admin/v1/projects/$P_DIR/keys/$KD_ID"
adm PUT "/admin/v1/projects/$P_DIR/keys"
adm GET "/admin/v1/projects/$P_DIR/keys/$KD_ID/revoke"
adm GET "/admin/v1/projects/$P_DIR/keys/$KD_ID/rotate"
adm POST "/admin/v1/projects/$P_DIR/keys/$KD_ID/nope" '{}'
adm GET "/admin/v1/projects/$P_DIR/keys/$KD_ID/revoke/extra"
adm POST "/admin/v1/projects/$P_DIR/keys/$KD2_ID/rotate" '{"grace_period":"forever"}'
adm POST "/admin/v1/projects/$P_DIR/keys/$KD2_ID/rotate" '{"grace_period":"-5m"}'
adm POST "/admin/v1/projects/$P_DIR/keys/$KD2_ID/rotate" '{"grace_period":24}'
adm POST "/admin/v1/projects/$P_DIR/keys/$KD2_ID/rotate" '{"grace_period":"90m"}'
KD2R=$(json_get key "$T/body")
adm POST "/admin/v1/projects/$P_DIR/keys/$KD2_ID/rotate" '{}'
adm POST "/admin/v1/projects/$P_DIR/keys/qk_unknown/rotate" '{}'
adm POST "/admin/v1/projects/$P_DIR/keys/$KD2_ID/revoke"
adm POST "/admin/v1/projects/$P_DIR/keys/$KD2_ID/revoke"
adm POST "/admin/v1/projects/$P_DIR/keys/qk_unknown/revoke"
adm GET "/admin/v1/projects/$P_DIR/keys?status=active"
adm GET "/admin/v1/projects/$P_DIR/keys?status=revoked"
adm GET "/admin/v1/projects/$P_DIR/keys?status=expired"
adm GET "/admin/v1/projects/$P_DIR/keys?status=bogus"
adm GET "/admin/v1/projects/$P_DIR/keys?limit=1"
c=$(next_cursor "$T/body")
n=0
while [ -n "$c" ] && [ "$n" -lt 20 ]; do
	adm GET "/admin/v1/projects/$P_DIR/keys?limit=1&cursor=$c"
	c=$(next_cursor "$T/body")
	n=$((n + 1))
done
adm GET "/admin/v1/projects/$P_DIR/keys?limit=1&status=active"
adm GET "/admin/v1/projects/$P_DIR/keys?cursor=bogus"
adm GET "/admin/v1/projects/$P_DIR/keys?limit=-1"

say ""
say "# the key cap: a fresh project with the default max_active_keys (10)"
adm POST /admin/v1/projects '{"name":"Capped"}'
P_CAP=$(json_get id "$T/body")
for i in 1 2 3 4 5 6 7 8 9 10; do
	adm POST "/admin/v1/projects/$P_CAP/keys" "{\"name\":\"k$i\"}"
	[ "$i" = 1 ] && KC1_ID=$(json_get id "$T/body")
done
adm POST "/admin/v1/projects/$P_CAP/keys" '{"name":"k11"}'
cli key create --project "$P_CAP" --name k11
adm POST "/admin/v1/projects/$P_CAP/keys/$KC1_ID/rotate" '{"grace_period":"1h"}'
adm POST "/admin/v1/projects/$P_CAP/keys" '{"name":"k11-after-rotate"}'
adm POST "/admin/v1/projects/$P_CAP/keys/$KC1_ID/revoke"
adm POST "/admin/v1/projects/$P_CAP/keys" '{"name":"k11-after-revoke"}'
adm PATCH "/admin/v1/projects/$P_CAP" '{"max_active_keys":11}'
adm POST "/admin/v1/projects/$P_CAP/keys" '{"name":"k12"}'
adm PATCH "/admin/v1/projects/$P_CAP" '{"max_active_keys":5}'
adm POST "/admin/v1/projects/$P_CAP/keys" '{"name":"over-lowered-cap"}'
cli key list --project "$P_CAP"
adm GET "/admin/v1/projects/$P_CAP/keys?status=active&limit=1000"

section "data keys"
cli datakey list --project "$P_DIR"
cli datakey list --project "$P_DIR" -o json
adm GET "/admin/v1/projects/$P_DIR/datakeys"
cli datakey list --project prj_unknown
cli datakey rotate --project prj_unknown
cli datakey list

section "data plane: direct API"
dp POST /api-v1/v1/encrypt "$KD" '{"data":"Your sensitive data"}'
TOK1=$(json_get data "$T/body")
dp POST /api-v1/v1/decrypt "$KD" "{\"data\":\"$TOK1\"}"
dp POST /api-v1/v1/encrypt "$KD" '{"data":{"user":{"email":"a@b.example","name":"Ann"},"n":1},"fields":["user.email"]}'
cp "$T/body" "$T/enc_fields.json"
dp POST /api-v1/v1/decrypt "$KD" "$(cat "$T/enc_fields.json")"
dp POST /api-v1/v1/encrypt "$KD" '{"data":{"a":1,"b":[true,null]}}'
dp POST /api-v1/v1/encrypt "$KD" '{"data":{"items":[{"card":"4111"},{"card":"5500"}]}}' -H 'X-Qanapi-Fields: items.*.card'
dp POST /api-v1/v1/encrypt "$KD" '{"data":"x"}' -H 'X-Qanapi-Classification: pii'
TOKPII=$(json_get data "$T/body")
dp POST /api-v1/v1/decrypt "$KD" "{\"data\":\"$TOKPII\"}" -H 'X-Qanapi-Classification: card'
dp POST /api-v1/v1/decrypt "$KD" "{\"data\":\"$TOKPII\"}" -H 'X-Qanapi-Classification: pii'
dp POST /api-v1/v1/encrypt "$KD" '{"data":"x"}' -H 'X-Qanapi-Classification: Not A Slug'
dp POST /api-v1/v1/decrypt "$KD" '{"data":"plain"}' -H 'X-Qanapi-Fields: data'
dp POST /api-v1/v1/decrypt "$KD" '{"data":{"v":"plain"},"fields":["v"]}'
# Change one character in the middle of the payload, keeping its length.
TP=${TOK1#*:v1:}
c5=${TP:4:1}
[ "$c5" = A ] && c5=B || c5=A
TAMPERED=${TOK1%%:v1:*}:v1:${TP:0:4}$c5${TP:5}
dp POST /api-v1/v1/decrypt "$KD" "{\"data\":\"$TAMPERED\"}"
dp POST /api-v1/v1/decrypt "$KD" "{\"data\":\"$TOK1\"}" -H 'X-Qanapi-Authorization: dup'
dp POST /api-v1/v1/encrypt "$KD" '{"nodata":1}'
dp POST /api-v1/v1/encrypt "$KD" '{"data":'
dp POST /api-v1/v1/encrypt "$KD" '{"data":{"a":1,"a":2}}'
dp POST /api-v1/v1/encrypt "$KD" '{"data":{"a":1},"fields":["a..b"]}'
dp POST /api-v1/v1/encrypt "$KD_ENC" '{"data":"enc-only"}'
TOKE=$(json_get data "$T/body")
dp POST /api-v1/v1/decrypt "$KD_ENC" "{\"data\":\"$TOKE\"}"
dp POST /api-v1/v1/decrypt "$KD2R" "{\"data\":\"$TOKE\"}"
dp POST /api-v1/v1/encrypt "" '{"data":"x"}'
dp POST /api-v1/v1/encrypt "qk_bad_key" '{"data":"x"}'
# The key with its last character changed: the checksum no longer matches.
[ "${KD: -1}" = x ] && BADKD=${KD%?}y || BADKD=${KD%?}x
dp POST /api-v1/v1/encrypt "$BADKD" '{"data":"x"}'
dp POST /api-v1/v1/encrypt "$KD2" '{"data":"revoked key"}'
dp POST /api-v1/v1/encrypt "$K_PLAIN" '{"data":"other project key works on direct API"}'
http GET data /api-v1/v1/encrypt -H "X-Qanapi-Authorization: $KD"
http PUT data /api-v1/v1/decrypt -H "X-Qanapi-Authorization: $KD"
http GET data /api-v1/v1/nope
http POST data /api-v1/v1/encrypt -H "X-Qanapi-Authorization: $KD" -H 'Content-Type: application/json' -H 'Content-Length: 20000000'
http GET data /

section "data plane: /proxy/{id} without upstream (transform only)"
dp POST "/proxy/$P_DIR" "$KD" '{"user":{"email":"a@b.example"},"n":2}' -H 'X-Qanapi-Fields: user.email'
cp "$T/body" "$T/proxied.json"
dp POST "/proxy/$P_DIR" "$KD" "$(cat "$T/proxied.json")" -H 'X-Qanapi-Fields: user.email' -H 'X-Qanapi-Mode: DECRYPT'
dp POST "/proxy/$P_DIR" "$KD" '{"a":"b"}' -H 'X-Qanapi-Mode: sign'
dp POST "/proxy/$P_DIR" "$KD" '{"a":"b"}'
dp PUT "/proxy/$P_DIR/rest/of/path?q=1" "$KD" '{"a":"b"}' -H 'X-Qanapi-Fields: a'
dp POST "/proxy/$P_DIR" "$KD" '{"a":"b"}' -H 'X-Qanapi-Fields: a' -H 'X-Qanapi-Fields: a'
dp POST "/proxy/$P_DIR" "$KD" '{"a":"b"}' -H 'X-Qanapi-Fields: a' -H 'Content-Encoding: gzip'
dp POST "/proxy/$P_DIR" "$KD" 'not json' -H 'X-Qanapi-Fields: a'
dp POST "/proxy/$P_DIR" "$KD" '{"a":"b"}' -H 'X-Qanapi-Fields: a' -H 'X-Qanapi-Destination: https://evil.example/x'
dp POST "/proxy/$P_DIR" "" '{"a":"b"}' -H 'X-Qanapi-Fields: a'
dp POST "/proxy/$P_DIR" "$K_PLAIN" '{"a":"b"}' -H 'X-Qanapi-Fields: a'
dp POST "/proxy/$P_DIR" "$KD_ENC" '{"a":"b"}' -H 'X-Qanapi-Fields: a' -H 'X-Qanapi-Mode: decrypt'
dp POST /proxy/prj_unknown "$KD" '{"a":"b"}' -H 'X-Qanapi-Fields: a'
dp POST /proxy/ "$KD" '{"a":"b"}'

say ""
say "# rate limit: a project allowing 1 request per 1000 s"
adm POST /admin/v1/projects '{"name":"Slow","rate_limit":{"requests_per_second":0.001,"burst":1}}'
P_SLOW=$(json_get id "$T/body")
adm POST "/admin/v1/projects/$P_SLOW/keys" '{"name":"slow"}'
KS=$(json_get key "$T/body")
dp POST /api-v1/v1/encrypt "$KS" '{"data":1}'
dp POST /api-v1/v1/encrypt "$KS" '{"data":2}'

section "data plane: CLI encrypt and decrypt"
export SDPROXY_API_KEY=$KD
cli encrypt '{"card":"4111","name":"Ann"}'
TOKC=$(grep -oE 'qanapi:[^"]*:\$' "$T/out" | head -n 1)
cli decrypt "\"$TOKC\""
cli encrypt --fields card,address.zip '{"card":"4111","address":{"zip":"12345"},"name":"Ann"}'
cp "$T/out" "$T/cli_fields.json"
cli decrypt --fields card,address.zip "$(cat "$T/cli_fields.json")"
cli decrypt "$(cat "$T/cli_fields.json")"
cli encrypt --fields card -o json '{"card":"4111"}'
cli decrypt -o json "$(cat "$T/cli_fields.json")"
cli encrypt --text 'plain text value'
TOKT=$(grep -oE 'qanapi:[^"]*:\$' "$T/out" | head -n 1)
cli decrypt "[\"$TOKT\",\"not a token\",3]"
cli_in '{"from":"stdin"}' encrypt -
cli_in '"piped"' encrypt
cli encrypt --classification pii '"tagged"'
TOKCL=$(grep -oE 'qanapi:[^"]*:\$' "$T/out" | head -n 1)
cli decrypt --classification pii "\"$TOKCL\""
cli decrypt --classification card "\"$TOKCL\""
cli decrypt '"qanapi:bm9uZQ:v1:AAAA:$"'
cli decrypt --fields x '{"x":"plain"}'
cli encrypt '{not json'
cli encrypt --api-key qk_bad_key '"x"'
cli encrypt --api-key "$KD_ENC" '"x"'
cli decrypt --api-key "$KD_ENC" "\"$TOKC\""
cli encrypt --api-key "$KS" '"rate limited"'
unset SDPROXY_API_KEY
cli encrypt '"no key"'
cli encrypt --api-key "$KD" --data-addr http://127.0.0.1:1 '"unreachable"'

section "data keys after use"
cli datakey list --project "$P_DIR"
cli datakey rotate --project "$P_DIR"
cli datakey rotate --project "$P_DIR" -o json
adm POST "/admin/v1/projects/$P_DIR/datakeys/rotate"
adm GET "/admin/v1/projects/$P_DIR/datakeys"
adm PATCH "/admin/v1/projects/$P_DIR/datakeys" '{"min_decryption_version":2}'
dp POST /api-v1/v1/decrypt "$KD" "{\"data\":\"$TOK1\"}"
adm PATCH "/admin/v1/projects/$P_DIR/datakeys" '{"min_decryption_version":1}'
dp POST /api-v1/v1/decrypt "$KD" "{\"data\":\"$TOK1\"}"
adm PATCH "/admin/v1/projects/$P_DIR/datakeys" '{}'
adm PATCH "/admin/v1/projects/$P_DIR/datakeys" '{"min_decryption_version":0}'
adm PATCH "/admin/v1/projects/$P_DIR/datakeys" '{"min_decryption_version":99}'
adm PATCH "/admin/v1/projects/$P_DIR/datakeys" '{"min_decryption_version":"2"}'
adm PUT "/admin/v1/projects/$P_DIR/datakeys" '{}'
adm GET "/admin/v1/projects/$P_DIR/datakeys/rotate"
adm POST /admin/v1/projects/prj_unknown/datakeys/rotate
adm GET /admin/v1/projects/prj_unknown/datakeys
adm GET "/admin/v1/projects/$P_PAY/datakeys"
cli datakey list --project "$P_DIR"
dp POST /api-v1/v1/encrypt "$KD" '{"data":"after rotation"}'
cli datakey list --project "$P_DIR" -o json

section "keys after use (last used)"
cli key list --project "$P_DIR"
adm GET "/admin/v1/projects/$P_DIR/keys/$KD_ID"

section "events"
settle_events
cli events --project "$P_DIR"
cli events --project "$P_DIR" -o json
cli events --project "$P_DIR" --limit 3
cli events --project "$P_DIR" --key "$KD_ID" --limit 5
cli events --project "$P_DIR" --type key.
cli events --project "$P_DIR" --type request --limit 4 -o json
cli events --project "$P_DIR" --type datakey.
cli events --project "$P_DIR" --since 1999-01-01T00:00:00Z --limit 2
cli events --project "$P_DIR" --since 2099-01-01T00:00:00Z
cli events --project "$P_PAY"
cli events --project "$P_CAP" --type key.created --limit 1000
cli events --project "$P_DIR" --since yesterday
cli events --project "$P_DIR" --limit 0
cli events --project prj_unknown
cli events
if [ ${#TIMEOUT[@]} -gt 0 ]; then
	say ""
	step
	say "\$ timeout 2 sdproxy events --project $P_PAY --follow --limit 3 --interval 200ms"
	timeout 2 "$BIN" events --project "$P_PAY" --follow --limit 3 --interval 200ms >"$T/out" 2>"$T/err" </dev/null
	rc=$?
	print_file "$T/out"
	print_file "$T/err" 'stderr| '
	say "[exit $rc]"
fi
cli events verify
cli events verify --data-dir "$T/data"
say ""
say "# with SDPROXY_MASTER_KEY set (the file is locked by serve, so the CLI asks the API):"
SDPROXY_MASTER_KEY=$MASTER_KEY cli events verify --data-dir "$T/data"
SDPROXY_MASTER_KEY=$MASTER_KEY cli events verify --data-dir "$T/data" -o json
adm GET "/admin/v1/projects/$P_DIR/events"
adm GET "/admin/v1/projects/$P_DIR/events?limit=1"
c=$(next_cursor "$T/body")
adm GET "/admin/v1/projects/$P_DIR/events?limit=1&cursor=$c"
c=$(next_cursor "$T/body")
adm GET "/admin/v1/projects/$P_DIR/events?limit=2&cursor=$c"
adm GET "/admin/v1/projects/$P_DIR/events?key_id=$KD_ID&limit=3"
adm GET "/admin/v1/projects/$P_DIR/events?type=key.&limit=3"
adm GET "/admin/v1/projects/$P_DIR/events?type=key.revoked"
adm GET "/admin/v1/projects/$P_DIR/events?type=datakey.rotated"
adm GET "/admin/v1/projects/$P_DIR/events?since=1999-01-01T00:00:00Z&until=2099-01-01T00:00:00Z&limit=2"
adm GET "/admin/v1/projects/$P_DIR/events?since=2099-01-01T00:00:00Z"
adm GET "/admin/v1/projects/$P_DIR/events?until=1999-01-01T00:00:00Z"
adm GET "/admin/v1/projects/$P_DIR/events?since=yesterday"
adm GET "/admin/v1/projects/$P_DIR/events?until=2099-13-01T00:00:00Z"
adm GET "/admin/v1/projects/$P_DIR/events?limit=0"
adm GET "/admin/v1/projects/$P_DIR/events?limit=5000"
adm GET "/admin/v1/projects/$P_DIR/events?cursor=bogus"
adm GET "/admin/v1/projects/$P_DIR/events?after=bogus"
adm GET "/admin/v1/projects/$P_DIR/events?limit=3"
LAST_EVT=$(grep -oE '"id":"evt_[0-9]+"' "$T/body" | sed -n 3p | grep -oE 'evt_[0-9]+')
adm GET "/admin/v1/projects/$P_DIR/events?after=$LAST_EVT"
adm GET /admin/v1/projects/prj_unknown/events
adm POST "/admin/v1/projects/$P_DIR/events" '{}'
adm GET /admin/v1/events/verify
adm POST /admin/v1/events/verify '{}'
adm GET /admin/v1/events

section "web console and redirects"
http GET admin /
http GET admin /ui
http GET admin /ui/nope
http GET admin /ui/js/nope.js
http GET admin /ui/../admin/v1/projects
http POST admin /ui/ --data-binary '{}'
http DELETE admin /ui/index.html
http PUT admin /ui/nope
http HEAD admin /ui/
BODY_MODE=sum
for f in "" index.html app.css js/api.js js/app.js js/datakeys.js js/dialog.js js/dom.js js/events.js \
	js/keys.js js/project.js js/projectform.js js/projects.js js/proxytab.js js/signin.js; do
	http GET admin "/ui/$f"
done
BODY_MODE=text

section "deleting a project"
cli project delete "$P_SLOW"
adm GET "/admin/v1/projects/$P_SLOW"
adm GET "/admin/v1/projects/$P_SLOW/keys"
dp POST /api-v1/v1/encrypt "$KS" '{"data":"deleted project"}'
adm DELETE "/admin/v1/projects/$P_INV"
adm DELETE "/admin/v1/projects/$P_INV"
cli project list
settle_events
cli events --project "$P_SLOW"
cli events --project "$P_INV" -o json
cli events verify

section "rotation with no grace period, and a restart"
# The key.expired event comes from a check every 30 s and at start-up, so
# nothing else happens between this rotation and the restart: whichever
# reports the expiry, the event log ends the same way.
adm POST "/admin/v1/projects/$P_DIR/keys/$KD_ID/rotate" '{"grace_period":"0s"}'
KD3=$(json_get key "$T/body")
stop_server
say ""
say "# serve stopped and started again on the same data directory"
start_server again || { echo "$0: restart failed" >&2; exit 1; }
http GET admin /readyz
dp POST /api-v1/v1/encrypt "$KD" '{"data":"old key, grace 0s"}'
dp POST /api-v1/v1/encrypt "$KD3" '{"data":"new key"}'
adm GET "/admin/v1/projects/$P_DIR/keys?status=expired"
adm GET "/admin/v1/projects/$P_DIR/keys?status=active&limit=1"
cli key list --project "$P_DIR"
cli project list
settle_events
cli events --project "$P_DIR" --limit 4
adm GET "/admin/v1/projects/$P_DIR/events?type=key.expired"
SDPROXY_MASTER_KEY=$MASTER_KEY cli events verify --data-dir "$T/data"

section "after the server stopped"
stop_server
say ""
say "# with SDPROXY_MASTER_KEY set to the session's key:"
SDPROXY_MASTER_KEY=$MASTER_KEY cli events verify --data-dir "$T/data"
SDPROXY_MASTER_KEY=$MASTER_KEY cli events verify --data-dir "$T/data" -o json
say ""
say "# with another master key:"
SDPROXY_MASTER_KEY=AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE= cli events verify --data-dir "$T/data"
SDPROXY_MASTER_KEY=AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE= SDPROXY_DATA_DIR=$T/data \
	SDPROXY_LISTEN=127.0.0.1:$DATA_PORT SDPROXY_ADMIN_LISTEN=127.0.0.1:$ADMIN_PORT cli serve
cli project list

section "sdproxy demo"
mkdir -p "$T/demo-tmp"
say ""
step
say "\$ sdproxy demo --listen 127.0.0.1:<DEMO_DATA_PORT> --admin-listen 127.0.0.1:<DEMO_ADMIN_PORT> --store-listen 127.0.0.1:<DEMO_STORE_PORT>"
for attempt in 1 2 3; do
	DEMO_DATA_PORT=$(pick_port "$DATA_PORT" "$ADMIN_PORT") &&
		DEMO_ADMIN_PORT=$(pick_port "$DATA_PORT" "$ADMIN_PORT" "$DEMO_DATA_PORT") &&
		DEMO_STORE_PORT=$(pick_port "$DATA_PORT" "$ADMIN_PORT" "$DEMO_DATA_PORT" "$DEMO_ADMIN_PORT") ||
		{ echo "$0: no free ports for the demo" >&2; exit 1; }
	TMPDIR=$T/demo-tmp SDPROXY_ADMIN_TOKEN= "$BIN" demo --listen "127.0.0.1:$DEMO_DATA_PORT" \
		--admin-listen "127.0.0.1:$DEMO_ADMIN_PORT" --store-listen "127.0.0.1:$DEMO_STORE_PORT" \
		>"$T/demo.out" 2>"$T/demo.err" </dev/null &
	DEMO_PID=$!
	for i in $(seq 1 150); do
		grep -q 'Manage keys' "$T/demo.out" 2>/dev/null && break
		kill -0 "$DEMO_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$DEMO_PID" 2>/dev/null && break
	# It stopped: most likely a port was taken meanwhile. Try other ports.
	wait "$DEMO_PID" 2>/dev/null
	DEMO_PID=
	echo "$0: demo stopped early (attempt $attempt):" >&2
	sed 's/^/    /' "$T/demo.err" >&2
done
sleep 0.2
print_file "$T/demo.out"
DEMO_KEY=$(sed -n 's/^ *export KEY=\([^ ]*\).*/\1/p' "$T/demo.out")
DEMO_PRJ=$(grep -oE '/proxy/prj_[0-9a-z]+' "$T/demo.out" | head -n 1 | sed 's#/proxy/##')
# The demo project allows 100 requests/s (burst 200): 50 ms between calls
# refill the bucket, so that RateLimit-Remaining does not depend on timing.
demo_http() { sleep 0.05; http "$@"; }
DEMO_DIR=$(grep -oE -- '--data-dir [^ ]+' "$T/demo.out" | head -n 1 | sed 's/^--data-dir //')
demo_http POST demo-data "/proxy/$DEMO_PRJ" -H "X-Qanapi-Authorization: $DEMO_KEY" -H 'X-Qanapi-Mode: encrypt' \
	-H 'X-Qanapi-Fields: title,body' -H 'Content-Type: application/json' \
	--data-binary '{"userId": 1, "title": "Sensitive title", "body": "Sensitive body text"}'
demo_http POST demo-data "/proxy/$DEMO_PRJ/posts" -H "X-Qanapi-Authorization: $DEMO_KEY" \
	-H 'X-Qanapi-Fields: title,body' -H 'Content-Type: application/json' \
	--data-binary '{"userId": 1, "title": "Sensitive title", "body": "Sensitive body text"}'
demo_http GET demo-store /posts/1
cp "$T/body" "$T/stored.json"
demo_http POST demo-data "/proxy/$DEMO_PRJ" -H "X-Qanapi-Authorization: $DEMO_KEY" -H 'X-Qanapi-Mode: decrypt' \
	-H 'X-Qanapi-Fields: title,body' -H 'Content-Type: application/json' --data-binary "@$T/stored.json"
demo_http GET demo-data "/proxy/$DEMO_PRJ/posts" -H "X-Qanapi-Authorization: $DEMO_KEY" \
	-H 'X-Qanapi-Mode: decrypt' -H 'X-Qanapi-Fields: *.title,*.body'
demo_http GET demo-data "/proxy/$DEMO_PRJ/posts/99" -H "X-Qanapi-Authorization: $DEMO_KEY"
demo_http POST demo-data /api-v1/v1/encrypt -H "X-Qanapi-Authorization: $DEMO_KEY" \
	-H 'Content-Type: application/json' --data-binary '{"data": "Your sensitive data"}'
SDPROXY_ADMIN_TOKEN= cli key list --project "$DEMO_PRJ" --admin-addr "http://127.0.0.1:$DEMO_ADMIN_PORT" --data-dir "$DEMO_DIR"
SDPROXY_ADMIN_TOKEN= cli events --project "$DEMO_PRJ" --admin-addr "http://127.0.0.1:$DEMO_ADMIN_PORT" --data-dir "$DEMO_DIR" --limit 3 --type key.
kill "$DEMO_PID" 2>/dev/null
for i in $(seq 1 150); do
	kill -0 "$DEMO_PID" 2>/dev/null || break
	sleep 0.1
done
wait "$DEMO_PID" 2>/dev/null
rc=$?
DEMO_PID=
say ""
say "# demo stopped with SIGTERM: exit $rc; temporary directory left behind: $(ls -A "$T/demo-tmp" | wc -l | tr -d ' ') entries"
say "# its standard error:"
print_file "$T/demo.err" 'demo stderr| '

# ---------------------------------------------------------------- normalise

[ -n "${APICOMPAT_RAW:-}" ] && cp "$RAW" "$APICOMPAT_RAW"

# map_values REGEX FORMAT IN OUT [END]: replace each distinct match of the
# grep -E REGEX by printf FORMAT of n, n counting distinct values in order of
# first appearance. A value is replaced only where the character after it is
# not in END (a bracket expression; default: base64url characters), so that
# adm_…-1 is not replaced inside adm_…-10.
map_values() {
	local re=$1 fmt=$2 in=$3 out=$4 end=${5:-[^0-9A-Za-z_-]}
	grep -oE -- "$re" "$in" | awk -v fmt="$fmt" -v end="$end" '
		!seen[$0]++ {
			v = $0
			gsub(/[][\\.*^$\/&+?(){}|]/, "\\\\&", v)
			printf "s/%s(%s|$)/%s\\1/g\n", v, end, sprintf(fmt, ++n)
		}' >"$T/map.sed"
	sed -E -f "$T/map.sed" "$in" >"$out"
}

# map_by_step REGEX NAME IN OUT [END] [PAYLOAD]: replace each distinct match
# of REGEX by <NAME@S>, S the step where it first appears (<NAME@S.k> for
# the k-th new value of that step). With PAYLOAD=1 the matches are tokens and
# only their payload is replaced, by <NAME@S/LENGTH>.
map_by_step() {
	local re=$1 name=$2 in=$3 out=$4 end=${5:-[^0-9A-Za-z_-]} payload=${6:-0}
	{
		grep -nE '^\[[0-9]+\] ' "$in" | sed -E 's/^([0-9]+):\[([0-9]+)\].*/S \1 \2/'
		grep -noE -- "$re" "$in" | sed -E 's/^([0-9]+):/M \1 /'
	} | sort -s -k2,2n -k1,1r | awk -v name="$name" -v end="$end" -v payload="$payload" '
		$1 == "S" { step = $3; next }
		{
			v = $3
			if (payload) { sub(/^qanapi:[^:]+:v[0-9]+:/, "", v); sub(/:.*$/, "", v) }
			if (v in seen) next
			seen[v] = 1
			k = ++count[step]
			label = name "@" step (k > 1 ? "." k : "")
			e = v
			gsub(/[][\\.*^$\/&+?(){}|]/, "\\\\&", e)
			if (payload) printf "s/:%s:/:<%s\\/%d>:/g\n", e, label, length(v)
			else printf "s/%s(%s|$)/<%s>\\1/g\n", e, end, label
		}' >"$T/map.sed"
	sed -E -f "$T/map.sed" "$in" >"$out"
}

N=$T/norm
lit() { printf '%s' "$1" | sed 's/[][\.*^$/&#]/\\&/g'; }
# 1. Literal values of this run: temp paths, ports, the admin token.
sed -e "s#$(lit "$T")#<TMP>#g" \
	-e "s#127\.0\.0\.1:$ADMIN_PORT\\([^0-9]\\|$\\)#127.0.0.1:<ADMIN_PORT>\\1#g" \
	-e "s#127\.0\.0\.1:$DATA_PORT\\([^0-9]\\|$\\)#127.0.0.1:<DATA_PORT>\\1#g" \
	-e "s#127\.0\.0\.1:$DEMO_DATA_PORT\\([^0-9]\\|$\\)#127.0.0.1:<DEMO_DATA_PORT>\\1#g" \
	-e "s#127\.0\.0\.1:$DEMO_ADMIN_PORT\\([^0-9]\\|$\\)#127.0.0.1:<DEMO_ADMIN_PORT>\\1#g" \
	-e "s#127\.0\.0\.1:$DEMO_STORE_PORT\\([^0-9]\\|$\\)#127.0.0.1:<DEMO_STORE_PORT>\\1#g" \
	-e "s#$(lit "$TOKEN")#<ADMIN_TOKEN>#g" \
	-e 's#sdproxy-demo-[0-9][0-9]*#sdproxy-demo-<N>#g' \
	"$RAW" >"$N.1"
# 2. Key secrets: qk_<12 base36>_<38 base62> keeps its id, loses its secret.
sed -E 's/(qk_[0-9a-z]{12})_[0-9A-Za-z]{38}([^0-9A-Za-z]|$)/\1_<SECRET>\2/g' "$N.1" >"$N.2"
# 3. Token payloads (random nonces): each distinct payload becomes
#    <payload@STEP/LENGTH>; the classification and key version stay. (In
#    printed command lines the final $ is escaped: :\$.)
map_by_step 'qanapi:[A-Za-z0-9_-]+:v[0-9]+:[A-Za-z0-9_-]+:\\?\$' payload "$N.2" "$N.3" '' 1
# 4. Request ids (TAG_<8 hex>-<base36 counter>): a random part per process
#    and a counter that the /readyz polls also advance. Each tag (adm, req,
#    srv, or any other) is numbered on its own.
cp "$N.3" "$N.4"
for tag in $(grep -oE '(^|[^0-9A-Za-z_])[a-z]{2,5}_[0-9a-f]{8}-[0-9a-z]+' "$N.3" |
	sed -E 's/^[^a-z]?([a-z]+)_.*$/\1/' | sort -u); do
	case $tag in
	adm) name=adm-req ;;
	req) name=data-req ;;
	*) name=$tag-req ;;
	esac
	map_by_step "${tag}_[0-9a-f]{8}-[0-9a-z]+" "$name" "$N.4" "$N.4x" '[^0-9a-z]'
	mv "$N.4x" "$N.4"
done
# 5. List cursors that encode times (short ones such as c13 stay).
grep -oE '"next_cursor":"[A-Za-z0-9_=-]{16,}"' "$N.4" | sed -E 's/^"next_cursor":"(.*)"$/\1/' >"$T/cursors"
if [ -s "$T/cursors" ]; then
	map_by_step "$(awk '!seen[$0]++ { printf "%s%s", sep, $0; sep = "|" }' "$T/cursors")" cursor "$N.4" "$N.5"
else
	cp "$N.4" "$N.5"
fi
# 6. Project and key ids, keeping their length so that tables stay aligned.
map_values 'prj_[0-9a-z]{12}' 'prj_PROJ%08d' "$N.5" "$N.6a" '[^0-9a-z]'
map_values 'qk_[0-9a-z]{12}' 'qk_KEY%09d' "$N.6a" "$N.6" '[^0-9a-z]'
# 7. Times of this run (not the fixed 1999, 2001 and 2099 inputs): each
#    distinct RFC 3339 instant becomes <t@STEP>; the CLI's shortened times
#    keep their width.
RFC='20(2[0-9]|[3-8][0-9]|9[0-8])-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})'
# (Times at exactly midnight, such as 2027-01-01T00:00:00Z in error
# messages, are the API's fixed examples and stay.)
sed -E 's/T00:00:00Z/T00:00:00@Z/g' "$N.6" >"$N.6b"
map_by_step "$RFC" t "$N.6b" "$N.7b" '[^0-9A-Za-z]'
sed 's/T00:00:00@Z/T00:00:00Z/g' "$N.7b" >"$N.7a"
sed -E -e 's/20(2[0-9]|[3-8][0-9]|9[0-8])-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z/YYYY-MM-DD hh:mm:ss.mmmZ/g' \
	-e 's/20(2[0-9]|[3-8][0-9]|9[0-8])-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}Z/YYYY-MM-DD hh:mm:ssZ/g' \
	"$N.7a" >"$N.7"
# 8. Latencies, lengths that follow from the values replaced above, and the
#    seconds until the 0.001/s bucket refills (1000 less the seconds between
#    requests; a stalled machine takes some off).
sed -E -e 's/"latency_ms": ?[0-9][0-9.eE+-]*/"latency_ms":<latency>/g' \
	-e 's/  [0-9]+\.[0-9]{2}ms$/  <latency>/' \
	-e 's/^< Content-Length: [0-9]+$/< Content-Length: <len>/' \
	-e 's/^< (Ratelimit-Reset|Retry-After): (9[0-9][0-9]|1000)$/< \1: <900-1000>/I' \
	"$N.7" >"$N.8"

if [ -n "$OUT" ]; then
	cp "$N.8" "$OUT"
else
	cat "$N.8"
fi
