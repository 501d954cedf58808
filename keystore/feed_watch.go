package keystore

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// errResync: the watch cannot resume where the cache is (the revisions in
// between were compacted); the cache must be loaded again.
var errResync = errors.New("keystore: etcd watch compacted")

func (f *feed) watchLoop(ctx context.Context) {
	defer f.wg.Done()
	for ctx.Err() == nil {
		err := f.watch(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, errResync):
			f.resync(ctx)
		default:
			sleep(ctx, 50*time.Millisecond) // the client reconnects by itself; do not spin
		}
	}
}

// watch follows the prefix from the revision after the cache's until the
// watch ends: canceled (by restart), compacted, or without a leader.
func (f *feed) watch(ctx context.Context) error {
	f.mu.Lock()
	hook := f.beforeWatch
	f.mu.Unlock()
	if hook != nil {
		hook()
	}
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	f.mu.Lock()
	f.restart = cancel
	from := f.applied + 1
	f.mu.Unlock()
	for resp := range f.kv.c.Watch(wctx, f.kv.prefix, clientv3.WithPrefix(), clientv3.WithRev(from)) {
		if resp.CompactRevision != 0 || errors.Is(resp.Err(), rpctypes.ErrCompacted) {
			return errResync
		}
		if err := resp.Err(); err != nil {
			return err
		}
		if f.apply(resp.Events) {
			return errResync // a record unreadable before changed: read everything again
		}
	}
	return ctx.Err()
}

// resync loads the cache again until that works or ctx ends.
func (f *feed) resync(ctx context.Context) {
	for wait := 50 * time.Millisecond; ctx.Err() == nil; wait = min(2*wait, time.Second) {
		if err := f.load(); err == nil {
			f.resyncs.Add(1)
			return
		}
		sleep(ctx, wait)
	}
}

// apply applies the events of one watch response (whole revisions) to the
// cache, then records the last revision as applied. A record that cannot
// be read fails closed (see authCache.loadSkipping): its key, or its
// project, is dropped from the cache and the failure is reported by
// Ready. reload is true when a record that was unreadable, or a record of
// a project dropped for one, has changed since: the cache must then be
// read again (the project's other records did not reach it meanwhile).
func (f *feed) apply(evs []*clientv3.Event) (reload bool) {
	var last int64
	var failed error
	for _, ev := range evs {
		bucket, key, ok := strings.Cut(strings.TrimPrefix(string(ev.Kv.Key), f.kv.prefix), "/")
		// _versions/, _instances/ and _txn/ (commit markers) hold no
		// record of the store; their revisions count as applied all the same.
		if ok && !strings.HasPrefix(bucket, "_") {
			project := unreadableProject(bucket, key)
			if err := f.s.applyChange(bucket, key, ev.Type == clientv3.EventTypeDelete, ev.Kv.Value, ev.Kv.ModRevision); err != nil {
				failed = unreadable{bucket, key, err}
				switch {
				case project != "":
					f.s.cache.deleteProject(project, nil)
					f.dropped[project] = true
				case bucket == string(bucketKeys):
					f.s.cache.deleteKey(key)
					f.badKeys[key] = true
				}
			} else if project != "" && f.dropped[project] || bucket == string(bucketKeys) && f.badKeys[key] {
				reload = true
			}
		}
		last = ev.Kv.ModRevision
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if failed != nil {
		f.err = failed
	}
	f.advanceLocked(last)
	return reload
}

// load reads every record at one revision into a fresh cache, swaps it
// in (keeping the in-memory "last used" times and the keyrings' counts)
// and records the revision as applied. The cache is fresh as of the
// moment the read started.
func (f *feed) load() error {
	at := f.now()
	s := f.s
	s.cache.mu.RLock()
	version := s.cache.routeVersion
	s.cache.mu.RUnlock()
	var fresh *authCache
	var dks map[string]*storedDataKeys
	var rev int64
	var bad []unreadable
	err := f.kv.View(func(tx kvTx) error {
		fresh = new(authCache)
		fresh.init(s)
		fresh.routeVersion = version
		var err error
		if bad, err = fresh.loadSkipping(tx); err != nil {
			return err
		}
		dks, err = readDataKeys(tx, func(key string, err error) {
			bad = append(bad, unreadable{string(bucketDataKeys), key, err})
		})
		rev = tx.Revision()
		return err
	})
	if err != nil {
		return err
	}
	for _, u := range bad {
		if u.bucket == string(bucketDataKeys) {
			project := unreadableProject(u.bucket, u.key)
			fresh.deleteProject(project, nil)
			delete(dks, project)
		}
	}
	s.cache.replace(fresh)
	bad = append(bad, s.syncKeyrings(dks, rev)...)
	// Only the watch goroutine (or start, before it) loads and applies:
	// dropped and badKeys need no lock.
	f.dropped, f.badKeys = map[string]bool{}, map[string]bool{}
	errs := make([]error, len(bad))
	for i, u := range bad {
		errs[i] = u
		if project := unreadableProject(u.bucket, u.key); project != "" {
			f.dropped[project] = true
		} else if u.bucket == string(bucketKeys) {
			f.badKeys[u.key] = true
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.advanceLocked(rev)
	f.err = errors.Join(errs...)
	f.markFresh(at)
	return nil
}

// storedDataKeys are one project's data-key records as stored.
type storedDataKeys struct {
	meta dataKeyMeta
	recs []dataKeyRecord
}

// readDataKeys reads every data-key record, by project. A record that
// cannot be decoded is reported to bad, and the rest read on.
func readDataKeys(tx kvTx, bad func(key string, err error)) (map[string]*storedDataKeys, error) {
	out := map[string]*storedDataKeys{}
	err := tx.Bucket(bucketDataKeys).ForEach(func(k, v []byte) error {
		project, rest, _ := strings.Cut(string(k), "/")
		d := out[project]
		if d == nil {
			d = new(storedDataKeys)
			out[project] = d
		}
		if rest == "meta" {
			if err := json.Unmarshal(v, &d.meta); err != nil {
				bad(string(k), err)
			}
			return nil
		}
		var rec dataKeyRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			bad(string(k), err)
			return nil
		}
		d.recs = append(d.recs, rec)
		return nil
	})
	return out, err
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
