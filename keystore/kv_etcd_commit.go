package keystore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Making a commit safe to retry.
//
// etcd may lose the answer to a commit while applying it: the member the
// client sent it to dies (EOF), or a follower forwarded it to a leader that
// died (the follower waits until the request times out). Running the
// transaction again could then apply it twice (two keys made by one
// CreateKey, two blocks reserved for one seal). So every commit also puts
// a marker of its own, <prefix>_txn/<128-bit random id>, and applies only
// while the marker does not exist. When the answer is lost, settle asks
// etcd, in one transaction, "if the marker exists, give it to me; if not,
// put a fence in its place". The marker there: the commit was applied, at
// the marker's revision. The fence put: the commit was not applied, and can
// no longer be (its compare on the marker now fails), so the transaction
// runs again from fresh reads. This holds whatever became of the request
// inside etcd, even one still on its way to the leader.
//
// Markers and fences are put under a lease of the store's (txnLease), so
// they expire by themselves; the cache, the contact check and store copy
// read only the store's buckets, and the watch ignores _txn/ keys as it
// ignores _instances/ and _versions/.

const (
	// txnBucket holds the commit markers.
	txnBucket = "_txn"
	// markerApplied is the value of a commit's marker; markerFenced that
	// of the fence settle puts in place of a marker that was not there.
	markerApplied = "applied"
	markerFenced  = "fenced"
	// retryPause is the wait before trying again after etcd failed at
	// once (a broken connection), so as not to spin.
	retryPause = 50 * time.Millisecond
	// minLeaseTTL is the shortest life of the markers' lease.
	minLeaseTTL = 60 * time.Second
)

// newMarker returns a fresh marker key.
func (e *etcdKV) newMarker() string {
	var id [16]byte
	rand.Read(id[:]) // never fails (crypto/rand)
	return e.prefix + txnBucket + "/" + hex.EncodeToString(id[:])
}

// leaseTTL is the life of a markers' lease. A lease is used for commits
// during the first half of its life, so a marker lives at least half of
// it (30 s, at least three request timeouts): longer than any settling of
// its commit, which gives up after a request timeout.
func (e *etcdKV) leaseTTL() time.Duration {
	return max(minLeaseTTL, 6*e.timeout).Round(time.Second)
}

// txnLease returns the lease to put markers under, granting a new one
// when there is none or the current one is past half its life. The lease
// is never renewed: it expires with its markers, and is replaced.
func (e *etcdKV) txnLease(ctx context.Context) (clientv3.LeaseID, error) {
	e.leaseMu.Lock()
	defer e.leaseMu.Unlock()
	ttl := e.leaseTTL()
	if e.lease != 0 && time.Since(e.leaseAt) < ttl/2 {
		return e.lease, nil
	}
	start := time.Now() // the lease expires ttl after etcd granted it, so not before start+ttl
	g, err := e.c.Grant(ctx, int64(ttl/time.Second))
	if err != nil {
		return 0, err
	}
	e.lease, e.leaseAt = g.ID, start
	return g.ID, nil
}

// dropLease forgets lease (etcd no longer knows it), so the next commit
// grants a new one.
func (e *etcdKV) dropLease(lease clientv3.LeaseID) {
	e.leaseMu.Lock()
	defer e.leaseMu.Unlock()
	if e.lease == lease {
		e.lease = 0
	}
}

// settle finds out whether the commit that put marker under lease, whose
// answer was lost, was applied, asking until etcd answers, until the
// request timeout has passed since since, or until the contact reads have
// failed for as long. applied with the commit's revision, or not applied
// (and never to be): the transaction may run again. An error
// (ErrStoreUnavailable) when etcd did not answer in time: the commit may
// then have been applied.
func (e *etcdKV) settle(marker string, lease clientv3.LeaseID, since time.Time) (rev int64, applied bool, err error) {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), e.attemptFrom(since))
		resp, err := e.c.Txn(ctx).
			If(clientv3.Compare(clientv3.Version(marker), "=", 0)).
			Then(clientv3.OpPut(marker, markerFenced, clientv3.WithLease(lease))).
			Else(clientv3.OpGet(marker)).
			Commit()
		timedOut := ctx.Err() != nil
		cancel()
		switch {
		case err == nil && resp.Succeeded:
			return 0, false, nil // fenced
		case err == nil:
			kvs := resp.Responses[0].GetResponseRange().GetKvs()
			if len(kvs) == 1 && string(kvs[0].Value) == markerApplied {
				return kvs[0].ModRevision, true, nil
			}
			return 0, false, nil // the fence of an earlier try whose answer was lost
		case refused(err):
			// Only the lease can be missing here, which cannot happen
			// within its life; the commit could no longer apply, but its
			// marker would be gone with the lease.
			return 0, false, fmt.Errorf("%w: etcd did not answer a write's commit, and whether it was applied cannot be found out (%w): check before writing again", ErrStoreUnavailable, err)
		case time.Since(since) >= e.timeout || e.open() != nil:
			return 0, false, fmt.Errorf("%w: etcd did not answer a write's commit within %s, and it may have been applied: check before writing again: etcd: %w", ErrStoreUnavailable, e.timeout, err)
		}
		if !timedOut {
			time.Sleep(retryPause)
		}
	}
}

// refused reports whether err, returned by etcd for a request, says that
// the request was refused without effect, for a reason that trying again
// will not change (a request too large, a permission, a missing lease,
// etcd's space quota exhausted).
// Any other error (a broken connection, no leader, a leader change, a
// timeout) leaves the outcome of a write unknown and passes with time.
func refused(err error) bool {
	if errors.Is(err, rpctypes.ErrNoSpace) {
		// etcd's space quota is exhausted (its NOSPACE alarm): it refuses
		// every write before applying it, until an operator disarms the
		// alarm. (Other ResourceExhausted errors, such as "too many
		// requests", pass with time.)
		return true
	}
	var code codes.Code
	var ee rpctypes.EtcdError
	if errors.As(err, &ee) {
		code = ee.Code()
	} else if s, ok := status.FromError(err); ok {
		code = s.Code()
	} else {
		return false // a context's error, io.EOF, …
	}
	switch code {
	case codes.InvalidArgument, codes.NotFound, codes.AlreadyExists, codes.PermissionDenied,
		codes.FailedPrecondition, codes.OutOfRange, codes.Unauthenticated, codes.Unimplemented:
		return true
	}
	return false
}
