# run_line.awk turns the LOADTEST line that post.lua prints at the end of a
# wrk run into the run's figures: one line for people on stdout, and one
# tab-separated line appended to the file tsv for report.awk (round, target
# id, label, req/s, p99 ms, proxy CPU us/req, answers >= 400, socket errors,
# upstream CPU us/req, the share of CPU 1 the proxy and upstream had in %).
#
# Variables: r (round), t (target id), label, hz (clock ticks per second),
# cpu and up (clock ticks of CPU the proxy and the upstream used during the
# run), tsv (the file to append to).
{
	for (i = 2; i <= NF; i++) { split($i, kv, "="); w[kv[1]] = kv[2] + 0 }
	n = w["requests"]; secs = w["duration_us"] / 1e6
	if (n == 0 || secs == 0) { printf "round %s  %-26s no request completed\n", r, label; exit }
	rps = n / secs; p99 = w["p99_us"] / 1000
	us = cpu / hz * 1e6 / n; upus = up / hz * 1e6 / n
	busy = cpu / hz / secs * 100; upbusy = up / hz / secs * 100 # shares of CPU 1, in %
	printf "%s\t%s\t%s\t%.1f\t%.3f\t%.2f\t%d\t%d\t%.2f\t%.0f\n", r, t, label, rps, p99, us,
		w["non2xx"], w["socket_errors"], upus, busy + upbusy >> tsv
	note = ""
	if (w["non2xx"] + w["socket_errors"] > 0) note = sprintf("  ERRORS: %d answers >= 400, %d socket errors", w["non2xx"], w["socket_errors"])
	if (busy > 105) note = note "  IMPLAUSIBLE: proxy above one CPU"
	else if (busy + upbusy < 85) note = note "  (machine busy: CPU 1 not saturated)"
	printf "round %s  %-26s %7.0f req/s  p99 %6.2f ms  proxy %5.1f us/req (%3.0f%% of CPU 1)  upstream %5.1f us/req (%3.0f%%)%s\n",
		r, label, rps, p99, us, busy, upus, upbusy, note
}
