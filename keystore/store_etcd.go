package keystore

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// DefaultEtcdPrefix is where the store keeps its keys in etcd unless told
// otherwise.
const DefaultEtcdPrefix = "/sdproxy/"

// EtcdOptions configure OpenEtcd. The zero value of every field but
// Endpoints is usable.
type EtcdOptions struct {
	// Endpoints are etcd's client URLs (http://host:2379, https://…).
	// Required.
	Endpoints []string
	// Prefix comes before every key the store keeps in etcd; it ends in
	// "/". Empty means DefaultEtcdPrefix. Instances that share a prefix
	// share everything.
	Prefix string
	// TLS, when not nil, is the client's TLS configuration (CA, client
	// certificate). Nil means plain connections.
	TLS *tls.Config
	// Username and Password log in to etcd when Username is not empty.
	Username string
	Password string
	// MaxStaleness is how long Authenticate goes on serving from the cache
	// when the cache cannot be shown current (etcd unreachable, the watch
	// broken); past it every key is refused with ErrStoreUnavailable, as
	// one may have been revoked meanwhile. Zero means 60s.
	MaxStaleness time.Duration
	// DialTimeout bounds connecting to etcd. Zero means 5s.
	DialTimeout time.Duration
	// RequestTimeout bounds one attempt of a read; how long a write goes
	// on trying while etcd does not answer it (each attempt of the write
	// takes at most a third of it, between 250ms and 1.5s, so that an
	// attempt lost with a dying member or leader is tried again in time);
	// and how long a write waits for the watch to bring its change into
	// the cache. Zero means 5s.
	RequestTimeout time.Duration
	// MaxAttempts bounds how often a write that conflicts with other
	// instances' writes is tried (then ErrConflict). Zero means 50.
	MaxAttempts int
	// MaxTxnOps is the etcd server's --max-txn-ops. Zero means 128, etcd's
	// default.
	MaxTxnOps int
}

func (o EtcdOptions) withDefaults() EtcdOptions {
	if o.Prefix == "" {
		o.Prefix = DefaultEtcdPrefix
	}
	if o.MaxStaleness == 0 {
		o.MaxStaleness = 60 * time.Second
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 5 * time.Second
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 50
	}
	if o.MaxTxnOps == 0 {
		o.MaxTxnOps = 128
	}
	return o
}

func (o EtcdOptions) validate() error {
	var errs []error
	if len(o.Endpoints) == 0 {
		errs = append(errs, errors.New("no endpoints"))
	}
	if !strings.HasSuffix(o.Prefix, "/") {
		errs = append(errs, fmt.Errorf("prefix %q must end in /", o.Prefix))
	}
	if o.MaxStaleness < 0 || o.DialTimeout < 0 || o.RequestTimeout < 0 || o.MaxAttempts < 0 || o.MaxTxnOps < 0 {
		errs = append(errs, errors.New("negative limit"))
	}
	return errors.Join(errs...)
}

// OpenEtcd opens the store kept in etcd under eo.Prefix, which several
// instances may share: it checks the master key (storing its check value
// if it is the first), loads the cache and starts following etcd. It
// fails with ErrStoreUnavailable when etcd cannot be reached, and
// ErrWrongMasterKey when opts.MasterKey is not the key the store was
// created with. opts.LockTimeout does not apply.
//
// The store watches etcd until Close, which must be called.
func OpenEtcd(eo EtcdOptions, opts Options) (*Store, error) {
	if len(opts.MasterKey) != 32 {
		return nil, ErrBadMasterKey
	}
	eo = eo.withDefaults()
	if err := eo.validate(); err != nil {
		return nil, fmt.Errorf("keystore.OpenEtcd: %w", err)
	}
	opts = withDefaults(opts)
	c, err := clientv3.New(clientv3.Config{
		Endpoints: eo.Endpoints, DialTimeout: eo.DialTimeout, TLS: eo.TLS,
		Username: eo.Username, Password: eo.Password,
		DialKeepAliveTime: 10 * time.Second, DialKeepAliveTimeout: 5 * time.Second,
		Logger: zap.NewNop(), // failures reach the caller as errors
	})
	if err != nil {
		return nil, fmt.Errorf("keystore.OpenEtcd: %w", unavailable(err))
	}
	kv := &etcdKV{c: c, prefix: eo.Prefix, timeout: eo.RequestTimeout, attemptTimeout: attemptTimeout(eo.RequestTimeout), maxAttempts: eo.MaxAttempts, maxTxnOps: eo.MaxTxnOps}
	s := &Store{kv: kv, opts: opts, maxWrites: max(eo.MaxTxnOps-len(allBuckets)-8, 2)}
	s.newHMACPool()
	if err := s.init(); err != nil {
		c.Close()
		return nil, err
	}
	s.feed = newFeed(s, kv, eo.MaxStaleness)
	kv.gate = s.feed.gate
	if err := s.feed.start(); err != nil {
		c.Close()
		return nil, fmt.Errorf("keystore.OpenEtcd: %w", err)
	}
	return s, nil
}
