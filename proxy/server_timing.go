package proxy

import (
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
)

// HeaderServerTiming, on every answer of the data listener, splits the
// request's time: "proxy;dur=<ms>" is the time spent in sdproxy, and
// "upstream;dur=<ms>", when an upstream was called, the time from sending
// it the request until its answer was read. Together they make the whole
// handler's time. An upstream's own Server-Timing is passed on as a
// header line of its own.
const HeaderServerTiming = "Server-Timing"

// setServerTiming adds the Server-Timing line of an answer that took
// total, of which upstream in the upstream (when called).
func setServerTiming(h *fasthttp.ResponseHeader, total, upstream time.Duration, called bool) {
	var buf [64]byte
	b := appendMillis(append(buf[:0], "proxy;dur="...), total-upstream)
	if called {
		b = appendMillis(append(b, ", upstream;dur="...), upstream)
	}
	h.AddBytesKV(canonServerTiming, b)
}

// appendMillis appends d in milliseconds with up to 3 decimals (whole
// microseconds, cut as the event log cuts latency_ms, trailing zeros
// dropped): 12, 0.5, 3.142. A negative d (a clock set back) is 0.
func appendMillis(dst []byte, d time.Duration) []byte {
	us := max(d.Microseconds(), 0)
	dst = strconv.AppendInt(dst, us/1000, 10)
	if frac := us % 1000; frac != 0 {
		dst = append(dst, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
		for dst[len(dst)-1] == '0' {
			dst = dst[:len(dst)-1]
		}
	}
	return dst
}
