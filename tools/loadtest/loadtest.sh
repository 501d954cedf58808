#!/usr/bin/env bash
# Load test on loopback (`make loadtest`; see README.md): wrk against four
# proxies in front of one fixed-answer upstream, in interleaved rounds:
#   bare      a bare fasthttp forwarder (the baseline)
#   nginx     nginx with one worker and kept-alive upstream connections
#   pass      sdproxy pass-through: auth, rate limit, forward, one event
#   fields    sdproxy full path: the same + 2 fields of a 300-byte body encrypted
#   work      the bare forwarder spending WORK of CPU per request first (5us):
#             what a given amount of a proxy's own work does to the rates
# wrk runs on CPU 0; the upstream and the proxies on CPU 1 (GOMAXPROCS=1).
# Prints per run, then a table of medians over rounds. Not a test: no pass/fail.
#
# Environment: ROUNDS (3), SECS per run (10), CONNS (64), WARMUP seconds
# before each run (2), OUT (a directory to keep wrk's output, the per-run
# figures, the processes' logs and perf's recordings in), GO (go), PROFILE
# (0; 1: after the rounds, record the bare forwarder and sdproxy's full
# path with perf and print where each one's CPU time goes per request;
# see README.md), WORK (5us: the CPU time the "work" target spends per
# request; 0 leaves that target out), BASE (a git revision: also build sdproxy at it and run
# its full path in every round, after the work tree's, to compare a change
# in one run).
set -euo pipefail

ROUNDS=${ROUNDS:-3} SECS=${SECS:-10} CONNS=${CONNS:-64} WARMUP=${WARMUP:-2} GO=${GO:-go} PROFILE=${PROFILE:-0}
WORK=${WORK:-5us}
[[ $WORK == 0 || $WORK =~ ^[0-9]+(\.[0-9]+)?(ns|us|µs|ms)$ ]] || { echo "loadtest: WORK=$WORK is not a duration such as 5us (or 0)" >&2; exit 2; }
BASE=${BASE:-}
OUT=${OUT:+$(realpath -m "$OUT")}
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."

log() { printf '%s\n' "$*" >&2; }
die() { log "loadtest: $*"; exit 1; }

# install_tools installs wrk and nginx from Debian when they are missing;
# a temporary policy-rc.d keeps the package from starting nginx's service.
install_tools() {
	local need=() sudo= policy=/usr/sbin/policy-rc.d made= rc=0
	command -v wrk >/dev/null || need+=(wrk)
	nginx_bin >/dev/null || need+=(nginx)
	command -v taskset >/dev/null || need+=(util-linux)
	[[ $PROFILE != 1 ]] || command -v perf >/dev/null || need+=(linux-perf)
	((${#need[@]})) || return 0
	command -v apt-get >/dev/null || die "${need[*]} missing and no apt-get: install them by hand"
	if ((EUID != 0)); then
		command -v sudo >/dev/null || die "${need[*]} missing: run as root, or install sudo"
		sudo=sudo
	fi
	log "installing ${need[*]} with apt-get (nginx's service is not started)"
	if [[ ! -e $policy ]]; then
		$sudo sh -c "printf '#!/bin/sh\nexit 101\n' >$policy && chmod 755 $policy" && made=1
	fi
	$sudo env DEBIAN_FRONTEND=noninteractive sh -c 'apt-get update && apt-get install -y "$@"' sh "${need[@]}" || rc=$?
	[[ -z $made ]] || $sudo rm -f "$policy"
	((rc == 0)) || die "apt-get install ${need[*]} failed"
}

nginx_bin() { command -v nginx || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; }; }

# --- processes: each one started here is stopped on exit, then tmp removed.
pids=()
cleanup() {
	local rc=$?
	trap - EXIT
	((${#pids[@]} == 0)) || kill "${pids[@]}" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$tmp"
	exit "$rc"
}

# on_cpu1 NAME CMD... starts CMD in the background on CPU 1 with
# GOMAXPROCS=1, its output in $tmp/NAME.log; the pid is in $!.
on_cpu1() {
	local name=$1; shift
	GOMAXPROCS=1 taskset -c 1 "$@" >"$tmp/$name.log" 2>&1 &
	pids+=($!)
}

# free_port FROM prints the first port from FROM on that nothing listens to.
free_port() {
	local p
	for ((p = $1; p < $1 + 2000; p++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
	die "no free port from $1"
}

# wait_port PORT PID NAME waits until PORT accepts connections.
wait_port() {
	local i
	for ((i = 0; i < 100; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return
		kill -0 "$2" 2>/dev/null || die "$3 exited: $(tail -5 "$tmp/$3.log")"
		sleep 0.1
	done
	die "$3 does not listen on port $1: $(tail -5 "$tmp/$3.log")"
}

# child_of PID prints the pid of PID's (first) child: nginx's worker.
child_of() {
	local f s ppid
	for f in /proc/[0-9]*/stat; do
		s=$(cat "$f" 2>/dev/null) || continue
		read -r _ ppid _ <<<"${s##*) }"
		[[ $ppid == "$1" ]] && { f=${f#/proc/}; echo "${f%/stat}"; return; }
	done
	die "process $1 has no child"
}

# cpu_ticks PID prints the user + system CPU time of PID in clock ticks
# (/proc/PID/stat fields 14 and 15).
cpu_ticks() {
	local s f
	s=$(cat "/proc/$1/stat")
	read -r -a f <<<"${s##*) }" # f[0] is field 3
	echo $((f[11] + f[12]))
}

write_nginx_conf() { # write_nginx_conf DIR LISTEN_PORT UPSTREAM_PORT
	mkdir -p "$1"
	cat >"$1/nginx.conf" <<-EOF
		worker_processes 1;
		daemon off;
		pid $1/nginx.pid;
		error_log $1/error.log warn;
		events { worker_connections 4096; }
		http {
		    access_log off;
		    client_body_temp_path $1/body;
		    proxy_temp_path $1/proxy;
		    fastcgi_temp_path $1/fastcgi;
		    uwsgi_temp_path $1/uwsgi;
		    scgi_temp_path $1/scgi;
		    keepalive_requests 1000000;
		    upstream up {
		        server 127.0.0.1:$3;
		        keepalive 64;
		        keepalive_requests 1000000;
		    }
		    server {
		        listen 127.0.0.1:$2;
		        location / {
		            proxy_pass http://up;
		            proxy_http_version 1.1;
		            proxy_set_header Connection "";
		        }
		    }
		}
	EOF
}

# start_all builds and starts the upstream and the proxies, and fills url,
# pid (the process whose CPU is counted) and fields per target.
start_all() {
	log "building sdproxy, bareproxy and upstream"
	"$GO" build -o "$tmp/sdproxy" ./cmd/sdproxy
	"$GO" build -o "$tmp/bareproxy" ./tools/loadtest/bareproxy
	"$GO" build -o "$tmp/upstream" ./tools/loadtest/upstream
	[[ $PROFILE != 1 ]] || "$GO" build -o "$tmp/perfsplit" ./tools/loadtest/perfsplit

	local p_up p_bare p_nginx p_data p_admin p_work
	p_up=$(free_port 19180); p_bare=$(free_port $((p_up + 1))); p_nginx=$(free_port $((p_bare + 1)))
	p_data=$(free_port $((p_nginx + 1))); p_admin=$(free_port $((p_data + 1))); p_work=$(free_port $((p_admin + 1)))

	on_cpu1 upstream "$tmp/upstream" -listen "127.0.0.1:$p_up"
	up_pid=$!
	wait_port "$p_up" "$up_pid" upstream

	on_cpu1 bareproxy "$tmp/bareproxy" -listen "127.0.0.1:$p_bare" -upstream "127.0.0.1:$p_up"
	pid[bare]=$!
	wait_port "$p_bare" "${pid[bare]}" bareproxy
	url[bare]=http://127.0.0.1:$p_bare/posts

	if [[ $WORK != 0 ]]; then
		on_cpu1 bareproxy-work "$tmp/bareproxy" -listen "127.0.0.1:$p_work" -upstream "127.0.0.1:$p_up" -work "$WORK"
		pid[work]=$!
		wait_port "$p_work" "${pid[work]}" bareproxy-work
		url[work]=http://127.0.0.1:$p_work/posts
	fi

	write_nginx_conf "$tmp/nginx" "$p_nginx" "$p_up"
	on_cpu1 nginx "$(nginx_bin)" -p "$tmp/nginx/" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/error.log"
	local master=$!
	wait_port "$p_nginx" "$master" nginx
	pid[nginx]=$(child_of "$master")
	url[nginx]=http://127.0.0.1:$p_nginx/posts

	start_sdproxy sdproxy "$tmp/sdproxy" "$p_up"
	key[bare]=$sd_key key[nginx]=$sd_key key[work]=$sd_key # the same request bytes to every proxy
	url[pass]=$sd_url pid[pass]=$sd_pid key[pass]=$sd_key
	url[fields]=$sd_url pid[fields]=$sd_pid key[fields]=$sd_key
	local project
	project=$(create_project check "")
	check_key=$("$sd_cli" key create --project "$project" -q)
	check_url=http://127.0.0.1:$p_data/proxy/$project/posts
	if [[ -n $BASE ]]; then
		build_base
		p_data=$(free_port $((p_work + 10))); p_admin=$(free_port $((p_data + 1)))
		start_sdproxy sdproxy-base "$tmp/sdproxy-base" "$p_up"
		url[base]=$sd_url pid[base]=$sd_pid key[base]=$sd_key
	fi
}

# start_sdproxy NAME BINARY UPSTREAM_PORT starts sdproxy serve on its
# defaults (event log on) with a data directory of its own, on p_data and
# p_admin, creates a project forwarding to the upstream and a key, and sets
# sd_url, sd_pid and sd_key. Its environment stays exported, and sd_cli
# names its binary, for the CLI (create_project, the preflight's check
# project) until the next call.
start_sdproxy() {
	local name=$1 bin=$2 project
	sd_cli=$bin
	export SDPROXY_DATA_DIR=$tmp/data-$name SDPROXY_LISTEN=127.0.0.1:$p_data SDPROXY_ADMIN_LISTEN=127.0.0.1:$p_admin \
		SDPROXY_ADMIN_ADDR=http://127.0.0.1:$p_admin SDPROXY_LOG_LEVEL=warn
	SDPROXY_MASTER_KEY=$(head -c32 /dev/urandom | base64)
	export SDPROXY_MASTER_KEY
	on_cpu1 "$name" "$bin" serve
	sd_pid=$!
	wait_port "$p_admin" "$sd_pid" "$name"
	wait_port "$p_data" "$sd_pid" "$name"
	project=$(create_project load "http://127.0.0.1:$3")
	sd_key=$("$bin" key create --project "$project" -q)
	sd_url=http://127.0.0.1:$p_data/proxy/$project/posts
}

# build_base builds sdproxy as it is at the git revision BASE, from that
# revision's files exported into tmp, into $tmp/sdproxy-base.
build_base() {
	local rev
	rev=$(git rev-parse --verify --quiet "$BASE^{commit}") || die "BASE=$BASE is not a git revision here"
	log "building sdproxy at $BASE ($(git log -1 --format='%h %s' "$rev"))"
	mkdir "$tmp/base"
	git archive "$rev" | tar -x -C "$tmp/base" || die "git archive $BASE failed"
	(cd "$tmp/base" && "$GO" build -o "$tmp/sdproxy-base" ./cmd/sdproxy) || die "building sdproxy at $BASE failed"
}

# create_project NAME UPSTREAM prints the id of a new project whose rate
# limit is far above what the load test sends; no upstream: answer directly.
create_project() {
	local id
	id=$("$sd_cli" project create --name "$1" --upstream "$2" --rps 1000000 --burst 1000000 -o json |
		sed -n 's/.*"id": "\(prj_[a-z0-9]*\)".*/\1/p')
	[[ -n $id ]] || die "sdproxy project create $1: no project id"
	echo "$id"
}

# run_wrk TARGET SECONDS CONNS [URL] runs wrk on CPU 0 against TARGET.
run_wrk() {
	FIELDS=${fields[$1]} KEY=${CHECK_KEY:-${key[$1]:-}} taskset -c 0 wrk -t1 -c"$3" -d"$2s" --latency -s tools/loadtest/post.lua "${4:-${url[$1]}}"
}

# preflight checks that each target's first answer is 2xx, and that sdproxy
# encrypts the two fields (on a project that answers directly, so the
# transformed body comes back).
preflight() {
	local t out status
	for t in "${targets[@]}"; do
		out=$(CHECK=1 run_wrk "$t" 1 1)
		status=$(sed -n 's/^CHECK status=\([0-9]*\).*/\1/p' <<<"$out" | head -1)
		[[ $status == 2?? ]] || die "${label[$t]}: first answer ${status:-missing}: $(grep '^CHECK' <<<"$out" | head -1)"
	done
	out=$(CHECK=1 CHECK_KEY=$check_key run_wrk fields 1 1 "$check_url" | grep '^CHECK' | head -1)
	[[ $(grep -o '"qanapi:' <<<"$out" | wc -l) == 2 && $out != *"sunt aut facere"* ]] ||
		die "sdproxy did not encrypt title and body: $out"
	log "preflight: every target answers 2xx; sdproxy encrypts title and body"
}

# measure ROUND TARGET warms TARGET up, runs wrk, prints the run's line and
# appends it, tab-separated, to $tmp/runs.tsv for report.awk.
measure() {
	local r=$1 t=$2 c0 u0 c1 u1 out
	run_wrk "$t" "$WARMUP" "$CONNS" >/dev/null
	c0=$(cpu_ticks "${pid[$t]}"); u0=$(cpu_ticks "$up_pid")
	out=$(run_wrk "$t" "$SECS" "$CONNS")
	c1=$(cpu_ticks "${pid[$t]}"); u1=$(cpu_ticks "$up_pid")
	printf '%s\n' "$out" >"$tmp/wrk-round$r-$t.txt"
	grep '^LOADTEST ' <<<"$out" | awk -v r="$r" -v t="$t" -v label="${label[$t]}" -v hz="$hz" \
		-v cpu=$((c1 - c0)) -v up=$((u1 - u0)) -v tsv="$tmp/runs.tsv" -f tools/loadtest/run_line.awk
}

# profile TARGET records TARGET's proxy process with perf (cpu-clock, call
# chains) for SECS seconds in the middle of a wrk run of SECS+2, and prints
# perfsplit's table: where its CPU time went, per request answered in that
# window (wrk's count scaled to the window: the rate is steady).
profile() {
	local t=$1 out requests duration w
	run_wrk "$t" "$WARMUP" "$CONNS" >/dev/null
	run_wrk "$t" $((SECS + 2)) "$CONNS" >"$tmp/wrk-profile-$t.txt" &
	w=$!
	sleep 1
	out=$(perf record -q -e cpu-clock -F 4999 -g -p "${pid[$t]}" -o "$tmp/perf-$t.data" -- sleep "$SECS" 2>&1) ||
		{ wait "$w"; log "perf record failed (is perf allowed here? kernel.perf_event_paranoid): $(tail -2 <<<"$out")"; return 1; }
	wait "$w"
	read -r requests duration < <(sed -n 's/^LOADTEST requests=\([0-9]*\) duration_us=\([0-9]*\).*/\1 \2/p' "$tmp/wrk-profile-$t.txt")
	[[ -n $requests && -n $duration ]] || { log "profile $t: wrk printed no request count"; return 1; }
	requests=$((requests * SECS * 1000000 / duration))
	perf script -i "$tmp/perf-$t.data" -F period,ip,sym 2>/dev/null |
		"$tmp/perfsplit" -requests "$requests" -label "${label[$t]}: about $requests requests in the ${SECS}s recorded"
}

# report_logs shows what sdproxy and nginx logged (warnings and errors).
report_logs() {
	local f
	for f in "$tmp/sdproxy.log" "$tmp/sdproxy-base.log" "$tmp/nginx/error.log"; do
		[[ ! -s $f ]] || printf '\n%s logged %d lines; the first:\n%s\n' "${f#"$tmp"/}" "$(wc -l <"$f")" "$(head -3 "$f")"
	done
}

main() {
	install_tools
	tmp=$(mktemp -d)
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	hz=$(getconf CLK_TCK)
	targets=(bare nginx pass fields)
	declare -gA label=([bare]="bare forwarder" [nginx]="nginx" [pass]="sdproxy pass-through" [fields]="sdproxy 2 fields")
	declare -gA fields=([bare]="" [nginx]="" [pass]="" [fields]="title,body" [base]="title,body" [work]="")
	declare -gA url=() pid=() key=()
	if [[ $WORK != 0 ]]; then
		targets=(bare work nginx pass fields)
		label[work]="bare forwarder + $WORK work"
	fi
	if [[ -n $BASE ]]; then
		targets+=(base)
		label[base]="sdproxy 2 fields @$BASE"
	fi
	start_all
	preflight
	echo "$(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)); load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "$ROUNDS rounds of ${SECS}s runs (after ${WARMUP}s warm-up each), $CONNS connections, 300-byte JSON POST"
	echo "wrk -t1 on CPU 0; upstream and proxy on CPU 1 (GOMAXPROCS=1, nginx worker_processes 1)"
	local r t
	for ((r = 1; r <= ROUNDS; r++)); do
		for t in "${targets[@]}"; do measure "$r" "$t"; done
	done
	echo
	echo "median (min-max) over $ROUNDS rounds; load average now $(cut -d' ' -f1-3 /proc/loadavg)"
	awk -f tools/loadtest/report.awk "$tmp/runs.tsv"
	report_logs
	if [[ $PROFILE == 1 ]]; then
		echo
		echo "where the CPU time of one request goes (perf, cpu-clock samples at 4999 Hz, call chains)"
		for t in bare fields ${BASE:+base}; do profile "$t" && echo || log "profile of ${label[$t]} failed"; done
	fi
	if [[ -n ${OUT:-} ]]; then
		mkdir -p "$OUT" && cp "$tmp"/runs.tsv "$tmp"/wrk-*.txt "$tmp"/*.log "$tmp"/nginx/error.log "$OUT"/ &&
			log "kept wrk's output, the per-run figures and the logs in $OUT"
		if [[ $PROFILE == 1 ]] && cp "$tmp"/perf-*.data "$OUT"/ 2>/dev/null; then
			log "and perf's recordings (perf report -i $OUT/perf-fields.data)"
		fi
	fi
}

main "$@"
