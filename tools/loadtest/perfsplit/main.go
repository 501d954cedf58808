// Command perfsplit reads `perf script -F period,ip,sym` of a proxy under
// load (cpu-clock samples with call chains) and prints where its CPU time
// went per request: the event log's writer, the Go runtime's monitor, the
// garbage collector, the upstream round trip, the parts of sdproxy's
// handler, and reading requests and writing answers; each with the share
// spent in the kernel. `make loadtest PROFILE=1` runs it on the bare
// forwarder and on sdproxy's full path; see tools/loadtest/README.md.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"strconv"
	"strings"
)

// A category takes a sample when one of its frames' names contains one of
// match; categories are tried in order, and the last takes the rest.
type category struct {
	name  string
	match []string
}

var categories = []category{
	{"event log writer", []string{"events.(*Log).run"}},
	{"Go runtime monitor (sysmon)", []string{"runtime.sysmon"}},
	{"garbage collector", []string{"runtime.gcBgMarkWorker", "runtime.bgsweep", "runtime.bgscavenge", "runtime.gcAssistAlloc"}},
	{"upstream round trip (fasthttp client)", []string{"fasthttp.(*HostClient).Do"}},
	{"handler: authenticate, rate limit", []string{"proxy.(*Data).authenticate", "proxy.(*Data).authorize", "proxy.(*Data).rateLimit"}},
	{"handler: field encryption", []string{"proxy.(*Data).transformBody", "proxy.(*Data).encrypt", "sdproxy/fieldcrypt."}},
	{"handler: event record", []string{"proxy.(*Data).record", "events.(*Log).Acquire", "events.(*Log).Submit"}},
	{"handler: the rest (routing, headers, copies)", []string{"proxy.(*Data).Handler", "main.main.func1"}},
	{"server: read request, write answer", []string{"fasthttp.(*Server).serveConn"}},
	{"scheduler, netpoll, other", nil},
}

// sample is one stack: its period (ns of CPU) and frames, leaf first.
type sample struct {
	period int64
	kernel bool // the leaf frame is in the kernel
	frames []string
}

// split is the CPU time per category, in ns, and the kernel's part.
type split struct {
	total, kernel []int64
	all           int64
}

func main() {
	requests := flag.Float64("requests", 0, "requests answered while perf recorded (required)")
	label := flag.String("label", "", "a title for the table")
	flag.Parse()
	if *requests <= 0 {
		log.Fatal("perfsplit: -requests must be > 0")
	}
	s, err := read(os.Stdin)
	if err != nil {
		log.Fatal("perfsplit: ", err)
	}
	writeTable(os.Stdout, *label, s, *requests)
}

// read parses perf script output: a header line holding the period, then
// one line per frame ("ADDR SYMBOL"), then a blank line.
func read(r io.Reader) (split, error) {
	s := split{total: make([]int64, len(categories)), kernel: make([]int64, len(categories))}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var cur *sample
	done := func() {
		if cur != nil && len(cur.frames) > 0 {
			i := classify(cur.frames)
			s.total[i] += cur.period
			s.all += cur.period
			if cur.kernel {
				s.kernel[i] += cur.period
			}
		}
		cur = nil
	}
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			done()
			continue
		}
		if cur == nil {
			p, err := strconv.ParseInt(strings.Fields(line)[0], 10, 64)
			if err != nil {
				return s, fmt.Errorf("want a period, got %q (run perf script -F period,ip,sym)", line)
			}
			cur = &sample{period: p}
			continue
		}
		addr, sym, _ := strings.Cut(line, " ")
		if len(cur.frames) == 0 {
			a, err := strconv.ParseUint(addr, 16, 64)
			cur.kernel = err == nil && a >= 0xffff800000000000
		}
		cur.frames = append(cur.frames, sym)
	}
	done()
	return s, sc.Err()
}

func classify(frames []string) int {
	for i, c := range categories[:len(categories)-1] {
		for _, f := range frames {
			for _, m := range c.match {
				if strings.Contains(f, m) {
					return i
				}
			}
		}
	}
	return len(categories) - 1
}

func writeTable(w io.Writer, label string, s split, requests float64) {
	if label != "" {
		fmt.Fprintf(w, "%s\n", label)
	}
	fmt.Fprintf(w, "%-46s %12s %14s\n", "where", "CPU us/req", "of it kernel")
	us := func(ns int64) float64 { return float64(ns) / requests / 1000 }
	for i, c := range categories {
		if s.total[i] == 0 {
			continue
		}
		fmt.Fprintf(w, "%-46s %12.1f %14.1f\n", c.name, us(s.total[i]), us(s.kernel[i]))
	}
	fmt.Fprintf(w, "%-46s %12.1f\n", "all", us(s.all))
}
