package keystore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
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
type etcdKV struct {
	c      *clientv3.Client
	prefix string
	// timeout bounds one attempt of a transaction, its commit included.
	timeout     time.Duration
	maxAttempts int
	maxTxnOps   int
	// gate, when set, refuses a transaction at once (ErrStoreUnavailable)
	// while etcd is known to be unreachable.
	gate func() error
	// onConflict, when set (tests), runs after each conflict.
	onConflict func()
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
		t := e.begin(false)
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
	for attempt := 1; ; attempt++ {
		t := e.begin(true)
		err := fn(t)
		rev, ok := int64(0), false
		if t.err == nil && err == nil {
			rev, ok = t.commit()
		}
		t.cancel()
		switch {
		case errors.Is(t.err, errRetry):
		case t.err != nil:
			return 0, t.err
		case err != nil:
			return 0, err
		case ok:
			return rev, nil
		case e.onConflict != nil:
			e.onConflict()
		}
		if attempt >= e.maxAttempts {
			return 0, ErrConflict
		}
		time.Sleep(backoff(attempt))
	}
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
	return fmt.Errorf("%w: etcd: %w", ErrStoreUnavailable, err)
}

func (e *etcdKV) begin(writable bool) *etcdTx {
	ctx, cancel := context.WithTimeout(context.Background(), e.timeout)
	return &etcdTx{
		e: e, ctx: ctx, cancel: cancel, writable: writable,
		reads: map[string]etcdRead{}, ranged: map[string]bool{}, single: map[string]int{},
		writes: map[string]etcdWrite{}, dirty: map[string]bool{},
	}
}
