package vopr

import (
	"testing"

	"github.com/govsr/govsr/vsr"
)

// TestHeaderMemoDecodesAsDecodeHeader checks the memo against
// vsr.DecodeHeader over a sequence with repeats, a header changed in one
// byte (its checksum then fails), the same bytes again, a short buffer and
// a header that differs only in a field the checksum covers.
func TestHeaderMemoDecodesAsDecodeHeader(t *testing.T) {
	encode := func(op uint64) []byte {
		h := vsr.Header{Command: vsr.CommandPrepareOk, Cluster: vsr.U128{Lo: 1}, View: 2, Op: op, Replica: 1}
		b := make([]byte, vsr.HeaderSize+8)
		if _, err := vsr.Encode(b, &h, nil); err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b := encode(5), encode(6)
	corrupt := append([]byte(nil), a...)
	corrupt[100] ^= 1
	var m headerMemo
	for i, msg := range [][]byte{a, a, b, corrupt, corrupt, a, b[:vsr.HeaderSize-1], b, b} {
		got, gotErr := m.decode(msg)
		want, wantErr := vsr.DecodeHeader(msg)
		if got != want || (gotErr == nil) != (wantErr == nil) ||
			(gotErr != nil && gotErr.Error() != wantErr.Error()) {
			t.Fatalf("message %d: memo gives %v, %v; DecodeHeader %v, %v", i, got, gotErr, want, wantErr)
		}
	}
}

// TestPrimedHeadersAsDecoded runs seeds with every header a replica's bus
// primes the memo with checked against vsr.DecodeHeader of its bytes (the
// memo panics on a difference): prepares it made, resent from its journal,
// and sent for repair, and every other message it encoded. The seeds
// include view changes, repair and the aimed chaos kinds.
func TestPrimedHeadersAsDecoded(t *testing.T) {
	runs := []Options{standardOptions(), Draw(7, chaosOff("target")), Draw(42, chaosOff("crash-group")), Draw(303, chaosOff("churn"))}
	for _, o := range runs {
		s, err := New(o, nil, logNone)
		if err != nil {
			t.Fatal(err)
		}
		s.sentHeaders.verify = true
		res := s.Run()
		if s.sentHeaders.primes == 0 {
			t.Fatalf("seed %d: no replica primed a header", o.Seed)
		}
		t.Logf("seed %d: %s, %d headers primed and checked", o.Seed, res.Class, s.sentHeaders.primes)
	}
}
