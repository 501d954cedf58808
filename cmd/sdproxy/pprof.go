//go:build pprof

// Built with -tags pprof, sdproxy serves net/http/pprof on the address in
// SDPROXY_PPROF (for profiling under load; never in release builds).

package main

import (
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	if addr := os.Getenv("SDPROXY_PPROF"); addr != "" {
		go http.ListenAndServe(addr, nil)
	}
}
