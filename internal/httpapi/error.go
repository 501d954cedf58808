package httpapi

import (
	"bytes"
	"errors"
	"log/slog"
	"strconv"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
)

// Response header names of the Qanapi-compatible surface, set by both
// listeners.
const (
	HeaderRequestID = "X-Qanapi-Request-Id"
	HeaderErrorCode = "X-Qanapi-Error-Code"
)

// Error is an error with its HTTP status and public code. Its message is
// shown to the client, so it never carries secrets or field values.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errors every listener answers.
var (
	ErrNotFound         = &Error{404, "not_found", "no such resource"}
	ErrMethodNotAllowed = &Error{405, "method_not_allowed", "method not allowed on this path"}
	ErrInternal         = &Error{500, "internal_error", "internal error"}
)

// BadRequest is a 400 invalid_request naming what is wrong.
func BadRequest(msg string) *Error { return &Error{400, "invalid_request", msg} }

// Table maps an error to what the client sees. expected is false for an
// error nobody planned for; it is answered as ErrInternal.
type Table func(err error) (e *Error, expected bool)

// WriteError answers err as the JSON error envelope, with its code in
// X-Qanapi-Error-Code and the request id already set on the response.
// Every answer of status 500 or more is logged with the request id and
// the original error, whatever its type; an unexpected error is shown to
// the client only as "internal error". log may be nil (nothing logged).
func WriteError(ctx *fasthttp.RequestCtx, log *slog.Logger, table Table, err error) {
	e, expected := table(err)
	if !expected || e == nil {
		e = ErrInternal
	}
	reqID := ctx.Response.Header.Peek(HeaderRequestID)
	if e.Status >= 500 && log != nil {
		log.Error("request failed", "request_id", string(reqID), "status", e.Status, "code", e.Code,
			"method", string(ctx.Method()), "path", LogPath(ctx.Path()), "err", err)
	}
	ctx.Response.Header.Set(HeaderErrorCode, e.Code)
	ctx.SetStatusCode(e.Status)
	ctx.SetContentType("application/json")
	var buf [256]byte
	ctx.SetBody(AppendErrorBody(buf[:0], e.Code, e.Message, reqID))
}

// AppendErrorBody appends {"error":{"code":…,"message":…,"request_id":…}}
// and a newline, escaped exactly as encoding/json would.
func AppendErrorBody(dst []byte, code, msg string, reqID []byte) []byte {
	dst = append(dst, `{"error":{"code":`...)
	dst = AppendJSONString(dst, code)
	dst = append(dst, `,"message":`...)
	dst = AppendJSONString(dst, msg)
	dst = append(dst, `,"request_id":`...)
	dst = AppendJSONString(dst, string(reqID))
	return append(dst, "}}\n"...)
}

// AppendJSONString appends s as a JSON string with encoding/json's
// escaping (HTML-safe, invalid UTF-8 replaced, U+2028/U+2029 escaped).
func AppendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, `\u202`...)
			dst = strconv.AppendInt(dst, int64(r&15), 16)
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

// Errors of requests that never reached a handler.
var (
	ErrBodyTooLarge = &Error{413, "body_too_large", "request body is larger than the configured limit"}
	ErrBadHTTP      = &Error{400, "invalid_request", "malformed HTTP request"}
	ErrReadTimeout  = &Error{408, "request_timeout", "the request was not received in time"}
)

// ServerError maps an error of fasthttp's request reading (the server's
// ErrorHandler) to what the client sees.
func ServerError(err error) *Error {
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return ErrBodyTooLarge
	case IsTimeout(err):
		return ErrReadTimeout
	}
	return ErrBadHTTP
}

// IsTimeout reports whether err is a timeout.
func IsTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// Own is the table of a handler whose errors are all *Error already.
func Own(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// subjectsSegment starts the part of an admin path that names a data
// subject, which is personal data and never logged.
const subjectsSegment = "/subjects/"

// LogPath is path as it may be logged: a data subject's id (what follows
// /subjects/) is cut.
func LogPath(path []byte) string {
	if i := bytes.Index(path, []byte(subjectsSegment)); i >= 0 {
		return string(path[:i+len(subjectsSegment)]) + "…"
	}
	return string(path)
}
