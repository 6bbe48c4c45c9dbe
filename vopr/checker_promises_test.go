package vopr

import (
	"strings"
	"testing"

	"github.com/govsr/govsr/vsr"
)

// A superblock that never records a new view: the first do_view_change
// after a view change promises a view the disk does not hold.
func TestCheckerPromisesCatchStaleSuperblock(t *testing.T) {
	res := runWithBug(t, 1, "stale-superblock", nil)
	expectFailure(t, res, Correctness, "it acts on a view not yet durable")
}

// failures records what a checker fails, instead of failing a run.
type failures struct{ messages []string }

func (f *failures) fail(_ Class, message string)  { f.messages = append(f.messages, message) }
func (f *failures) logf(LogLevel, string, ...any) {}

// A prepare_ok for a prepare the backup's disk does not hold (here, of an
// op nobody prepared) is caught at once; the same check passes every
// prepare_ok of a whole run of the correct protocol (the swarm).
func TestCheckerPromisesCatchUndurableAck(t *testing.T) {
	o := Draw(1, Force{"storage": false})
	o.Replicas = 3
	s, err := New(o, nil, logNone)
	if err != nil {
		t.Fatal(err)
	}
	var got failures
	c := newPromisesChecker(s, &got)
	h := vsr.Header{Command: vsr.CommandPrepareOk, Cluster: s.clusterID(), Replica: 1, Op: 7,
		Context: vsr.U128{Lo: 0x5eed, Hi: 1}}
	message := make([]byte, vsr.HeaderSize)
	if _, err := vsr.Encode(message, &h, nil); err != nil {
		t.Fatal(err)
	}
	c.onSend(1, message)
	if len(got.messages) != 1 || !strings.Contains(got.messages[0], "acknowledged op 7") {
		t.Fatalf("got failures %q, want one for the acknowledgement of op 7", got.messages)
	}
}

// The offsets the checker reads a superblock copy at are vsr's: after
// whole runs, every replica that is up and normal holds on disk the view
// and log_view it is in (some of them past view 0).
func TestPromisesSuperblockLayout(t *testing.T) {
	past := 0
	for seed := uint64(1); seed <= 6; seed++ {
		o := Draw(seed, Force{"storage": false, "superblock": false})
		o.RequestsMax = 300
		s, err := New(o, nil, logNone)
		if err != nil {
			t.Fatal(err)
		}
		if res := s.Run(); res.Class != Pass {
			t.Fatalf("seed %d: %s: %s", seed, res.Class, firstLine(res.Message))
		}
		for i, r := range s.replicas {
			rr := r.replica
			if r.down || rr.Opening() || rr.Status() != vsr.StatusNormal {
				continue
			}
			views, ok := s.check.promises.diskViews(i)
			if !ok || views.view != rr.View() || views.logView != rr.LogView() {
				t.Errorf("seed %d replica %d: disk holds view %d log_view %d (ok %v), the replica is in view %d log_view %d",
					seed, i, views.view, views.logView, ok, rr.View(), rr.LogView())
			}
			if views.logView > 0 {
				past++
			}
		}
	}
	if past == 0 {
		t.Fatal("no replica ended past view 0: the view offsets went untested")
	}
}
