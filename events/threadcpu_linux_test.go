package events

import (
	"syscall"
	"unsafe"
)

// threadCPU is the calling thread's user and system CPU time in
// nanoseconds (CLOCK_THREAD_CPUTIME_ID), or -1.
func threadCPU() int64 {
	const clockThreadCPUTime = 3
	var ts syscall.Timespec
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return -1
	}
	return ts.Nano()
}
