package vopr

import "testing"

// TestTimestampsFollowTheClock: a prepare made below its primary's clock
// fails; resends of older prepares (stamped when the clock was lower) and
// prepares stamped above the clock pass.
func TestTimestampsFollowTheClock(t *testing.T) {
	type send struct {
		replica             int
		view                uint32
		op, timestamp, tick uint64
	}
	for _, tc := range []struct {
		name  string
		sends []send
		fails string
	}{
		{"at the clock, then above it", []send{{0, 3, 10, 50, 50}, {0, 3, 11, 52, 51}}, ""},
		{"a resend later", []send{{0, 3, 10, 50, 50}, {0, 3, 10, 50, 90}, {0, 3, 9, 49, 95}}, ""},
		{"an inherited head above the clock", []send{{1, 4, 12, 500, 20}, {1, 4, 13, 501, 21}}, ""},
		{"a counter, not a clock", []send{{0, 3, 10, 50, 50}, {0, 3, 11, 51, 60}}, "made op 11 in view 3 with timestamp 51, below its clock, 60 ticks"},
		{"a new view's first prepare", []send{{0, 3, 10, 50, 50}, {0, 6, 10, 51, 80}}, "made op 10 in view 6"},
		{"replicas apart", []send{{0, 3, 10, 50, 50}, {1, 3, 5, 40, 45}}, "replica 1 made op 5"},
	} {
		v := &recordedVerdicts{}
		c := timestampChecker{v: v}
		for _, s := range tc.sends {
			c.onPrepareSent(s.replica, s.view, s.op, s.timestamp, s.tick)
		}
		expectVerdicts(t, tc.name, v.failures, tc.fails)
	}
}
