package keystore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// etcdTx is one attempt of a transaction on etcd (see etcdKV). The first
// error of the etcd client is kept in err: from then on reads return
// nothing and writes fail, and View or Update return err whatever fn
// made of the missing values.
type etcdTx struct {
	e        *etcdKV
	ctx      context.Context
	cancel   context.CancelFunc
	writable bool
	rev      int64 // the revision every read sees; 0 until the first
	err      error
	// transient: err is one that may pass (etcd unreachable, no leader),
	// not a refusal, and nothing was written.
	transient bool
	// marker, when set, is the marker of a commit whose answer was lost
	// (err is set): it may have been applied or not (see settle).
	marker string
	lease  clientv3.LeaseID

	reads  map[string]etcdRead // by full key: what fn saw
	ranged map[string]bool     // buckets ranged over
	single map[string]int      // per bucket: keys read one by one
	writes map[string]etcdWrite
	order  []string        // keys of writes, in the order first written
	wiped  []string        // full prefixes deleted
	dirty  map[string]bool // buckets written
}

type etcdRead struct {
	bucket string
	value  []byte // nil: absent
	mod    int64  // 0: absent
	ranged bool   // seen by a range read, so the bucket's version covers it
}

type etcdWrite struct {
	value []byte
	del   bool
}

var errReadOnly = errors.New("keystore: write in a read-only transaction")

func (t *etcdTx) Bucket(name []byte) kvBucket { return etcdBucket{t, string(name)} }

func (t *etcdTx) Revision() int64 { return t.rev }

func (t *etcdTx) fail(err error) {
	if t.err == nil {
		t.err = unavailable(err)
		t.transient = !refused(err)
	}
}

// get reads at the transaction's revision, fixing it on the first read.
func (t *etcdTx) get(key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	if t.rev != 0 {
		opts = append(opts, clientv3.WithRev(t.rev))
	}
	resp, err := t.e.c.Get(t.ctx, key, opts...)
	if err != nil {
		return nil, err
	}
	if t.rev == 0 {
		t.rev = resp.Header.Revision
	}
	return resp, nil
}

// scan reads every key starting with prefix, page by page.
func (t *etcdTx) scan(prefix string) ([]*mvccpb.KeyValue, error) {
	end := clientv3.GetPrefixRangeEnd(prefix)
	var out []*mvccpb.KeyValue
	for from := prefix; ; {
		resp, err := t.get(from, clientv3.WithRange(end), clientv3.WithLimit(scanPage))
		if err != nil {
			return nil, err
		}
		out = append(out, resp.Kvs...)
		if !resp.More || len(resp.Kvs) == 0 {
			return out, nil
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// wipedKey reports whether a DeletePrefix of this transaction covers key.
func (t *etcdTx) wipedKey(key string) bool {
	for _, p := range t.wiped {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

func (t *etcdTx) buffer(key string, w etcdWrite) {
	if _, ok := t.writes[key]; !ok {
		t.order = append(t.order, key)
	}
	t.writes[key] = w
}

// commit applies the buffered writes if nothing read has changed. ok is
// false on a conflict; etcd's errors are left in t.err, and t.marker is
// set when the commit's outcome is unknown.
//
// The commit puts a marker of its own and applies only while the marker
// does not exist, so that a commit whose answer was lost can be settled
// (kv_etcd_commit.go).
func (t *etcdTx) commit() (rev int64, ok bool) {
	if len(t.writes) == 0 && len(t.wiped) == 0 {
		return t.rev, true // the reads were one consistent snapshot
	}
	cmps, err := t.compares()
	if err != nil {
		t.fail(err)
		return 0, false
	}
	lease, err := t.e.txnLease(t.ctx)
	if err != nil {
		t.fail(err)
		return 0, false
	}
	marker := t.e.newMarker()
	cmps = append(cmps, clientv3.Compare(clientv3.Version(marker), "=", 0))
	ops := append(t.ops(), clientv3.OpPut(marker, markerApplied, clientv3.WithLease(lease)))
	if max(len(cmps), len(ops)) > t.e.maxTxnOps {
		t.err = fmt.Errorf("keystore: etcd: a transaction of %d writes and %d comparisons is more than etcd allows in one (--max-txn-ops %d)", len(ops), len(cmps), t.e.maxTxnOps)
		return 0, false
	}
	send := func(ctx context.Context) (*clientv3.TxnResponse, error) {
		return t.e.c.Txn(ctx).If(cmps...).Then(ops...).Commit()
	}
	var resp *clientv3.TxnResponse
	if t.e.commitHook != nil {
		resp, err = t.e.commitHook(t.ctx, send)
	} else {
		resp, err = send(t.ctx)
	}
	if err != nil {
		t.fail(err)
		switch {
		case errors.Is(err, rpctypes.ErrLeaseNotFound):
			// etcd checks the lease before applying anything: nothing
			// was written. The lease expired early; take a new one.
			t.e.dropLease(lease)
			t.transient = true
		case t.transient:
			t.marker, t.lease = marker, lease // sent; its answer lost
		}
		return 0, false
	}
	return resp.Header.Revision, resp.Succeeded
}

// compares lists what must not have changed since t.rev.
func (t *etcdTx) compares() ([]clientv3.Cmp, error) {
	whole := map[string]bool{}
	for b := range t.ranged {
		whole[b] = true
	}
	for b, n := range t.single {
		if n > maxKeyCompares {
			whole[b] = true
		}
	}
	var cmps []clientv3.Cmp
	if len(whole) > 0 {
		resp, err := t.get(t.e.prefix+versionsBucket+"/", clientv3.WithPrefix())
		if err != nil {
			return nil, err
		}
		mods := map[string]int64{}
		for _, kv := range resp.Kvs {
			mods[string(kv.Key)] = kv.ModRevision
		}
		for b := range whole {
			vk := t.e.versionKey(b)
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(vk), "=", mods[vk]))
		}
	}
	for key, r := range t.reads {
		if !r.ranged && !whole[r.bucket] {
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(key), "=", r.mod))
		}
	}
	return cmps, nil
}

// ops lists the writes: prefix deletions first, then each key's last
// write, then every written bucket's version key.
func (t *etcdTx) ops() []clientv3.Op {
	var ops []clientv3.Op
	for _, p := range t.wiped {
		ops = append(ops, clientv3.OpDelete(p, clientv3.WithPrefix()))
	}
	for _, key := range t.order {
		switch w := t.writes[key]; {
		case !w.del:
			ops = append(ops, clientv3.OpPut(key, string(w.value)))
		case !t.wipedKey(key):
			ops = append(ops, clientv3.OpDelete(key))
		}
	}
	buckets := make([]string, 0, len(t.dirty))
	for b := range t.dirty {
		buckets = append(buckets, b)
	}
	slices.Sort(buckets)
	for _, b := range buckets {
		ops = append(ops, clientv3.OpPut(t.e.versionKey(b), ""))
	}
	return ops
}

// etcdBucket is one bucket of an etcdTx.
type etcdBucket struct {
	t    *etcdTx
	name string
}

func (b etcdBucket) full(k []byte) string { return b.t.e.prefix + b.name + "/" + string(k) }

func (b etcdBucket) Get(k []byte) []byte {
	t := b.t
	if t.err != nil {
		return nil
	}
	key := b.full(k)
	if w, ok := t.writes[key]; ok {
		if w.del {
			return nil
		}
		return w.value
	}
	if t.wipedKey(key) {
		return nil
	}
	if r, ok := t.reads[key]; ok {
		return r.value
	}
	resp, err := t.get(key)
	if err != nil {
		t.fail(err)
		return nil
	}
	r := etcdRead{bucket: b.name}
	if len(resp.Kvs) == 1 {
		r.value, r.mod = present(resp.Kvs[0].Value), resp.Kvs[0].ModRevision
	}
	t.reads[key] = r
	t.single[b.name]++
	return r.value
}

// present makes an empty stored value non-nil, as bbolt gives it.
func present(v []byte) []byte {
	if v == nil {
		return []byte{}
	}
	return v
}

func (b etcdBucket) ForEach(fn func(k, v []byte) error) error {
	return b.ForEachPrefix(nil, fn)
}

func (b etcdBucket) ForEachPrefix(prefix []byte, fn func(k, v []byte) error) error {
	t := b.t
	if t.err != nil {
		return t.err
	}
	start := b.full(prefix)
	kvs, err := t.scan(start)
	if err != nil {
		t.fail(err)
		return t.err
	}
	t.ranged[b.name] = true
	type entry struct {
		key   string
		value []byte
	}
	var list []entry
	for _, kv := range kvs {
		key, v := string(kv.Key), present(kv.Value)
		if _, seen := t.reads[key]; !seen {
			t.reads[key] = etcdRead{bucket: b.name, value: v, mod: kv.ModRevision, ranged: true}
		}
		if _, written := t.writes[key]; !written && !t.wipedKey(key) {
			list = append(list, entry{key, v})
		}
	}
	for _, key := range t.order {
		if w := t.writes[key]; strings.HasPrefix(key, start) && !w.del {
			list = append(list, entry{key, w.value})
		}
	}
	slices.SortFunc(list, func(x, y entry) int { return strings.Compare(x.key, y.key) })
	cut := len(start) - len(prefix)
	for _, e := range list {
		if err := fn([]byte(e.key[cut:]), e.value); err != nil {
			return err
		}
	}
	return nil
}

func (b etcdBucket) Put(k, v []byte) error {
	if err := b.writable(); err != nil {
		return err
	}
	key := b.full(k)
	if b.t.wipedKey(key) {
		// etcd refuses a Txn that puts a key inside a range it deletes.
		return fmt.Errorf("keystore: etcd: put %s after deleting its prefix in the same transaction", key)
	}
	b.t.buffer(key, etcdWrite{value: bytes.Clone(present(v))})
	b.t.dirty[b.name] = true
	return nil
}

func (b etcdBucket) Delete(k []byte) error {
	if err := b.writable(); err != nil {
		return err
	}
	b.t.buffer(b.full(k), etcdWrite{del: true})
	b.t.dirty[b.name] = true
	return nil
}

func (b etcdBucket) DeletePrefix(prefix []byte) error {
	if err := b.writable(); err != nil {
		return err
	}
	t, p := b.t, b.full(prefix)
	t.order = slices.DeleteFunc(t.order, func(key string) bool {
		if strings.HasPrefix(key, p) {
			delete(t.writes, key)
			return true
		}
		return false
	})
	t.wiped = append(t.wiped, p)
	t.dirty[b.name] = true
	return nil
}

func (b etcdBucket) writable() error {
	switch {
	case b.t.err != nil:
		return b.t.err
	case !b.t.writable:
		return errReadOnly
	}
	return nil
}
