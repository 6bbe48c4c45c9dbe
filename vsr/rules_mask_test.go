package vsr

import "testing"

// TestBrokenRulesAsChecks checks the branch-free rule mask Validate tries
// first against each rule's own check, over headers whose fields sit on
// and around every boundary the rules draw.
func TestBrokenRulesAsChecks(t *testing.T) {
	small := []uint64{0, 1, 2}
	for i := range 1 << 15 {
		pick := func(shift int) uint64 { return small[(i>>shift)%3] }
		h := Header{Op: pick(0), Commit: pick(2), View: uint32(pick(4)), LogView: uint32(pick(6)),
			Request: uint32(pick(8)), Session: pick(10), Operation: Operation(i >> 12 % 3),
			Size: HeaderSize + uint32(i>>13%2)}
		h.Client.Lo, h.Context.Hi = uint64(i>>14%2), uint64(i%2)
		if i%7 == 0 {
			h.Operation = OperationRegister
		}
		broken := brokenRules(&h)
		for r := range ruleCount {
			ok, _ := r.check(&h)
			if (broken&(1<<r) != 0) == ok {
				t.Fatalf("header %+v: rule %q: check says ok %v, the mask says broken %v", h, ruleNames[r], ok, !ok)
			}
		}
	}
}
