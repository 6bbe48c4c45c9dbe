package vopr

import (
	"fmt"

	"github.com/govsr/govsr/vsr"
)

// recoveryViews checks what recovery is for (DESIGN.md, Recovery): a
// restarted replica learns the current view. A view starts only once a
// view-change quorum has made it durable, and a recovery waits for answers
// that meet every such quorum (itself counted through its own durable
// view, unless its disk was replaced), so a replica that recovers ends in
// a view at least as new as every view that had started before its
// recovery began. Recovering into an older one makes it a backup of a
// stale primary: the two may form a replication quorum in a view the
// cluster has left and commit other ops at numbers the newer view
// committed. It is part of the durability checker, and reads status
// events only: a replica goes normal in a view once it started.
type recoveryViews struct {
	started uint32 // the newest view any replica went normal in
	// floor[i]: while replica i recovers, the newest view that had started
	// when it began (recovering[i]).
	floor      [vsr.ReplicasMax]uint32
	recovering [vsr.ReplicasMax]bool
}

// onStatus checks replica i's status event e.
func (c *recoveryViews) onStatus(i int, e *vsr.Event, v verdicts) {
	switch e.Status {
	case vsr.StatusRecovering:
		c.floor[i], c.recovering[i] = c.started, true
	case vsr.StatusViewChange:
		// Recovery fell back to a view change (no primary answered): the
		// replica joins views by the view-change rules from here on, as
		// any replica does, and may take a start_view of a view some
		// other quorum has left (seed 7010923). Only recovery's own
		// answers are held to the newest view.
		c.recovering[i] = false
	case vsr.StatusNormal:
		if c.recovering[i] && e.View < c.floor[i] {
			v.fail(Correctness, fmt.Sprintf("replica %d recovered into view %d, but view %d had started before its "+
				"recovery began: its recovery quorum missed the newest view", i, e.View, c.floor[i]))
		}
		c.recovering[i] = false
		c.started = max(c.started, e.View)
	}
}
