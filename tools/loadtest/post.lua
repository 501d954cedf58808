-- wrk script for the load test: POST a 300-byte JSON body with sdproxy's
-- headers, and print one machine-readable summary line at the end.
--
-- Environment: KEY (the API key; empty: no X-Qanapi-Authorization),
-- FIELDS (X-Qanapi-Fields; empty: pass-through), CHECK=1 (print the status
-- and body of the first answer, then stop: the rig's preflight).
wrk.method = "POST"
wrk.body = '{"userId":1,"id":1,"title":"sunt aut facere repellat provident occaecati excepturi optio","body":"quia et suscipit suscipit recusandae consequuntur expedita et cum reprehenderit molestiae ut ut quas totam nostrum rerum est autem sunt rem eveniet architecto","tags":["a","b"],"lang":"latin","ok":true}'
wrk.headers["Content-Type"] = "application/json"
local key = os.getenv("KEY")
if key and key ~= "" then wrk.headers["X-Qanapi-Authorization"] = key end
local fields = os.getenv("FIELDS")
if fields and fields ~= "" then wrk.headers["X-Qanapi-Fields"] = fields end

if os.getenv("CHECK") == "1" then
  function response(status, headers, body)
    io.write("CHECK status=", status, " body=", body, "\n")
    wrk.thread:stop()
  end
end

-- done prints what the rig reads: requests completed, run time (µs),
-- answers with status >= 400 (wrk's "Non-2xx or 3xx"), socket errors,
-- and the 99th percentile of latency (µs).
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("LOADTEST requests=%d duration_us=%d non2xx=%d socket_errors=%d p99_us=%d\n",
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(99)))
end
