package events

import (
	"cmp"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/sdproxy/sdproxy/internal/safefile"
	bolterrors "go.etcd.io/bbolt/errors"
)

// FileName is the event log's bbolt file inside the data directory.
const FileName = "events.db"

var (
	bucketMeta   = []byte("meta")
	bucketPruned = []byte("pruned") // first seq → run of failures pruned from the middle
	metaHead     = []byte("head")   // the chain's end, signed: see head
	metaAnchor   = []byte("anchor") // where the chain starts after pruning

	// The buckets of logs written before blocks (see block.go): one
	// entry per value. Open moves their entries into blocks (migrate).
	bucketEvents    = []byte("events")     // seq (8 bytes BE) → entry JSON
	bucketByProject = []byte("by_project") // project id 0x00 seq → nothing
	bucketFailures  = []byte("failures")   // seq → nothing, for each stored failure event
)

// Options configure Open. The zero value of each field is usable.
type Options struct {
	// MasterKey is the 32-byte master key; the chain's HMAC key is derived
	// from it. Required.
	MasterKey []byte
	// QueueSize is how many events wait for the writer before new ones are
	// dropped (and counted). Zero means 65536. Requests are also dropped
	// when those waiting hold maxHeld bytes (32 MiB) of names and values.
	QueueSize int
	// BatchSize is the most events written in one transaction. Zero means 4096.
	BatchSize int
	// BatchDelay is how often the writer writes what is queued (sooner
	// when BatchSize events wait): at most this much is lost in a crash.
	// Zero means 100ms.
	BatchDelay time.Duration
	// MaxAge and MaxCount bound retention. Zero means 30 days and 1,000,000.
	MaxAge   time.Duration
	MaxCount uint64
	// PruneEvery is how often retention runs. Zero means 1 minute.
	PruneEvery time.Duration
	// CheckpointEvery is how often the writer emits a signed checkpoint
	// (to Sink and Logger); one is also emitted on Close. Zero means 1
	// minute; negative means never, not even on Close.
	CheckpointEvery time.Duration
	// Sink, when set, receives every written event as one JSON line.
	Sink io.Writer
	// Logger reports drops and write failures, and checkpoints (at info
	// level). Nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// LockTimeout is how long Open waits for another process. Zero means 1s.
	LockTimeout time.Duration
	// ReadOnly opens for Query and Verify only (sdproxy events verify).
	ReadOnly bool
	// InstanceID, when set, is written into every event as instance_id:
	// it names the sdproxy instance whose log this is. Empty writes none.
	InstanceID string
	// OnWrite, when set, is called by the writer for every request event
	// after it is stored (metrics hang here, off the request path).
	OnWrite func(*Request)

	longMACs      bool          // tests: write entries with 32-byte macs, as before short tags
	sinkCloseWait time.Duration // tests: zero means sinkCloseWait
}

func (o Options) withDefaults() Options {
	if o.QueueSize == 0 {
		o.QueueSize = 1 << 16
	}
	if o.BatchSize == 0 {
		o.BatchSize = 4096
	}
	if o.BatchDelay == 0 {
		o.BatchDelay = 100 * time.Millisecond
	}
	if o.MaxAge == 0 {
		o.MaxAge = 30 * 24 * time.Hour
	}
	if o.MaxCount == 0 {
		o.MaxCount = 1_000_000
	}
	if o.PruneEvery == 0 {
		o.PruneEvery = time.Minute
	}
	if o.CheckpointEvery == 0 {
		o.CheckpointEvery = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.LockTimeout == 0 {
		o.LockTimeout = time.Second
	}
	return o
}

// item is one queued event: a pooled request record or an admin event.
type item struct {
	req *Request
	ev  *Event
}

// Log is the event log. Submit and Record are safe for concurrent use.
type Log struct {
	db   *bolt.DB
	opts Options
	keys
	wmac     hash.Hash // the writer's keyed HMAC of the chain
	readMACs sync.Pool // keyed HMACs of the chain for readers (verify, retention)

	blk     *builder // the writer's open block
	evbuf   []byte   // the writer's encoding buffers
	idbuf   []byte
	linebuf []byte
	sinkbuf []byte     // the batch's lines for the sink
	sink    *sinkQueue // nil without a sink
	cpbuf   []byte     // the writer's checkpoint line
	dropped atomic.Uint64
	written atomic.Uint64
	lastLog atomic.Int64
	// lastWriteLog is when a failed write was last logged.
	lastWriteLog atomic.Int64
	retrying     bool // the writer's: its last transaction failed (see drain)

	// mu guards the queue, the free records and closed. A slice under a
	// mutex rather than channels: a request takes the lock once to get a
	// record and once to queue it, and the writer once per batch for
	// each, where channels take theirs for every event on both sides.
	mu       sync.Mutex
	queue    []item     // events waiting for the writer, at most QueueSize
	free     []*Request // request records to reuse: unlike a sync.Pool, a GC does not empty it
	held     int        // the bytes of the queued and unwritten request records (Request.size)
	closed   bool
	done     chan struct{}
	stop     chan struct{}
	pruneReq chan chan error // Prune asks the writer to prune
	pruneMu  sync.Mutex      // Prune without the writer (closed or read-only)
	kick     chan struct{}   // a batch is waiting
}

// maxHeld bounds the bytes of the request records queued or being
// written (Request.size): a request submitted with more held is dropped,
// as when QueueSize events wait. A typical record holds about a hundred
// bytes and the largest the limits allow (limits.go) some 33 KiB, so the
// bound matters only when a stalled disk backs up requests that name
// many long fields, which would otherwise hold up to 2 GiB.
const maxHeld = 32 << 20

// initialMmapSize is the address space the log's file is mapped with at
// open: 1 GiB, some 15 million events, before bbolt first remaps it.
const initialMmapSize = 1 << 30

// Open opens (creating) the event log in dir and starts its writer.
func Open(dir string, opts Options) (*Log, error) {
	if len(opts.MasterKey) != 32 {
		return nil, errors.New("events: master key must be 32 bytes")
	}
	opts = opts.withDefaults()
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, &bolt.Options{
		Timeout: opts.LockTimeout, ReadOnly: opts.ReadOnly, OpenFile: safefile.OpenNoFollowCreate,
		// The log only grows at its end and is pruned at its start: a map
		// freelist rebuilt on open is cheaper than syncing it every batch.
		FreelistType: bolt.FreelistMapType, NoFreelistSync: true,
		// Map address space for a large log from the start (etcd does the
		// same): each remap as the file grows waits for every reader and
		// stalls the writer while requests queue their events. Address
		// space, not memory: pages count in RSS only once the file has them.
		InitialMmapSize: initialMmapSize,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("events.Open %s: %w", dir, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("events.Open: %w", err)
	}
	k, err := deriveKeys(opts.MasterKey)
	if err != nil {
		db.Close()
		return nil, err
	}
	l := &Log{db: db, opts: opts, keys: k, wmac: hmac.New(sha256.New, k.chain), blk: newBuilder(),
		done: make(chan struct{}), stop: make(chan struct{}), pruneReq: make(chan chan error),
		kick: make(chan struct{}, 1)}
	if opts.ReadOnly {
		l.closed = true
		close(l.done)
		return l, nil
	}
	if err := l.migrate(); err != nil {
		db.Close()
		return nil, fmt.Errorf("events.Open: %w", err)
	}
	err = db.Update(l.prepare)
	l.blk.reset()
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("events.Open: %w", err)
	}
	if opts.Sink != nil {
		l.sink = newSinkQueue(opts.Sink, opts.Logger)
	}
	l.toSink(l.sinkbuf)
	go l.run()
	return l, nil
}

// keys are the HMAC keys derived from the master key, one per purpose.
type keys struct {
	chain      []byte // entries' links and the pruning anchor
	head       []byte // the head record
	pruned     []byte // records of entries pruned from the middle
	checkpoint []byte // checkpoints
}

func deriveKeys(master []byte) (keys, error) {
	var k keys
	for _, d := range []struct {
		dst  *[]byte
		info string
	}{{&k.chain, "sdproxy event chain v1"}, {&k.head, "sdproxy event head v1"},
		{&k.pruned, "sdproxy event pruned v1"}, {&k.checkpoint, "sdproxy event checkpoint v1"}} {
		key, err := hkdf.Key(sha256.New, master, nil, d.info, 32)
		if err != nil {
			return k, fmt.Errorf("events.Open: %w", err)
		}
		*d.dst = key
	}
	return k, nil
}

// Acquire returns an empty request record to fill and Submit.
func (l *Log) Acquire() *Request {
	l.mu.Lock()
	if n := len(l.free); n > 0 {
		r := l.free[n-1]
		l.free[n-1] = nil
		l.free = l.free[:n-1]
		l.mu.Unlock()
		return r
	}
	l.mu.Unlock()
	return new(Request)
}

// Submit queues a request record without blocking. When the queue is full
// the record is dropped, counted (Dropped) and logged at most once a
// second. The record must not be used after Submit.
func (l *Log) Submit(r *Request) {
	if !l.enqueue(item{req: r}, r.size()) {
		l.release(r)
	}
}

// Record queues an admin event, like Submit.
//
// Admin events are few, and whoever made the change may look for its
// event at once: the writer is woken to write it now rather than at the
// next flush interval.
func (l *Log) Record(e Event) {
	if l.enqueue(item{ev: &e}, 0) {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
}

// enqueue queues it, a request whose record holds size bytes (or an
// admin event: 0), unless the log is closed or the queue full.
func (l *Log) enqueue(it item, size int) bool {
	l.mu.Lock()
	ok := !l.closed && len(l.queue) < l.opts.QueueSize && l.held+size <= maxHeld
	if ok {
		l.queue = append(l.queue, it)
		l.held += size
	}
	n := len(l.queue)
	l.mu.Unlock()
	if ok {
		if n >= l.opts.BatchSize {
			select {
			case l.kick <- struct{}{}:
			default:
			}
		}
		return true
	}
	l.dropped.Add(1)
	now := l.opts.Now().UnixNano()
	if last := l.lastLog.Load(); now-last > int64(time.Second) && l.lastLog.CompareAndSwap(last, now) {
		l.opts.Logger.Error("event log queue full or closed: events dropped", "dropped_total", l.dropped.Load())
	}
	return false
}

func (l *Log) release(r *Request) {
	r.recycle()
	l.mu.Lock()
	if len(l.free) < l.opts.BatchSize {
		l.free = append(l.free, r)
	}
	l.mu.Unlock()
}

// releaseAll returns the request records of a written batch to be
// reused, taking the lock once, after observe (when not nil) has seen
// each: one pass over the records, which a batch has too many of to
// stay in the CPU's cache between passes.
func (l *Log) releaseAll(batch []item, observe func(*Request)) {
	size := 0
	for _, it := range batch {
		if it.req != nil {
			if observe != nil {
				observe(it.req)
			}
			size += it.req.size()
			it.req.recycle()
		}
	}
	l.mu.Lock()
	l.held -= size
	for _, it := range batch {
		if it.req != nil && len(l.free) < l.opts.BatchSize {
			l.free = append(l.free, it.req)
		}
	}
	l.mu.Unlock()
}

// QueueDepth is how many events wait to be written.
func (l *Log) QueueDepth() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.queue)
}

// Dropped is how many events were dropped because the queue was full.
func (l *Log) Dropped() uint64 { return l.dropped.Load() }

// SinkDropped is how many lines were not copied to the sink because it
// was not taking them (the log holds their events).
func (l *Log) SinkDropped() uint64 {
	if l.sink == nil {
		return 0
	}
	return l.sink.dropped.Load()
}

// Written is how many events were written since Open.
func (l *Log) Written() uint64 { return l.written.Load() }

// Close stops accepting events, writes every queued one, and closes the
// file. It is safe to call more than once.
func (l *Log) Close() error {
	l.mu.Lock()
	wasClosed := l.closed
	l.closed = true
	l.mu.Unlock()
	if !wasClosed {
		close(l.stop)
		<-l.done
		if l.sink != nil {
			l.sink.close(cmp.Or(l.opts.sinkCloseWait, sinkCloseWait))
		}
	}
	return l.db.Close()
}

// Ready reports whether the log is open.
func (l *Log) Ready() error { return l.db.View(func(*bolt.Tx) error { return nil }) }
