package keystore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// etcdKV is the etcd engine. Key k of bucket b is stored at
// <prefix><b>/<k>, and <prefix>_versions/<b> is b's version key: every
// transaction that writes to b rewrites it, so its mod revision moves
// whenever anything in b changes.
//
// Update runs an optimistic transaction (etcdTx): fn's reads all see one
// revision (the first read's, which is linearizable), its writes are
// buffered, and the commit is one etcd Txn that applies them only if
// nothing fn read has changed since: the mod revision of each key read on
// its own (0 when absent) and, for each bucket ranged over, that of its
// version key. On a conflict fn runs again, after a jittered backoff, up to
// maxAttempts times; then Update fails with ErrConflict.
//
// A commit whose answer is lost (the member died, or the leader it was
// forwarded to) is settled: Update finds out whether etcd applied it, and
// runs fn again only if it did not, so no write is ever applied twice
// (kv_etcd_commit.go). An attempt that fails because etcd cannot be
// reached (nothing written) runs again too; Update gives up with
// ErrStoreUnavailable only once etcd has not answered for the request
// timeout.
type etcdKV struct {
	c      *clientv3.Client
	prefix string
	// timeout bounds one attempt of a read-only transaction. A write
	// gives up (ErrStoreUnavailable) once etcd has not answered it for
	// timeout; each of its attempts, and each question of settle, may
	// take attemptTimeout, a fraction of it, so that an attempt lost in
	// etcd (its member or the leader died) is tried again in time.
	timeout        time.Duration
	attemptTimeout time.Duration
	maxAttempts    int
	maxTxnOps      int
	// gate, when set, refuses a transaction at once (ErrStoreUnavailable)
	// once etcd has been unreachable for a request timeout.
	gate func() error
	// onConflict, when set (tests), runs after each conflict.
	onConflict func()
	// commitHook, when set (tests), sends a commit in place of the
	// engine: it may call send, or not, and lose the answer.
	commitHook func(ctx context.Context, send func(context.Context) (*clientv3.TxnResponse, error)) (*clientv3.TxnResponse, error)

	// The lease the commits' markers are put under (kv_etcd_commit.go),
	// and when it was asked for.
	leaseMu sync.Mutex
	lease   clientv3.LeaseID
	leaseAt time.Time
}

// attemptTimeout is how long one attempt of a write, or one question of
// settle, may take: a third of the request timeout, between 250ms and
// 1.5s.
func attemptTimeout(request time.Duration) time.Duration {
	return min(max(request/3, 250*time.Millisecond), 1500*time.Millisecond, request)
}

const (
	versionsBucket = "_versions"
	// scanPage is how many keys one range read fetches.
	scanPage = 500
	// maxKeyCompares is how many keys of one bucket a transaction compares
	// one by one; past it, it compares the bucket's version key instead
	// (coarser, equally safe), so a commit stays within etcd's
	// --max-txn-ops.
	maxKeyCompares = 8
)

// errRetry: the transaction's revision was compacted while it ran.
var errRetry = errors.New("keystore: etcd revision compacted during a transaction")

func (e *etcdKV) versionKey(bucket string) string { return e.prefix + versionsBucket + "/" + bucket }

func (e *etcdKV) View(fn func(kvTx) error) error {
	if err := e.open(); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		t := e.begin(false, e.timeout)
		err := fn(t)
		t.cancel()
		if errors.Is(t.err, errRetry) && attempt < e.maxAttempts {
			continue
		}
		if t.err != nil {
			return t.err
		}
		return err
	}
}

func (e *etcdKV) Update(fn func(kvTx) error) (int64, error) {
	if err := e.open(); err != nil {
		return 0, err
	}
	since := time.Now() // the last time etcd answered this write
	var down error      // etcd's last failure since then
	for conflicts := 0; ; {
		// Give up once etcd has not answered this write for the request
		// timeout, or this instance's contact reads for as long (a
		// write that waited for another to give up).
		if down != nil && (time.Since(since) >= e.timeout || e.open() != nil) {
			return 0, down
		}
		t := e.begin(true, e.attemptFrom(since))
		err := fn(t)
		rev, ok := int64(0), false
		if t.err == nil && err == nil {
			rev, ok = t.commit()
		}
		t.cancel()
		switch {
		case errors.Is(t.err, errRetry):
		case t.marker != "":
			rev, applied, err := e.settle(t.marker, t.lease, since)
			switch {
			case err != nil:
				return 0, err
			case applied:
				return rev, nil
			}
			// Not applied, and now never will be: etcd answered; run fn
			// again, as after a conflict.
		case t.err != nil && t.transient:
			down = t.err
			if !errors.Is(t.err, context.DeadlineExceeded) {
				time.Sleep(retryPause)
			}
			continue
		case t.err != nil:
			return 0, t.err
		case err != nil:
			return 0, err
		case ok:
			return rev, nil
		case e.onConflict != nil:
			e.onConflict()
		}
		since, down = time.Now(), nil
		conflicts++
		if conflicts >= e.maxAttempts {
			return 0, ErrConflict
		}
		time.Sleep(backoff(conflicts))
	}
}

// attemptFrom is how long an attempt of a write, or a question of
// settle, may take when etcd last answered the write at since: the
// attempt timeout, or less so as to end with the request timeout (but
// never under 100ms).
func (e *etcdKV) attemptFrom(since time.Time) time.Duration {
	return min(e.attemptTimeout, max(e.timeout-time.Since(since), 100*time.Millisecond))
}

// backoff is the wait before attempt+1: doubling from 1ms to 64ms, then
// spread over half to one and a half times that, so that instances that
// conflicted do not meet again in step.
func backoff(attempt int) time.Duration {
	d := time.Millisecond << min(attempt-1, 6)
	return d/2 + rand.N(d)
}

func (e *etcdKV) open() error {
	if e.gate != nil {
		return e.gate()
	}
	return nil
}

func (e *etcdKV) Close() error { return e.c.Close() }

// unavailable wraps an error of the etcd client. A read at a compacted
// revision is errRetry: the transaction runs again at a newer one.
func unavailable(err error) error {
	if errors.Is(err, rpctypes.ErrCompacted) {
		return errRetry
	}
	if errors.Is(err, rpctypes.ErrNoSpace) {
		return fmt.Errorf("%w (%w): its space quota (--quota-backend-bytes) is used up; nothing was written; compact and defragment etcd, then disarm its NOSPACE alarm (etcdctl alarm disarm): etcd: %w", ErrEtcdFull, ErrStoreUnavailable, err)
	}
	return fmt.Errorf("%w: etcd: %w", ErrStoreUnavailable, err)
}

// begin starts an attempt of a transaction, which may take timeout.
func (e *etcdKV) begin(writable bool, timeout time.Duration) *etcdTx {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	return &etcdTx{
		e: e, ctx: ctx, cancel: cancel, writable: writable,
		reads: map[string]etcdRead{}, ranged: map[string]bool{}, single: map[string]int{},
		writes: map[string]etcdWrite{}, dirty: map[string]bool{},
	}
}
