package events

import (
	"strconv"
	"time"
)

// appendRequest appends the JSON of a request event straight from the
// pooled record, recorded by instance inst, with exactly the bytes
// appendEvent(r.event()) would write, but without building an Event and
// its strings first.
func appendRequest[S ~string | ~[]byte](b []byte, id S, inst string, r *Request) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, id)
	b = append(b, `,"type":"request","time":"`...)
	b = appendTime(b, r.Time)
	b = append(b, '"')
	b = appendMember(b, "instance_id", inst)
	b = append(b, `,"project_id":`...)
	b = appendString(b, r.ProjectID)
	b = append(b, `,"key_id":`...)
	if r.KeyID == "" {
		b = append(b, "null"...)
	} else {
		b = appendString(b, r.KeyID)
	}
	b = appendMemberBytes(b, "method", r.method)
	b = appendMemberBytes(b, "path", r.path)
	b = appendMember(b, "mode", r.Mode)
	b = append(b, `,"fields":[`...)
	n := 0
	forEachField(r.fields, func(f []byte) {
		if n > 0 {
			b = append(b, ',')
		}
		b = appendString(b, f)
		n++
	})
	b = append(b, ']')
	if len(r.class) > 0 {
		b = appendString(append(b, `,"classification":`...), r.class)
	}
	if len(r.dest) > 0 {
		b = appendString(append(b, `,"destination":`...), r.dest)
	}
	if len(r.geofence) > 0 {
		b = appendString(append(b, `,"geofence":`...), r.geofence)
	}
	if r.Status != 0 {
		b = strconv.AppendInt(append(b, `,"status":`...), int64(r.Status), 10)
	}
	if us := r.Latency.Microseconds(); us != 0 {
		b = appendMillis(append(b, `,"latency_ms":`...), us)
	}
	if us := r.Upstream.Microseconds(); us != 0 {
		b = appendMillis(append(b, `,"upstream_ms":`...), us)
	}
	b = appendMemberBytes(b, "request_id", r.requestID)
	b = appendMemberBytes(b, "client_ip", r.clientIP)
	b = strconv.AppendBool(append(b, `,"rate_limited":`...), r.RateLimited)
	b = appendMember(b, "route_id", r.RouteID)
	if len(r.respFields) > 0 {
		b = append(b, `,"response_fields":[`...)
		n := 0
		forEachField(r.respFields, func(f []byte) {
			if n > 0 {
				b = append(b, ',')
			}
			b = appendString(b, f)
			n++
		})
		b = append(b, ']')
	}
	b = appendCounts(b, r.RequestValues, r.ResponseValues, r.Untransformed)
	b = appendMemberBytes(b, "subject", r.subject)
	return append(b, '}')
}

// appendCounts appends the non-zero value counts of a request event.
func appendCounts(b []byte, req, resp, untransformed int) []byte {
	for _, c := range [...]struct {
		name string
		n    int
	}{{`,"request_values":`, req}, {`,"response_values":`, resp}, {`,"untransformed":`, untransformed}} {
		if c.n != 0 {
			b = strconv.AppendInt(append(b, c.name...), int64(c.n), 10)
		}
	}
	return b
}

func appendMemberBytes(b []byte, name string, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	b = append(append(append(b, `,"`...), name...), `":`...)
	return appendString(b, v)
}

// forEachField calls fn with each trimmed, non-empty name of a
// comma-separated list, as fieldNames splits it.
func forEachField(list []byte, fn func([]byte)) {
	for len(list) > 0 {
		var f []byte
		if i := indexByte(list, ','); i >= 0 {
			f, list = list[:i], list[i+1:]
		} else {
			f, list = list, nil
		}
		if f = trimSpace(f); len(f) > 0 {
			fn(f)
		}
	}
}

func indexByte(b []byte, c byte) int {
	for i := range b {
		if b[i] == c {
			return i
		}
	}
	return -1
}

// trimSpace trims what strings.TrimSpace trims for ASCII names.
func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// appendMillis appends us microseconds as milliseconds, exactly as
// strconv.AppendFloat(b, float64(us)/1000, 'f', -1, 64) does (encoding/json
// writes a float64 so): the shortest decimal of a float64 of at most
// three decimals is those decimals, for any duration below 285 years.
func appendMillis(b []byte, us int64) []byte {
	if us < 0 || us >= 1<<53 {
		return strconv.AppendFloat(b, float64(us)/1000, 'f', -1, 64)
	}
	b = strconv.AppendInt(b, us/1000, 10)
	frac := us % 1000
	if frac == 0 {
		return b
	}
	d := [3]byte{byte('0' + frac/100), byte('0' + frac/10%10), byte('0' + frac%10)}
	n := 3
	for d[n-1] == '0' {
		n--
	}
	return append(append(b, '.'), d[:n]...)
}

// appendTime appends t in UTC as time.RFC3339Nano writes it, without
// going through AppendFormat's layout machinery for the common case.
func appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, time.RFC3339Nano)
	}
	hour, minute, sec := t.Clock()
	b = append4(b, year)
	b = append(b, '-')
	b = append2(b, int(month))
	b = append(b, '-')
	b = append2(b, day)
	b = append(b, 'T')
	b = append2(b, hour)
	b = append(b, ':')
	b = append2(b, minute)
	b = append(b, ':')
	b = append2(b, sec)
	if ns := t.Nanosecond(); ns != 0 {
		var d [9]byte
		for i := 8; i >= 0; i-- {
			d[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 9
		for d[n-1] == '0' {
			n--
		}
		b = append(append(b, '.'), d[:n]...)
	}
	return append(b, 'Z')
}

func append2(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

func append4(b []byte, v int) []byte {
	return append(b, byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}
