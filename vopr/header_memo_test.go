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
