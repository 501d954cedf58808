package events

import "errors"

var (
	// ErrLocked: another process holds the event log file.
	ErrLocked = errors.New("events: event log is in use by another process")
	// ErrClosed: the log has been closed.
	ErrClosed = errors.New("events: log is closed")
	// ErrBadCursor: a cursor that this log did not give out.
	ErrBadCursor = errors.New("events: invalid cursor")
	// ErrDamaged: Open found the log in a state that it will not write
	// on (a bucket or the head record missing from a log that has
	// entries, or a head whose signature does not verify). Nothing is
	// repaired; sdproxy events verify names the damage.
	ErrDamaged = errors.New("events: event log is damaged")
	// ErrBadCheckpoint: a checkpoint whose signature does not verify
	// under this log's key: forged, altered, or made with another master
	// key.
	ErrBadCheckpoint = errors.New("events: checkpoint signature does not verify (forged or altered)")
	// ErrChanged: Query met an entry it would return whose mac does not
	// match its content: the file was changed (sdproxy events verify
	// names the first broken entry). The page is not returned, so that
	// a changed event is never listed as if it were intact.
	ErrChanged = errors.New("events: an entry was changed (HMAC mismatch); run sdproxy events verify")
	// ErrNotCheckpoint: ParseCheckpoint was given something other than a
	// checkpoint line.
	ErrNotCheckpoint = errors.New("events: not a checkpoint line")
)

// Why a head record is not accepted; Verify turns them into reasons, the
// writer and retention into errors.
var (
	errNoHead         = errors.New("the head record is missing")
	errHeadUnreadable = errors.New("the head record is unreadable")
	errHeadUnsigned   = errors.New("the head record is not signed")
	errHeadForged     = errors.New("the head record fails its signature")
)
