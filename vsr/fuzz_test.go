package vsr

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"testing"

	"github.com/govsr/govsr/internal/fuzzcorpus"

	fuzz "github.com/AdaLogics/go-fuzz-headers"
)

var writeCorpus = flag.Bool("write-corpus", false, "rewrite the committed seed corpora under testdata/fuzz")

// decodeSeeds are valid messages of every command, and a few near misses,
// that seed FuzzDecode: the fuzzer starts from the shapes the protocol uses.
func decodeSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, h := range sampleHeaders() {
		for _, n := range []int{0, 9, HeaderSize} {
			seeds = append(seeds, encodeSample(t, h, sampleBody(h.Command, n)))
		}
	}
	seeds = append(seeds, nil, make([]byte, HeaderSize), bytes.Repeat([]byte{0xff}, HeaderSize+8))
	return seeds
}

// FuzzDecode feeds arbitrary bytes to Decode. It must never panic, and a
// message it accepts must re-encode to exactly the bytes it came from.
//
// Random bytes almost never pass the header checksum, so each input is also
// decoded a second time with both checksums recomputed: that lets the fuzzer
// reach the size, reserved-byte and field-rule checks behind them.
func FuzzDecode(f *testing.F) {
	for _, s := range decodeSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		decodeAndReencode(t, data)
		if len(data) >= HeaderSize {
			resealed := append([]byte(nil), data...)
			reseal(resealed)
			decodeAndReencode(t, resealed)
		}
	})
}

// reseal recomputes the body checksum (over as much body as the size field
// claims and the buffer holds) and then the header checksum of b.
func reseal(b []byte) {
	end := min(uint64(binary.LittleEndian.Uint32(b[offSize:])), uint64(len(b)))
	end = max(end, HeaderSize)
	putU128(b[offChecksumBody:], Checksum(b[HeaderSize:end]))
	putU128(b[offChecksum:], Checksum(b[offChecksumBody:HeaderSize]))
}

func decodeAndReencode(t *testing.T, data []byte) {
	h, body, err := Decode(data, testSizeMax)
	if err != nil {
		var me *MessageError
		if !errors.As(err, &me) || me.Check < CheckLength || me.Check > CheckField {
			t.Fatalf("Decode returned %T %v, want *MessageError", err, err)
		}
		if err.Error() == "" {
			t.Fatal("empty error message")
		}
		return
	}
	if int(h.Size) > len(data) || len(body) != int(h.Size)-HeaderSize {
		t.Fatalf("accepted size %d with body %d from %d bytes", h.Size, len(body), len(data))
	}
	again := make([]byte, h.Size)
	reencoded := h
	n, err := Encode(again, &reencoded, body)
	if err != nil {
		t.Fatalf("Decode accepted a header Encode rejects: %v", err)
	}
	if reencoded != h || !bytes.Equal(again[:n], data[:h.Size]) {
		t.Fatalf("re-encoding differs:\n got %x\nwant %x", again[:n], data[:h.Size])
	}
}

// FuzzRoundTrip builds a structured header and body with go-fuzz-headers.
// A header that follows the field rules must survive Encode → Decode
// unchanged and be rejected after any one bit flip; one that breaks them
// must be refused by Encode and, forced onto the wire, by Decode, with the
// same check.
func FuzzRoundTrip(f *testing.F) {
	for _, h := range sampleHeaders() {
		f.Add(roundTripSeed(h, sampleBody(h.Command, 40), 13))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, body, flip := consumeMessage(fuzz.NewConsumer(data))
		roundTrip(t, h, body, flip)
	})
}

// fuzzBodyMax bounds the bodies FuzzRoundTrip builds; larger ones only slow
// the fuzzer down without reaching new code.
const fuzzBodyMax = 1 << 14

// consumeMessage reads a header field by field, then a body and the bit to
// flip. It reads each field with the consumer call of its width, not with
// GenerateStruct, whose uint64 fields take a single byte (GetInt). Missing
// bytes leave fields zero, which is still a message to test.
func consumeMessage(c *fuzz.ConsumeFuzzer) (h Header, body []byte, flip uint32) {
	u64 := func() uint64 { v, _ := c.GetUint64(); return v }
	u32 := func() uint32 { v, _ := c.GetUint32(); return v }
	u8 := func() uint8 { v, _ := c.GetByte(); return v }
	u128 := func() U128 { return U128{Lo: u64(), Hi: u64()} }
	h.Checksum, h.ChecksumBody, h.Cluster, h.Parent = u128(), u128(), u128(), u128()
	h.Client, h.RequestChecksum, h.Context = u128(), u128(), u128()
	h.Op, h.Commit, h.Timestamp, h.Session = u64(), u64(), u64(), u64()
	h.View, h.LogView, h.Request, h.Size = u32(), u32(), u32(), u32()
	h.Command = Command(u8() % commandCount)
	h.Operation, h.Replica = Operation(u8()), u8()
	h.Protocol, _ = c.GetUint16()
	if n := u32() % fuzzBodyMax; n > 0 {
		body, _ = c.GetNBytes(int(n))
	}
	return h, body, u32()
}

func roundTrip(t *testing.T, h Header, body []byte, flip uint32) {
	buf := make([]byte, HeaderSize+len(body))
	h.Protocol, h.Size = ProtocolVersion, uint32(len(buf))
	rule := h.Validate()
	sent := h
	_, encErr := Encode(buf, &sent, body)
	if rule != nil {
		if encErr == nil || encErr.Error() != rule.Error() {
			t.Fatalf("Encode of an invalid header: got %v, want %v", encErr, rule)
		}
		encodeUnchecked(buf, &h, body)
		_, _, decErr := Decode(buf, testSizeMax)
		if decErr == nil || decErr.Error() != rule.Error() {
			t.Fatalf("Decode of an invalid header: got %v, want %v", decErr, rule)
		}
		return
	}
	if encErr != nil {
		t.Fatalf("Encode of a valid header: %v", encErr)
	}
	got, gotBody, err := Decode(buf, testSizeMax)
	if err != nil {
		t.Fatalf("Decode of a fresh encoding: %v", err)
	}
	if got != sent || !bytes.Equal(gotBody, body) {
		t.Fatalf("round trip changed the message:\n got %+v\nwant %+v", got, sent)
	}
	bit := int(flip) % (len(buf) * 8)
	buf[bit/8] ^= 1 << (bit % 8)
	if _, _, err := Decode(buf, testSizeMax); err == nil {
		t.Fatalf("flipping bit %d of %d was accepted", bit, len(buf)*8)
	}
}

// roundTripSeed lays out h, body and flip the way consumeMessage reads them
// back, so each seed starts from a valid message of one command.
func roundTripSeed(h Header, body []byte, flip uint32) []byte {
	var b []byte
	// GetUint64 and GetUint16 read the value big-endian, then a byte whose
	// oddness keeps it big-endian.
	u64 := func(v uint64) { b = append(binary.BigEndian.AppendUint64(b, v), 1) }
	u32 := func(v uint32) { b = binary.BigEndian.AppendUint32(b, v) }
	u128 := func(v U128) { u64(v.Lo); u64(v.Hi) }
	for _, v := range []U128{h.Checksum, h.ChecksumBody, h.Cluster, h.Parent, h.Client, h.RequestChecksum, h.Context} {
		u128(v)
	}
	for _, v := range []uint64{h.Op, h.Commit, h.Timestamp, h.Session} {
		u64(v)
	}
	for _, v := range []uint32{h.View, h.LogView, h.Request, h.Size} {
		u32(v)
	}
	b = append(b, byte(h.Command), byte(h.Operation), h.Replica)
	b = append(binary.BigEndian.AppendUint16(b, h.Protocol), 1)
	u32(uint32(len(body)))
	b = append(b, body...)
	u32(flip)
	return b
}

// TestRoundTripSeedsDecodeAsValid checks that roundTripSeed matches how
// go-fuzz-headers consumes bytes: every seed must come back as the valid
// header it was made from, or the seeds would only exercise rejections.
func TestRoundTripSeedsDecodeAsValid(t *testing.T) {
	for _, h := range sampleHeaders() {
		body := sampleBody(h.Command, 40)
		got, gotBody, flip := consumeMessage(fuzz.NewConsumer(roundTripSeed(h, body, 13)))
		if got != h || !bytes.Equal(gotBody, body) || flip != 13 {
			t.Fatalf("%s: seed decodes to\n%+v\nwant\n%+v", h.Command, got, h)
		}
		if err := func() error { h.Size = uint32(HeaderSize + len(body)); return h.Validate() }(); err != nil {
			t.Fatalf("%s: seed header is invalid: %v", h.Command, err)
		}
		roundTrip(t, got, gotBody, flip)
	}
}

// TestCommittedFuzzCorpus checks that the seed corpora under testdata/fuzz
// exist and hold what decodeSeeds and roundTripSeed produce; run
// `go test ./vsr -run TestCommittedFuzzCorpus -write-corpus` to rewrite them.
func TestCommittedFuzzCorpus(t *testing.T) {
	var roundTrip [][]byte
	for _, h := range sampleHeaders() {
		roundTrip = append(roundTrip, roundTripSeed(h, sampleBody(h.Command, 40), 13))
	}
	fuzzcorpus.Check(t, map[string][][]byte{"FuzzDecode": decodeSeeds(t), "FuzzRoundTrip": roundTrip},
		*writeCorpus, "run go test ./vsr -run TestCommittedFuzzCorpus -write-corpus")
}
