package vopr

import (
	"strings"
	"testing"

	"github.com/govsr/govsr/vsr"
)

// A replica that recovers into a view older than one that had started
// before its recovery began (as one that counts itself toward a replaced
// disk's recovery quorum and hears only a stale primary would) is caught;
// one into a view older than a view that started only while it waited for
// answers is not: the answers may predate that view.
func TestCheckerRecoveryCatchesAnOlderView(t *testing.T) {
	var got failures
	var c recoveryViews
	status := func(i int, s vsr.Status, view uint32) {
		c.onStatus(i, &vsr.Event{Kind: vsr.EventStatus, Status: s, View: view, LogView: view}, &got)
	}
	status(0, vsr.StatusNormal, 3)     // the stale primary of view 3
	status(1, vsr.StatusRecovering, 3) // replica 1 recovers while view 3 is the newest
	status(2, vsr.StatusNormal, 5)     // view 5 starts during its recovery
	status(1, vsr.StatusNormal, 3)     // it recovers into view 3: the newest it could have known
	if len(got.messages) != 0 {
		t.Fatalf("failures %q for a recovery into the newest view started before it began", got.messages)
	}
	status(1, vsr.StatusRecovering, 3) // it restarts again, view 5 started
	status(1, vsr.StatusNormal, 3)     // and recovers into view 3, the stale primary's
	if len(got.messages) != 1 || !strings.Contains(got.messages[0], "replica 1 recovered into view 3, but view 5 had started") {
		t.Fatalf("got failures %q, want one for the recovery into view 3", got.messages)
	}
	status(1, vsr.StatusNormal, 3) // a later status of the same view is no recovery
	if len(got.messages) != 1 {
		t.Fatalf("failures %q after a status that ends no recovery", got.messages)
	}
}
