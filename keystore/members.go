package keystore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Instance is one running sdproxy process as it registers itself.
type Instance struct {
	// ID is the instance's id, kept in its data directory so that a
	// restart keeps it.
	ID string
	// DataAddr is the data listener's address; AdminURL the admin API's
	// advertised base URL (http://host:port), which other instances call.
	DataAddr, AdminURL string
	// Version is the sdproxy version it runs; Started when it started.
	Version string
	Started time.Time
}

// MembershipOptions configure Join. The zero value of each field is usable.
type MembershipOptions struct {
	// TTL is the lease's time to live: an instance that stops renewing it
	// (crashed, cut off from etcd) disappears from every list after at
	// most TTL. Zero means 10s; etcd raises anything below its minimum
	// (about 2s).
	TTL time.Duration
	// OnChange, when set, is called with the live list after every
	// change of it (and once with the first list), on the watch
	// goroutine: it must not block.
	OnChange func([]Instance)
	// Start, when set, ends Join's wait at start for a previous run's
	// registration of the same id to expire (see Join) when it is done:
	// Join then fails with an error that wraps ErrJoinCancelled.
	Start context.Context
	// OnWait, when set, is called once when Join starts that wait, with
	// the longest it will wait.
	OnWait func(time.Duration)
}

// ErrJoinCancelled: Join's wait at start was ended by its Start context.
var ErrJoinCancelled = errors.New("keystore: joining cancelled")

// ErrBadInstance: Join was given an instance without an id.
var ErrBadInstance = errors.New("keystore: instance needs an id")

// Members is the live list of the instances sharing this store. On bbolt
// it holds only this instance; on etcd each instance registers under a
// lease it keeps alive, and the list follows etcd's watch of the
// registrations.
//
// Close must be called before the Store is closed: it stops the
// background work and removes this instance's registration.
type Members struct {
	self Instance

	mu   sync.RWMutex
	list []Instance // sorted by id; never changed in place

	onChange func([]Instance)
	etcd     *etcdMembers // nil on bbolt
}

// Join registers self among the store's instances and starts following
// the list. On etcd it fails with ErrStoreUnavailable when etcd cannot be
// reached. When etcd is full (its space quota, ErrEtcdFull) it joins
// unregistered and registers as soon as etcd takes writes again. When
// self's id is registered by another process, Join waits
// for that registration's lease to run out (a previous run that died
// without revoking it: at most its TTL and 2s), and fails with
// ErrInstanceIDInUse if it is still renewed then.
func (s *Store) Join(self Instance, o MembershipOptions) (*Members, error) {
	if self.ID == "" || strings.ContainsAny(self.ID, "/") {
		return nil, fmt.Errorf("keystore.Join: %w", ErrBadInstance)
	}
	if o.TTL == 0 {
		o.TTL = 10 * time.Second
	}
	self.Started = self.Started.UTC()
	m := &Members{self: self, onChange: o.OnChange}
	kv, ok := s.kv.(*etcdKV)
	if !ok {
		m.set([]Instance{self})
		return m, nil
	}
	em, err := startEtcdMembers(m, kv, o)
	if err != nil {
		return nil, fmt.Errorf("keystore.Join: %w", err)
	}
	m.etcd = em
	return m, nil
}

// Self is this instance.
func (m *Members) Self() Instance { return m.self }

// List returns the live instances, sorted by id. The slice is shared:
// do not change it.
func (m *Members) List() []Instance {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.list
}

// Close stops following the list and removes this instance's
// registration (on etcd: revokes its lease, so the others drop it at
// once rather than after the TTL).
func (m *Members) Close() error {
	if m.etcd == nil {
		return nil
	}
	return m.etcd.close(true)
}

// set replaces the list and reports it.
func (m *Members) set(list []Instance) {
	slices.SortFunc(list, func(a, b Instance) int { return strings.Compare(a.ID, b.ID) })
	m.mu.Lock()
	m.list = list
	m.mu.Unlock()
	if m.onChange != nil {
		m.onChange(list)
	}
}
