package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// The revoke-propagation measurement of TestE2ECluster: background load
// on A and C, and trials that each make a key on A, revoke it on B and
// time how long A and C go on accepting it.

// revokedKey is a key and when its revoke was answered.
type revokedKey struct {
	key      string
	answered time.Time
}

// background sends about rate requests per second, alternately to A and
// C: three in four with a key that stays active (all must be accepted),
// one in four with a key whose revoke was answered more than a second
// before (all must be refused).
type background struct {
	c       *cluster
	liveKey string
	stop    chan struct{}
	wg      sync.WaitGroup
	start   time.Time

	mu      sync.Mutex
	revoked []revokedKey // in the order their revokes were answered

	sent, liveFailed, oldSent, oldAccepted atomic.Int64
}

const backgroundWorkers = 16

func startBackground(c *cluster, liveKey string, rate int) *background {
	b := &background{c: c, liveKey: liveKey, stop: make(chan struct{}), start: time.Now()}
	period := time.Duration(backgroundWorkers) * time.Second / time.Duration(rate)
	for w := range backgroundWorkers {
		b.wg.Go(func() {
			tick := time.NewTicker(period)
			defer tick.Stop()
			for n := w; ; n += backgroundWorkers {
				select {
				case <-b.stop:
					return
				case <-tick.C:
				}
				b.one([]int{0, 2}[n%2], n)
			}
		})
	}
	return b
}

func (b *background) one(instance, n int) {
	key, old := b.liveKey, false
	if n%4 == 0 {
		key, old = b.oldKey()
		if !old {
			key = b.liveKey
		}
	}
	status, err := b.c.encrypt(instance, key)
	b.sent.Add(1)
	switch {
	case old:
		b.oldSent.Add(1)
		if status == 200 {
			b.oldAccepted.Add(1)
		}
	case err != nil || status != 200:
		b.liveFailed.Add(1)
	}
}

// oldKey picks a key whose revoke was answered more than a second ago.
func (b *background) oldKey() (string, bool) {
	cut := time.Now().Add(-time.Second)
	b.mu.Lock()
	defer b.mu.Unlock()
	n, _ := slices.BinarySearchFunc(b.revoked, cut, func(r revokedKey, t time.Time) int { return r.answered.Compare(t) })
	if n == 0 {
		return "", false
	}
	return b.revoked[rand.N(n)].key, true
}

func (b *background) addRevoked(r revokedKey) {
	b.mu.Lock()
	b.revoked = append(b.revoked, r)
	b.mu.Unlock()
}

// halt stops the load and returns the rate it achieved.
func (b *background) halt() float64 {
	close(b.stop)
	b.wg.Wait()
	return float64(b.sent.Load()) / time.Since(b.start).Seconds()
}

// trial is what one revoke did on A and C.
type trial struct {
	// propagation is, for A and C, the time from B's revoke answer until
	// the first refusal came back (0 when it came before the answer).
	propagation [2]time.Duration
	// late counts requests sent more than a second after the answer and
	// accepted; within counts those sent after the answer and accepted
	// before the instance refused the key.
	late, within int
	key          revokedKey
}

// prober sends requests with key to one instance in a tight loop until
// one is refused, or stop.
type prober struct {
	firstRefused time.Time   // zero: never refused
	accepted     []time.Time // send times of accepted requests
	ready, done  chan struct{}
	err          error
	readyOnce    sync.Once
}

func (c *cluster) probe(instance int, key string, stop <-chan struct{}) *prober {
	p := &prober{ready: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			sent := time.Now()
			status, err := c.encrypt(instance, key)
			switch {
			case err != nil:
				p.err = err
				return
			case status == 200:
				p.accepted = append(p.accepted, sent)
				p.readyOnce.Do(func() { close(p.ready) })
			case status == 401:
				p.firstRefused = time.Now()
				p.readyOnce.Do(func() { close(p.ready) })
				return
			default:
				p.err = fmt.Errorf("encrypt on %s = %d, want 200 or 401", instanceName(instance), status)
				return
			}
		}
	}()
	return p
}

// revokeTrial makes a key on A, waits until B and C accept it, starts
// probing A and C with it, revokes it on B and measures.
func (c *cluster) revokeTrial(project string) (trial, error) {
	var tr trial
	key, id, status, body, err := c.createKey(0, project)
	if err != nil || status != 201 {
		return tr, fmt.Errorf("create a key on A = %d %s %v", status, body, err)
	}
	for _, i := range []int{1, 2} {
		if err := c.waitAccepted(i, key, 5*time.Second); err != nil {
			return tr, err
		}
	}
	stop := make(chan struct{})
	probes := []*prober{c.probe(0, key, stop), c.probe(2, key, stop)}
	for _, p := range probes {
		<-p.ready
	}
	status, body, err = c.adminDo(1, "POST", "/admin/v1/projects/"+project+"/keys/"+id+"/revoke", "")
	answered := time.Now()
	if err != nil || status != 200 {
		close(stop)
		return tr, fmt.Errorf("revoke on B = %d %s %v", status, body, err)
	}
	tr.key = revokedKey{key: key, answered: answered}
	timeout := time.AfterFunc(1500*time.Millisecond, func() { close(stop) })
	for i, p := range probes {
		<-p.done
		if p.err != nil {
			return tr, p.err
		}
		tr.propagation[i] = time.Since(answered) // never refused: at least this
		if !p.firstRefused.IsZero() {
			tr.propagation[i] = max(p.firstRefused.Sub(answered), 0)
		}
		for _, sent := range p.accepted {
			switch {
			case sent.After(answered.Add(time.Second)):
				tr.late++
			case sent.After(answered):
				tr.within++
			}
		}
	}
	if timeout.Stop() {
		close(stop)
	}
	return tr, nil
}

// percentile is the p-th percentile (0 < p ≤ 100) of sorted d.
func percentile(d []time.Duration, p int) time.Duration {
	i := (len(d)*p + 99) / 100
	return d[max(i-1, 0)]
}
