package events

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// appendEvent appends e as JSON, with the same members and order as
// encoding/json would write, without reflection: the writer encodes every
// request this way, off the request path but on the proxy's CPU.
func appendEvent(b []byte, e *Event) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, e.ID)
	b = append(b, `,"type":`...)
	b = appendString(b, e.Type)
	b = append(b, `,"time":"`...)
	b = e.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	b = appendMember(b, "instance_id", e.InstanceID)
	b = append(b, `,"project_id":`...)
	b = appendString(b, e.ProjectID)
	b = append(b, `,"key_id":`...)
	b = appendOptString(b, e.KeyID)
	b = appendMember(b, "method", e.Method)
	b = appendMember(b, "path", e.Path)
	b = appendMember(b, "mode", e.Mode)
	if e.Fields != nil { // request events always list their fields, maybe none
		b = append(b, `,"fields":[`...)
		for i, f := range e.Fields {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, f)
		}
		b = append(b, ']')
	}
	for _, m := range [...]struct {
		name string
		v    *string
	}{{"classification", e.Classification}, {"destination", e.Destination}, {"geofence", e.Geofence}} {
		if m.v != nil {
			b = append(b, `,"`+m.name+`":`...)
			b = appendString(b, *m.v)
		}
	}
	if e.Status != 0 {
		b = append(b, `,"status":`...)
		b = strconv.AppendInt(b, int64(e.Status), 10)
	}
	if e.LatencyMS != 0 {
		b = append(b, `,"latency_ms":`...)
		b = strconv.AppendFloat(b, e.LatencyMS, 'f', -1, 64)
	}
	if e.UpstreamMS != 0 {
		b = append(b, `,"upstream_ms":`...)
		b = strconv.AppendFloat(b, e.UpstreamMS, 'f', -1, 64)
	}
	b = appendMember(b, "request_id", e.RequestID)
	b = appendMember(b, "client_ip", e.ClientIP)
	if e.RateLimited != nil {
		b = append(b, `,"rate_limited":`...)
		b = strconv.AppendBool(b, *e.RateLimited)
	}
	b = appendMember(b, "route_id", e.RouteID)
	if len(e.ResponseFields) > 0 {
		b = append(b, `,"response_fields":[`...)
		for i, f := range e.ResponseFields {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, f)
		}
		b = append(b, ']')
	}
	b = appendCounts(b, e.RequestValues, e.ResponseValues, e.Untransformed)
	b = appendMember(b, "subject", e.Subject)
	b = appendMember(b, "actor", e.Actor)
	if len(e.Details) > 0 {
		b = append(b, `,"details":{`...)
		for i, k := range sortedKeys(e.Details) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, e.Details[k])
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendMember appends ,"name":"v" unless v is empty (omitempty).
func appendMember(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	b = append(append(append(b, `,"`...), name...), `":`...)
	return appendString(b, v)
}

func appendOptString(b []byte, v *string) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	return appendString(b, *v)
}

const hexDigits = "0123456789abcdef"

// plain marks the bytes appendString copies as they are: ASCII but for
// control characters, '"' and '\\'.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendString appends s as a JSON string; invalid UTF-8 becomes U+FFFD,
// as encoding/json does. It takes text as a string or as bytes, so bytes
// need no conversion (and no allocation).
func appendString[S ~string | ~[]byte](b []byte, s S) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		// Copy the run of bytes that need nothing in one go.
		j := i
		for j < len(s) && plain[s[j]] {
			j++
		}
		b = append(b, s[i:j]...)
		if i = j; i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		var rb [utf8.UTFMax]byte
		r, size := utf8.DecodeRune(rb[:copy(rb[:], s[i:])])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, rb[:size]...)
		}
		i += size
	}
	return append(b, '"')
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}
