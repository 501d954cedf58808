package events

import (
	"bufio"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// crashChildEnv makes the test binary a writer that a test kills.
const crashChildEnv = "SDPROXY_EVENTS_CRASH_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	os.Exit(m.Run())
}

// crashChild writes request events at about 20,000 a second and prints, every
// few milliseconds, how many are durable (Written counts committed
// transactions), until it is killed.
func crashChild(dir string) {
	l, err := Open(dir, Options{MasterKey: testKey, BatchDelay: 5 * time.Millisecond, CheckpointEvery: -1,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	go func() {
		for {
			fmt.Printf("written %d\n", l.Written())
			time.Sleep(2 * time.Millisecond)
		}
	}()
	at := time.Now()
	for i := 0; ; i++ {
		if i%5000 == 4999 {
			l.Record(Event{Type: TypeKeyCreated, Time: at, ProjectID: "prj_a", Actor: "admin"})
		}
		if i%100 == 99 {
			time.Sleep(5 * time.Millisecond)
		}
		submit(l, "prj_a", "qk_a", i, at)
	}
}

// TestKillNineNeverBreaksVerify kills a writer with SIGKILL at random
// moments, 8 times over the same log: each time the log opens, verifies,
// and holds every event the writer had reported durable.
func TestKillNineNeverBreaksVerify(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(7, 7))
	var durable uint64 // events the killed writers reported written, in all
	for round := 0; round < 8; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		reported, writing := make(chan uint64, 1), make(chan struct{})
		go func() {
			var last uint64
			var once sync.Once
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if n, ok := strings.CutPrefix(sc.Text(), "written "); ok {
					if last, _ = strconv.ParseUint(n, 10, 64); last > 0 {
						once.Do(func() { close(writing) })
					}
				} else {
					t.Errorf("writer: %s", sc.Text())
				}
			}
			reported <- last
		}()
		// Kill at a random moment once the writer has written (a slow
		// start, under the race detector, is not what is tested).
		select {
		case <-writing:
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: the writer wrote nothing in 30 s", round)
		}
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		n := <-reported
		if n == 0 {
			t.Fatalf("round %d: the writer reported nothing written", round)
		}
		durable += n

		l := openLog(t, dir, Options{CheckpointEvery: -1})
		res, err := l.Verify()
		if err != nil || !res.OK {
			t.Fatalf("round %d: Verify after kill -9 = %+v (%+v), %v", round, res, res.Broken, err)
		}
		// Each Open after the first writes nothing of its own, so the
		// log holds at least every reported event.
		if res.LastSeq < durable {
			t.Fatalf("round %d: the log ends at evt_%d, the writers reported %d events durable", round, res.LastSeq, durable)
		}
		t.Logf("round %d: killed after %d durable events; log verifies over %d", round, n, res.Checked)
		durable = res.LastSeq
		l.Close()
	}
}
