package keystore

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// feed keeps the cache of a store on etcd in step with etcd. It loads
// everything at one revision, then watches the prefix from the next one
// and applies every change to the cache in revision order (feed_watch.go);
// when the watch breaks beyond resuming (a compaction), it loads everything
// again. It is the only writer of the cache: a write of this instance
// returns once the watch has applied its revision, so the instance that
// made a change sees it before it answers, as on bbolt.
//
// It also tracks contact. Every interval a linearizable read asks etcd
// which buckets changed after the revision the cache holds; the cache was
// fresh at the moment that read started once the watch has applied those
// changes. Authenticate refuses keys (ErrStoreUnavailable) when the cache
// has not been fresh for maxStale, Ready reports unready while the last
// read failed or well before maxStale, and transactions fail at once once
// the reads have failed for a request timeout.
type feed struct {
	s        *Store
	kv       *etcdKV
	maxStale time.Duration
	interval time.Duration
	epoch    time.Time // monotonic base of fresh

	// fresh is when (nanoseconds after epoch) the cache last held all
	// that etcd held.
	fresh     atomic.Int64
	reachable atomic.Bool
	// downSince is when (after epoch) the contact reads began to fail;
	// meaningful while reachable is false.
	downSince atomic.Int64
	// resyncs counts full reloads after the first (tests).
	resyncs atomic.Int64

	mu      sync.Mutex
	applied int64         // the revision the cache holds everything up to
	changed chan struct{} // closed, and replaced, when applied moves
	pending contactCheck  // a check waiting for the watch to reach its revision
	restart context.CancelFunc
	err     error // the last change that could not be applied

	// dropped are the projects left out of the cache because one of
	// their records could not be read, badKeys the keys; only the watch
	// goroutine (and start, before it) uses them.
	dropped, badKeys map[string]bool

	cancel context.CancelFunc
	done   chan struct{}
	wg     sync.WaitGroup

	// beforeWatch, when set (tests only; under mu), runs before each
	// watch starts.
	beforeWatch func()
}

// contactCheck is a contact read started at (after epoch) that found
// changes up to rev not yet applied.
type contactCheck struct {
	at  int64
	rev int64
}

func newFeed(s *Store, kv *etcdKV, maxStale time.Duration) *feed {
	f := &feed{
		s: s, kv: kv, maxStale: maxStale, epoch: time.Now(),
		interval: min(max(maxStale/4, 20*time.Millisecond), time.Second),
		changed:  make(chan struct{}), done: make(chan struct{}),
	}
	f.reachable.Store(true)
	return f
}

// start loads the cache and starts the watch and the contact checks.
func (f *feed) start() error {
	if err := f.load(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	f.wg.Add(2)
	go f.watchLoop(ctx)
	go f.contactLoop(ctx)
	return nil
}

// stop ends the watch and the contact checks and waits for them.
func (f *feed) stop() {
	f.cancel()
	close(f.done)
	f.wg.Wait()
}

func (f *feed) now() int64 { return int64(time.Since(f.epoch)) }

// markFresh records that the cache held all of etcd at at.
func (f *feed) markFresh(at int64) {
	for {
		old := f.fresh.Load()
		if at <= old || f.fresh.CompareAndSwap(old, at) {
			return
		}
	}
}

// tooStale reports whether the cache may be missing changes older than
// maxStale. It does not allocate.
func (f *feed) tooStale() bool {
	return f.now()-f.fresh.Load() > int64(f.maxStale)
}

// lag is how long ago the cache was last known fresh.
func (f *feed) lag() time.Duration { return time.Duration(f.now() - f.fresh.Load()) }

// gate refuses a transaction at once once the contact reads have failed
// for a request timeout. Before that a transaction tries for itself
// (etcdKV.Update rides out a member's death or a leader election), so a
// write sent at a moment when a contact read has just failed still
// succeeds.
func (f *feed) gate() error {
	if !f.reachable.Load() && time.Duration(f.now()-f.downSince.Load()) >= f.kv.timeout {
		return fmt.Errorf("%w: etcd cannot be reached", ErrStoreUnavailable)
	}
	return nil
}

func (f *feed) ready() error {
	if !f.reachable.Load() {
		return fmt.Errorf("%w: etcd cannot be reached", ErrStoreUnavailable)
	}
	if lag := f.lag(); lag > 3*f.interval+f.checkTimeout() {
		return fmt.Errorf("%w: the cache was last known current %s ago", ErrStoreUnavailable, lag.Round(time.Millisecond))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// advanceLocked records that the cache holds everything up to rev. The
// caller holds f.mu.
func (f *feed) advanceLocked(rev int64) {
	if rev <= f.applied {
		return
	}
	f.applied = rev
	close(f.changed)
	f.changed = make(chan struct{})
	if f.pending.rev != 0 && f.pending.rev <= rev {
		f.markFresh(f.pending.at)
		f.pending = contactCheck{}
	}
}

func (f *feed) appliedRev() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applied
}

func (f *feed) checkTimeout() time.Duration {
	return min(max(2*f.interval, 500*time.Millisecond), f.kv.timeout)
}

func (f *feed) contactLoop(ctx context.Context) {
	defer f.wg.Done()
	t := time.NewTicker(f.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f.check(ctx)
		}
	}
}

// check asks etcd, linearizably, for the version keys of the buckets
// changed after the revision the cache holds. None: the cache is fresh as
// of the moment the read started. Some: it will be once the watch has
// applied them; a watch that lags behind a change for long is restarted.
func (f *feed) check(ctx context.Context) {
	at := f.now()
	applied := f.appliedRev()
	cctx, cancel := context.WithTimeout(ctx, f.checkTimeout())
	resp, err := f.kv.c.Get(cctx, f.kv.prefix+versionsBucket+"/", clientv3.WithPrefix(), clientv3.WithMinModRev(applied+1), clientv3.WithKeysOnly())
	cancel()
	if err != nil {
		if f.reachable.Load() {
			f.downSince.Store(at)
			f.reachable.Store(false)
		}
		return
	}
	f.reachable.Store(true)
	var need int64
	for _, kv := range resp.Kvs {
		need = max(need, kv.ModRevision)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case need <= f.applied:
		f.markFresh(at)
	case f.pending.rev == 0:
		f.pending = contactCheck{at, need}
	case time.Duration(at-f.pending.at) > max(time.Second, 4*f.interval) && f.restart != nil:
		f.restart() // the watch has not delivered a change it should have long since
	}
}

// waitApplied waits until the cache holds revision rev, restarting the
// watch once if that takes long.
func (f *feed) waitApplied(rev int64) error {
	deadline := time.NewTimer(f.kv.timeout)
	defer deadline.Stop()
	nudge := time.NewTimer(min(time.Second, f.kv.timeout/2))
	defer nudge.Stop()
	for {
		f.mu.Lock()
		if f.applied >= rev {
			f.mu.Unlock()
			return nil
		}
		ch, restart := f.changed, f.restart
		f.mu.Unlock()
		select {
		case <-ch:
		case <-nudge.C:
			if restart != nil {
				restart()
			}
		case <-deadline.C:
			return fmt.Errorf("%w (revision %d)", ErrNotCaughtUp, rev)
		case <-f.done:
			return ErrClosed
		}
	}
}
