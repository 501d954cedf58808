# report.awk prints the load test's table from the rig's per-run lines.
#
# Input, one line per run, tab-separated: round, target id, target label,
# req/s, p99 latency (ms), proxy CPU (us per request), answers with status
# >= 400, socket errors, upstream CPU (not shown), the share of CPU 1 the
# proxy and the upstream had (%). Each figure is shown as the median over
# rounds and its range (min-max); the ratios are medians of per-round
# ratios, so that a slow round slows both sides of a ratio alike.
BEGIN { FS = "\t" }

{
	r = $1; t = $2
	if (!(t in label)) { order[++targets] = t; label[t] = $3 }
	round[r] = 1
	val[r, t, "rps"] = $4; val[r, t, "p99"] = $5; val[r, t, "cpu"] = $6
	bad[t] += $7 + $8
	if ($7 + $8 > 0)
		flagged = flagged sprintf("  ! round %s, %s: %d answers >= 400, %d socket errors\n", r, $3, $7, $8)
	if ($10 < 85)
		shared = shared sprintf("  round %s, %s: %d%%\n", r, $3, $10)
}

END {
	printf "%-26s  %-22s  %-26s  %-20s  %s\n", "target", "req/s", "p99 ms", "proxy CPU us/req", "errors"
	for (i = 1; i <= targets; i++) {
		t = order[i]
		printf "%-26s  %-22s  %-26s  %-20s  %d\n", label[t],
			column(t, "", "rps", "%.0f"), column(t, "", "p99", "%.2f"), column(t, "", "cpu", "%.1f"), bad[t]
	}
	print ""
	printf "%-46s  %-20s  %-20s  %s\n", "ratio (median of rounds, range)", "req/s", "p99", "CPU us/req"
	ratio("fields", "bare"); ratio("fields", "nginx"); ratio("pass", "bare"); ratio("work", "bare"); ratio("fields", "base")
	if (flagged != "") printf "\nruns with errors (their figures are suspect):\n%s", flagged
	if (shared != "") printf "\nruns where the proxy and the upstream used under 85%% of CPU 1: other processes took CPU 1,\nor wrk's CPU 0; req/s and p99 suffer, CPU us/req much less:\n%s", shared
}

# ratio prints one line of a/b ratios, for the rounds that ran both.
function ratio(a, b) {
	if (!(a in label) || !(b in label)) return
	printf "%-46s  %-20s  %-20s  %s\n", label[a] " / " label[b],
		column(a, b, "rps", "%.2f"), column(a, b, "p99", "%.2f"), column(a, b, "cpu", "%.2f")
}

# column returns "median (min-max)" of metric m of target a over the
# rounds, or of the per-round ratio a/b when b is not empty.
function column(a, b, m, fmt,   r, k, v, x) {
	k = 0
	for (r in round) {
		if (!((r, a, m) in val) || (b != "" && !((r, b, m) in val))) continue
		x = val[r, a, m]
		if (b != "") { if (val[r, b, m] == 0) continue; x /= val[r, b, m] }
		v[++k] = x + 0
	}
	if (k == 0) return "-"
	sort(v, k)
	return sprintf(fmt " (" fmt "-" fmt ")", k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2, v[1], v[k])
}

# sort sorts v[1..k] in place (insertion sort: k is the number of rounds).
function sort(v, k,   i, j, x) {
	for (i = 2; i <= k; i++) {
		x = v[i]
		for (j = i - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]
		v[j + 1] = x
	}
}
