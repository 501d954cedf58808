//go:build !linux

package events

// threadCPU is not measured here.
func threadCPU() int64 { return -1 }
