// Package faults is the fault suite of issue 16 (`make faults`): tests,
// behind the build tag "faults", that start the real sdproxy binary and
// hurt it from outside — SIGKILL, a full tmpfs, a second process,
// slowloris and flood connections, broken upstreams, revokes under load,
// a long soak, fuzzed bodies — and assert the figures of
// docs/reliability.md. Everything talks to loopback only.
package faults
