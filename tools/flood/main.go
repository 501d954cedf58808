// Command flood measures what unauthenticated connections cost a running
// sdproxy: it opens -conns connections (spread over loopback source
// addresses 127.0.0.2…, so a per-IP connection cap does not hide the cost),
// each sending request headers with a large Content-Length and a few body
// bytes and then holding still, and meanwhile sends valid requests with
// -key. It prints the server's RSS (from /proc/-pid/status) before and with
// the flood, how many flood connections were answered or closed, and how
// many valid requests succeeded. Loopback only; bounded by -hold.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "data listener (loopback only)")
	project := flag.String("project", "", "project id")
	key := flag.String("key", "", "a valid API key of the project, for the valid traffic")
	conns := flag.Int("conns", 2000, "flood connections")
	length := flag.Int("length", 10<<20, "Content-Length each flood request declares")
	hold := flag.Duration("hold", 10*time.Second, "how long the flood connections are held")
	pid := flag.Int("pid", 0, "pid of sdproxy serve, for RSS")
	srcs := flag.Int("sources", 100, "loopback source addresses to spread connections over")
	flag.Parse()
	if host, _, _ := net.SplitHostPort(*addr); !net.ParseIP(host).IsLoopback() {
		fmt.Fprintln(os.Stderr, "flood: -addr must be a loopback address")
		os.Exit(2)
	}
	fmt.Printf("RSS before: %s\n", rss(*pid))

	var answered, closed, open atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for i := range *conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, byte(i / *srcs / 250), byte(2+i%*srcs))}}
			c, err := d.Dial("tcp", *addr)
			if err != nil {
				closed.Add(1)
				return
			}
			defer c.Close()
			open.Add(1)
			req := "POST /proxy/" + *project + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
				strconv.Itoa(*length) + "\r\nX-Qanapi-Authorization: qk_not_a_key\r\n\r\n" + `{"a":"` + strings.Repeat("x", 74)
			c.Write([]byte(req))
			c.SetReadDeadline(start.Add(*hold))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				answered.Add(1)
			} else if !isTimeout(err) {
				closed.Add(1)
			}
		}()
	}
	time.Sleep(min(*hold/2, 3*time.Second))
	fmt.Printf("flood: %d connections opened\n", open.Load())
	fmt.Printf("RSS with the flood: %s\n", rss(*pid))

	ok, failed := 0, 0
	client := &http.Client{Timeout: 2 * time.Second}
	for time.Since(start) < *hold-time.Second {
		req, _ := http.NewRequest("POST", "http://"+*addr+"/proxy/"+*project, bytes.NewReader([]byte(`{"ssn":"1"}`)))
		req.Header.Set("X-Qanapi-Authorization", *key)
		req.Header.Set("X-Qanapi-Fields", "ssn")
		resp, err := client.Do(req)
		if err == nil && resp.StatusCode == 200 {
			ok++
		} else {
			failed++
		}
		if resp != nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	fmt.Printf("RSS at the end: %s\n", rss(*pid))
	wg.Wait()
	fmt.Printf("flood connections answered %d, refused or closed %d; valid requests meanwhile: %d ok, %d failed\n",
		answered.Load(), closed.Load(), ok, failed)
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// rss reads VmRSS of pid.
func rss(pid int) string {
	if pid == 0 {
		return "(no -pid)"
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return err.Error()
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
