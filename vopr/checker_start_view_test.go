package vopr

import (
	"strings"
	"testing"

	"github.com/govsr/govsr/vsr"
)

// startViewBody returns a start_view body naming prepares (op, checksum)
// from the head down.
func startViewBody(t *testing.T, named ...vsr.Header) []byte {
	t.Helper()
	var body []byte
	for _, h := range named {
		b := make([]byte, vsr.HeaderSize)
		h.Command, h.Cluster = vsr.CommandPrepare, vsr.U128{Lo: 1}
		if _, err := vsr.Encode(b, &h, nil); err != nil {
			t.Fatal(err)
		}
		body = append(body, b...)
	}
	return body
}

// A start_view whose log names, at a committed op, a prepare other than
// the one that committed (a stale head a truncation left) is caught when
// it is sent; one naming the committed prepares, and ops above the
// commits, is not.
func TestCheckerStartViewCatchesALostCommit(t *testing.T) {
	var got failures
	c := canonicalChecker{v: &got}
	body := startViewBody(t, vsr.Header{Op: 3, Timestamp: 30}, vsr.Header{Op: 2, Timestamp: 20})
	committed := func(b []byte) vsr.U128 {
		h, err := vsr.DecodeHeader(b)
		if err != nil {
			t.Fatal(err)
		}
		return h.Checksum
	}
	c.entries = []canonicalEntry{{ok: true}, {ok: true}, {ok: true, checksum: committed(body[vsr.HeaderSize:])}}
	c.onStartView(1, &vsr.Header{View: 4, Op: 3}, body)
	if len(got.messages) != 0 {
		t.Fatalf("failures %q for a start_view naming the committed op 2 and an uncommitted op 3", got.messages)
	}
	stale := startViewBody(t, vsr.Header{Op: 2, Timestamp: 19})
	c.onStartView(1, &vsr.Header{View: 5, Op: 2}, stale)
	if len(got.messages) != 1 || !strings.Contains(got.messages[0], "start_view of view 5 (head op 2) names prepare") ||
		!strings.Contains(got.messages[0], "not the canonical prepare") {
		t.Fatalf("got failures %q, want one for the stale op 2", got.messages)
	}
}
