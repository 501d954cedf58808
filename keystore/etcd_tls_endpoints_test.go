package keystore

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sdproxy/sdproxy/internal/testport"
)

// TestEtcdHTTPSEndpointNotDowngraded: an endpoint named https:// must
// be spoken to over TLS. The etcd client takes the transport credentials of
// the FIRST endpoint for all of them, so with http://a,https://b the
// https:// endpoint would be dialled in plaintext. Here b is a plaintext
// etcd: an https:// connection to it cannot succeed, so OpenEtcd must fail
// (or refuse the mix up front), never open.
func TestEtcdHTTPSEndpointNotDowngraded(t *testing.T) {
	plain := startEtcd(t)[0] // http://127.0.0.1:port
	host := strings.TrimPrefix(plain, "http://")
	dead := "http://" + testport.Addr(t) // nothing listens there

	// Control: the https:// endpoint alone does not open (TLS to a plaintext server).
	if s, err := OpenEtcd(EtcdOptions{Endpoints: []string{"https://" + host}, DialTimeout: time.Second, RequestTimeout: time.Second, TLS: &tls.Config{}},
		Options{MasterKey: testMaster}); err == nil {
		s.Close()
		t.Fatal("control: https:// to a plaintext etcd opened")
	}

	s, err := OpenEtcd(EtcdOptions{Endpoints: []string{dead, "https://" + host}, DialTimeout: 2 * time.Second, RequestTimeout: 3 * time.Second, TLS: &tls.Config{}},
		Options{MasterKey: testMaster})
	if err == nil {
		s.Close()
		t.Fatal("OpenEtcd(http://dead, https://plaintext-etcd) opened: the https:// endpoint was used without TLS")
	}
	t.Logf("refused: %v", err)
}

// TestEtcdTLSWithHTTPEndpointRefused: a TLS configuration (a CA to
// check etcd with, a client certificate) given with http:// endpoints is
// silently dropped by the etcd client: the store talks plaintext although
// the operator configured TLS. It must be refused with a clear message.
func TestEtcdTLSWithHTTPEndpointRefused(t *testing.T) {
	plain := startEtcd(t)[0]
	conf := &tls.Config{RootCAs: x509.NewCertPool()} // as store.etcd.ca_file gives
	s, err := OpenEtcd(EtcdOptions{Endpoints: []string{plain}, DialTimeout: 2 * time.Second, RequestTimeout: 3 * time.Second, TLS: conf},
		Options{MasterKey: testMaster})
	if err == nil {
		s.Close()
		t.Fatalf("OpenEtcd(%s) with a TLS configuration opened in plaintext; want it refused", plain)
	}
	t.Logf("refused: %v", err)
}

// TestEtcdTLSErrorIsClear: a TLS misconfiguration (etcd's
// certificate not signed by the CA given, or https:// to a plaintext etcd)
// fails OpenEtcd after the timeout; "context deadline exceeded" alone
// would not say that TLS is the problem. The error must name it.
func TestEtcdTLSErrorIsClear(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler()) // a TLS server whose CA the client does not trust
	defer srv.Close()
	wrongCA := &tls.Config{RootCAs: x509.NewCertPool()}
	_, err := OpenEtcd(EtcdOptions{Endpoints: []string{"https://" + srv.Listener.Addr().String()}, DialTimeout: time.Second, RequestTimeout: time.Second, TLS: wrongCA},
		Options{MasterKey: testMaster})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("OpenEtcd(TLS server, wrong CA) = %v; want an error naming the certificate", err)
	}

	plain := strings.TrimPrefix(startEtcd(t)[0], "http://")
	_, err = OpenEtcd(EtcdOptions{Endpoints: []string{"https://" + plain}, DialTimeout: time.Second, RequestTimeout: time.Second},
		Options{MasterKey: testMaster})
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "tls") {
		t.Errorf("OpenEtcd(https:// to a plaintext etcd) = %v; want an error naming TLS", err)
	}
}
