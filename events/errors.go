package events

import "errors"

var (
	// ErrLocked: another process holds the event log file.
	ErrLocked = errors.New("events: event log is in use by another process")
	// ErrClosed: the log has been closed.
	ErrClosed = errors.New("events: log is closed")
	// ErrBadCursor: a cursor that this log did not give out.
	ErrBadCursor = errors.New("events: invalid cursor")
)
