package keystore

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
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
	if o.TLS == nil && anyScheme(o.Endpoints, "https") {
		// The etcd client takes the transport of the first endpoint for
		// all: with a first endpoint without a scheme and no TLS
		// configuration, an https:// one would be dialled in plaintext.
		o.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return o
}

// endpointScheme is the scheme of an etcd endpoint as the etcd client
// reads it ("" for host:port).
func endpointScheme(ep string) string {
	if !strings.Contains(ep, "://") {
		return ""
	}
	u, err := url.Parse(ep)
	if err != nil {
		return ""
	}
	return u.Scheme
}

// probeEndpoints connects to each endpoint as the etcd client would (TCP,
// then TLS when it uses TLS) and returns why none could be connected to,
// or nil when one could.
func probeEndpoints(o EtcdOptions) error {
	var errs []error
	for _, ep := range o.Endpoints {
		host := ep
		if endpointScheme(ep) != "" {
			u, err := url.Parse(ep)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", ep, err))
				continue
			}
			host = u.Host
		}
		timeout := min(o.DialTimeout, 2*time.Second)
		conn, err := net.DialTimeout("tcp", host, timeout)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ep, err))
			continue
		}
		if o.TLS == nil || endpointScheme(ep) == "http" {
			conn.Close()
			return nil
		}
		conf := o.TLS.Clone()
		if conf.ServerName == "" {
			conf.ServerName, _, _ = net.SplitHostPort(host)
		}
		tc := tls.Client(conn, conf)
		tc.SetDeadline(time.Now().Add(timeout))
		err = tc.Handshake()
		tc.Close()
		if err == nil {
			return nil
		}
		var rh tls.RecordHeaderError
		if errors.Is(err, io.EOF) || errors.As(err, &rh) {
			err = fmt.Errorf("%w: the server does not speak TLS (a plaintext etcd? then name it http://)", err)
		}
		errs = append(errs, fmt.Errorf("%s: TLS: %w", ep, err))
	}
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return errors.New(strings.Join(msgs, "; "))
}

func anyScheme(eps []string, scheme string) bool {
	for _, ep := range eps {
		if endpointScheme(ep) == scheme {
			return true
		}
	}
	return false
}

func (o EtcdOptions) validate() error {
	var errs []error
	if len(o.Endpoints) == 0 {
		errs = append(errs, errors.New("no endpoints"))
	}
	if !strings.HasSuffix(o.Prefix, "/") {
		errs = append(errs, fmt.Errorf("prefix %q must end in /", o.Prefix))
	}
	// The etcd client drops TLS for every endpoint when the first is
	// http://, and uses it for every one otherwise: TLS settings with an
	// http:// endpoint (or http:// mixed with https://) would silently
	// talk plaintext, or TLS to a plaintext member.
	if o.TLS != nil {
		for _, ep := range o.Endpoints {
			if endpointScheme(ep) == "http" {
				errs = append(errs, fmt.Errorf("endpoint %q is plaintext (http://) but TLS is configured (https:// endpoints, a CA or a client certificate): name every endpoint https://", ep))
			}
		}
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
		if errors.Is(err, ErrStoreUnavailable) {
			// The etcd client says only that time ran out: say why,
			// when it is that no endpoint can be connected to.
			if why := probeEndpoints(eo); why != nil {
				err = fmt.Errorf("%w (%w)", err, why)
			}
		}
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
