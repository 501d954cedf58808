package proxy

import (
	"github.com/sdproxy/sdproxy/internal/authfail"
)

// AuthFailureOptions bound what failed authentications on the data
// listener may cost (see authfail.Options).
type AuthFailureOptions = authfail.Options

// AuditLog is what the data plane needs to record summaries.
type AuditLog = authfail.AuditLog

// RunAuthFailureSummaries writes the auth.failed summaries every
// interval until ctx is done, then once more, so nothing counted is lost
// at shutdown. Run it before closing the audit log it writes to.
func (d *Data) RunAuthFailureSummaries(done <-chan struct{}) {
	d.authFail.Run(d.audit, d.now, done)
}

// AuthFailures is how many authentications failed since start (metrics).
func (d *Data) AuthFailures() uint64 { return d.authFail.Total() }
