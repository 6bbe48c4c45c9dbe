package vopr

import (
	"fmt"

	"github.com/govsr/govsr/vsr"
)

// onStartView checks the log a new primary hands its backups, as it sends
// it: every op the start_view names (a hash chain down from its head) that
// committed anywhere must be the canonical prepare. A view change keeps
// every committed op (DESIGN.md), so a start_view naming another prepare
// at a committed op starts a view whose log has lost it, whether or not
// anyone executes the difference before the run ends: a stale head left
// by a view change's truncation shows here first, the moment the view
// starts, where the commit checks see it only once the stale chain is
// committed again and executed. Only a start_view of the newest view that
// started is handed to it (Simulator.startViewSent).
func (c *canonicalChecker) onStartView(from int, h *vsr.Header, body []byte) {
	for at := 0; at+vsr.HeaderSize <= len(body); at += vsr.HeaderSize {
		named, err := vsr.DecodeHeader(body[at : at+vsr.HeaderSize])
		if err != nil {
			panic("vopr: a start_view carries a header that does not decode: " + err.Error())
		}
		if want, ok := c.checksum(named.Op); ok && want != named.Checksum {
			c.v.fail(Correctness, fmt.Sprintf("replica %d's start_view of view %d (head op %d) names prepare %s at op %d, "+
				"not the canonical prepare %s that committed there: the new view's log lost a committed op", from, h.View,
				h.Op, named.Checksum, named.Op, want))
			return
		}
	}
}
