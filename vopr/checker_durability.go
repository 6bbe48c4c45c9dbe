package vopr

import (
	"fmt"

	"github.com/govsr/govsr/vsr"
)

// durabilityChecker checks that what a replica's superblock made durable
// survives a restart: it never reopens at an older view or log_view.
type durabilityChecker struct {
	v verdicts
	// durable[i] is replica i's latest superblock update known durable.
	durable [vsr.ReplicasMax]struct{ view, logView uint32 }
	// recovery checks the view a recovery ends in (checker_recovery.go).
	recovery recoveryViews
}

func (c *durabilityChecker) onDurable(replica int, e *vsr.Event) {
	c.durable[replica].view, c.durable[replica].logView = e.View, e.LogView
}

func (c *durabilityChecker) onOpened(replica int, e *vsr.Event) {
	d := c.durable[replica]
	if e.View < d.view || e.LogView < d.logView {
		c.v.fail(Correctness, fmt.Sprintf("replica %d reopened at view %d log_view %d, but view %d log_view %d were durable",
			replica, e.View, e.LogView, d.view, d.logView))
	}
	c.v.logf(logShort, "replica %d opened: view=%d log_view=%d op=%d commit=%d; %s", replica, e.View, e.LogView, e.Op, e.Commit, e.Reason)
}

// forget drops what replica i had made durable: its disk was replaced.
func (c *durabilityChecker) forget(i int) { c.durable[i] = struct{ view, logView uint32 }{} }
