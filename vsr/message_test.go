package vsr

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

const testSizeMax = 1 << 20

// sampleHeaders returns one valid header for every command, with distinct
// non-zero values in every field the command's rules allow, so that a
// field-swapping bug in put/parse would show.
func sampleHeaders() []Header {
	base := Header{
		Cluster:         U128{Lo: 0x1111, Hi: 0x2222},
		Parent:          U128{Lo: 0x3333, Hi: 0x4444},
		Client:          U128{Lo: 0x5555, Hi: 0x6666},
		RequestChecksum: U128{Lo: 0x7777, Hi: 0x8888},
		Context:         U128{Lo: 0x9999, Hi: 0xaaaa},
		Op:              41,
		Commit:          40,
		Timestamp:       1_000_003,
		View:            7,
		LogView:         6,
		Request:         12,
		Replica:         2,
	}
	var hs []Header
	for c := CommandRequest; c < commandCount; c++ {
		h := base
		h.Command = c
		switch c {
		case CommandRequest:
			h.Operation = OperationUserMin + 1
			h.Session = 0x0123_4567_89ab_cdef
		case CommandEviction:
			h.Session = 33
		case CommandReply:
			h.Op, h.Commit = 40, 41
		}
		hs = append(hs, h)
	}
	return hs
}

func sampleBody(c Command, n int) []byte {
	switch commandSpecs[c].body {
	case bodyNone:
		return nil
	case bodyHeaders:
		n = (n / HeaderSize) * HeaderSize
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return b
}

func encodeSample(t testing.TB, h Header, body []byte) []byte {
	t.Helper()
	buf := make([]byte, HeaderSize+len(body))
	n, err := Encode(buf, &h, body)
	if err != nil {
		t.Fatalf("Encode %s: %v", h.Command, err)
	}
	if n != len(buf) {
		t.Fatalf("Encode %s wrote %d bytes, want %d", h.Command, n, len(buf))
	}
	return buf
}

func TestRoundTripEveryCommand(t *testing.T) {
	for _, h := range sampleHeaders() {
		body := sampleBody(h.Command, 3*HeaderSize+5)
		buf := encodeSample(t, h, body)
		got, gotBody, err := Decode(buf, testSizeMax)
		if err != nil {
			t.Fatalf("Decode %s: %v", h.Command, err)
		}
		want := h
		want.Protocol = ProtocolVersion
		want.Size = uint32(len(buf))
		want.ChecksumBody = Checksum(body)
		want.Checksum = got.Checksum
		if got != want {
			t.Errorf("%s: decoded\n%+v\nwant\n%+v", h.Command, got, want)
		}
		if got.Checksum != Checksum(buf[16:HeaderSize]) || got.Checksum.IsZero() {
			t.Errorf("%s: header checksum %s does not cover the header", h.Command, got.Checksum)
		}
		if !bytes.Equal(gotBody, body) {
			t.Errorf("%s: body differs after round trip", h.Command)
		}
	}
}

// TestEncodeSetsChecksumLikeSeal: the checksum Encode stores in h is the one
// Seal computes, so a prepare's checksum can be known before it is written.
func TestEncodeSetsChecksumLikeSeal(t *testing.T) {
	h := sampleHeaders()[1]
	body := []byte("batch of requests")
	sealed := h
	sealed.Seal(body)
	buf := make([]byte, 1024)
	if _, err := Encode(buf, &h, body); err != nil {
		t.Fatal(err)
	}
	if h != sealed {
		t.Fatalf("Encode header %+v != Seal header %+v", h, sealed)
	}
	var again [HeaderSize]byte
	PutHeader(again[:], &h)
	if !bytes.Equal(again[:], buf[:HeaderSize]) {
		t.Fatal("PutHeader of the encoded header differs from the encoded bytes")
	}
}

func TestEncodeRejects(t *testing.T) {
	h := sampleHeaders()[0]
	if _, err := Encode(make([]byte, HeaderSize+3), &h, make([]byte, 4)); !errors.Is(err, CheckLength) {
		t.Errorf("short dst: got %v, want length error", err)
	}
	bad := h
	bad.Client = U128{}
	_, err := Encode(make([]byte, HeaderSize), &bad, nil)
	if !errors.Is(err, CheckField) || !strings.Contains(err.Error(), "client != 0") {
		t.Errorf("request without client: got %v, want field rule client != 0", err)
	}
	bad = h
	bad.Command = commandCount
	if _, err := Encode(make([]byte, HeaderSize), &bad, nil); !errors.Is(err, CheckCommand) {
		t.Errorf("unknown command: got %v, want command error", err)
	}
}

// corrupt returns a copy of a valid message with one change, its checksums
// recomputed only if reseal is set.
func mutate(t *testing.T, h Header, body []byte, reseal bool, f func(b []byte)) []byte {
	t.Helper()
	buf := encodeSample(t, h, body)
	f(buf)
	if reseal {
		putU128(buf[offChecksum:], Checksum(buf[offChecksumBody:HeaderSize]))
	}
	return buf
}

func TestDecodeChecksInOrder(t *testing.T) {
	prepare := sampleHeaders()[1]
	body := []byte("0123456789")
	cases := []struct {
		name  string
		buf   []byte
		check Check
		text  string
	}{
		{"empty", nil, CheckLength, "buffer is 0 bytes, need 256"},
		{"short", make([]byte, HeaderSize-1), CheckLength, "buffer is 255 bytes"},
		{"zero header", make([]byte, HeaderSize), CheckHeaderChecksum, "header checksum"},
		{"header bit", mutate(t, prepare, body, false, func(b []byte) { b[offOp] ^= 1 }), CheckHeaderChecksum, "computed"},
		// A wrong protocol and an unknown command: protocol is checked first.
		{"protocol", mutate(t, prepare, body, true, func(b []byte) { b[offProtocol] = 9; b[offCommand] = 200 }), CheckProtocol, "version 9, want 1"},
		{"command", mutate(t, prepare, body, true, func(b []byte) { b[offCommand] = 200 }), CheckCommand, "unknown command 200"},
		{"command zero", mutate(t, prepare, body, true, func(b []byte) { b[offCommand] = 0 }), CheckCommand, "unknown command 0"},
		{"size small", mutate(t, prepare, body, true, func(b []byte) { b[offSize] = 10; b[offSize+1] = 0 }), CheckSize, "size 10 outside [256, 1048576]"},
		{"size max", mutate(t, prepare, body, true, func(b []byte) { b[offSize+3] = 1 }), CheckSize, "outside [256, 1048576]"},
		{"size buffer", mutate(t, prepare, body, true, func(b []byte) { b[offSize] += 1 }), CheckSize, "size 267 exceeds the 266 bytes received"},
		// A reserved byte set and a bad body: reserved is checked first.
		{"reserved", mutate(t, prepare, body, true, func(b []byte) { b[HeaderSize-1] = 1; b[HeaderSize] ^= 1 }), CheckReserved, "offset 255"},
		{"reserved 155", mutate(t, prepare, body, true, func(b []byte) { b[offReserved1] = 4 }), CheckReserved, "offset 155"},
		{"body", mutate(t, prepare, body, false, func(b []byte) { b[HeaderSize+3] ^= 0x80 }), CheckBodyChecksum, "body checksum"},
		// A broken field rule whose checksums are right.
		{"field", mutate(t, prepare, body, true, func(b []byte) { b[offCommit] = 41 }), CheckField, "prepare: field rule: commit < op (value 41)"},
	}
	for _, c := range cases {
		_, _, err := Decode(c.buf, testSizeMax)
		var me *MessageError
		if !errors.As(err, &me) {
			t.Errorf("%s: got %v, want *MessageError", c.name, err)
			continue
		}
		if me.Check != c.check || !errors.Is(err, c.check) {
			t.Errorf("%s: failed check %q, want %q (%v)", c.name, me.Check, c.check, err)
		}
		if !strings.Contains(err.Error(), c.text) {
			t.Errorf("%s: error %q does not say %q", c.name, err, c.text)
		}
	}
}

func TestDecodeIgnoresTrailingBytes(t *testing.T) {
	h := sampleHeaders()[0]
	buf := encodeSample(t, h, []byte("abc"))
	long := append(append([]byte{}, buf...), 0xff, 0xee)
	_, body, err := Decode(long, testSizeMax)
	if err != nil || string(body) != "abc" {
		t.Fatalf("Decode with trailing bytes: body %q, err %v", body, err)
	}
}

// TestFieldRules breaks every rule of every command once, with valid
// checksums, and expects Decode to name that rule.
func TestFieldRules(t *testing.T) {
	samples := sampleHeaders()
	type breakCase struct {
		command Command
		rule    string
		edit    func(h *Header) []byte // returns the body to use
	}
	none := func(f func(h *Header)) func(h *Header) []byte {
		return func(h *Header) []byte { f(h); return nil }
	}
	cases := []breakCase{
		{CommandRequest, "replica < 6", none(func(h *Header) { h.Replica = 6 })},
		{CommandRequest, "client != 0", none(func(h *Header) { h.Client = U128{} })},
		{CommandRequest, "operation != none", none(func(h *Header) { h.Operation = OperationNone })},
		{CommandRequest, "register has no body", func(h *Header) []byte {
			h.Operation, h.Request = OperationRegister, 0
			return []byte{1}
		}},
		{CommandPrepare, "op >= 1", none(func(h *Header) { h.Op, h.Commit = 0, 0 })},
		{CommandPrepare, "commit < op", none(func(h *Header) { h.Commit = h.Op })},
		{CommandPrepareOk, "op >= 1", none(func(h *Header) { h.Op = 0 })},
		{CommandPrepareOk, "no body", func(h *Header) []byte { return []byte{0} }},
		{CommandPrepareOk, "operation == none", none(func(h *Header) { h.Operation = OperationUserMin })},
		{CommandReply, "client != 0", none(func(h *Header) { h.Client = U128{} })},
		{CommandReply, "op <= commit", none(func(h *Header) { h.Commit = h.Op - 1 })},
		{CommandCommit, "no body", func(h *Header) []byte { return make([]byte, HeaderSize) }},
		{CommandStartViewChange, "view >= 1", none(func(h *Header) { h.View = 0 })},
		{CommandDoViewChange, "log_view < view", none(func(h *Header) { h.LogView = h.View })},
		{CommandDoViewChange, "commit <= op", none(func(h *Header) { h.Commit = h.Op + 1 })},
		{CommandDoViewChange, "body is whole headers", func(h *Header) []byte { return make([]byte, HeaderSize+1) }},
		{CommandStartView, "log_view <= view", none(func(h *Header) { h.LogView = h.View + 1 })},
		{CommandRecovery, "context (nonce) != 0", none(func(h *Header) { h.Context = U128{} })},
		{CommandRecoveryResponse, "commit <= op", none(func(h *Header) { h.Commit = h.Op + 1 })},
		{CommandRequestPrepare, "op >= 1", none(func(h *Header) { h.Op = 0 })},
		{CommandRequestHeaders, "commit <= op", none(func(h *Header) { h.Commit = h.Op + 1 })},
		{CommandHeaders, "body is whole headers", func(h *Header) []byte { return make([]byte, 5) }},
		{CommandRequestStartView, "context (nonce) != 0", none(func(h *Header) { h.Context = U128{} })},
		{CommandEviction, "client != 0", none(func(h *Header) { h.Client = U128{} })},
		{CommandRequest, "session >= 1 unless register", none(func(h *Header) { h.Session = 0 })},
		{CommandRequest, "register has session 0", none(func(h *Header) { h.Operation = OperationRegister })},
		{CommandRequest, "request >= 1", none(func(h *Header) { h.Request = 0 })},
		{CommandPrepare, "session == 0", none(func(h *Header) { h.Session = 1 })},
		{CommandStartView, "session == 0", none(func(h *Header) { h.Session = 1 })},
		{CommandRequestCheckpoint, "operation == none", none(func(h *Header) { h.Operation = OperationUserMin })},
		{CommandCheckpoint, "op >= 1", none(func(h *Header) { h.Op = 0 })},
		{CommandCheckpoint, "context (checksum) != 0", none(func(h *Header) { h.Context = U128{} })},
	}
	covered := map[Command]bool{}
	for _, c := range cases {
		h := samples[c.command-1]
		body := c.edit(&h)
		buf := make([]byte, HeaderSize+len(body))
		h.Protocol, h.Size = ProtocolVersion, uint32(len(buf))
		encodeUnchecked(buf, &h, body)
		_, _, err := Decode(buf, testSizeMax)
		var me *MessageError
		if !errors.As(err, &me) || me.Check != CheckField || me.Field != c.rule {
			t.Errorf("%s breaking %q: got %v", c.command, c.rule, err)
		}
		if _, err := Encode(make([]byte, len(buf)), &h, body); !errors.Is(err, CheckField) {
			t.Errorf("%s breaking %q: Encode accepted it (%v)", c.command, c.rule, err)
		}
		covered[c.command] = true
	}
	for c := CommandRequest; c < commandCount; c++ {
		if len(commandSpecs[c].rules) > 0 && !covered[c] {
			t.Errorf("no test breaks a rule of %s", c)
		}
	}
}

// TestEveryBitFlipRejected flips each bit of encoded messages of several
// commands and body sizes; none may decode.
func TestEveryBitFlipRejected(t *testing.T) {
	for _, h := range sampleHeaders() {
		for _, n := range []int{0, 1, HeaderSize, 700} {
			body := sampleBody(h.Command, n)
			buf := encodeSample(t, h, body)
			for bit := 0; bit < len(buf)*8; bit++ {
				buf[bit/8] ^= 1 << (bit % 8)
				if _, _, err := Decode(buf, testSizeMax); err == nil {
					t.Fatalf("%s body %d: flipping bit %d was accepted", h.Command, len(body), bit)
				}
				buf[bit/8] ^= 1 << (bit % 8)
			}
			if _, _, err := Decode(buf, testSizeMax); err != nil {
				t.Fatalf("%s: restored message rejected: %v", h.Command, err)
			}
		}
	}
}

func TestEveryTruncationRejected(t *testing.T) {
	for _, h := range sampleHeaders() {
		buf := encodeSample(t, h, sampleBody(h.Command, 2*HeaderSize))
		for n := 0; n < len(buf); n++ {
			_, _, err := Decode(buf[:n], testSizeMax)
			if !errors.Is(err, CheckLength) && !errors.Is(err, CheckSize) {
				t.Fatalf("%s cut to %d of %d bytes: got %v, want a length or size error", h.Command, n, len(buf), err)
			}
		}
	}
}

func TestDecodeHeader(t *testing.T) {
	h := sampleHeaders()[1]
	buf := encodeSample(t, h, []byte("body not needed"))
	got, err := DecodeHeader(buf[:HeaderSize])
	if err != nil || got.Op != h.Op || got.Size != uint32(len(buf)) {
		t.Fatalf("DecodeHeader: %+v, %v", got, err)
	}
	buf[offReserved2] = 1
	putU128(buf[offChecksum:], Checksum(buf[offChecksumBody:HeaderSize]))
	if _, err := DecodeHeader(buf[:HeaderSize]); !errors.Is(err, CheckReserved) {
		t.Fatalf("DecodeHeader with reserved byte set: %v", err)
	}
	if _, err := DecodeHeader(buf[:10]); !errors.Is(err, CheckLength) {
		t.Fatalf("DecodeHeader of 10 bytes: %v", err)
	}
}

func TestEncodeDecodeDoNotAllocate(t *testing.T) {
	h := sampleHeaders()[1]
	body := make([]byte, 4096)
	buf := make([]byte, HeaderSize+len(body))
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := Encode(buf, &h, body); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Encode allocates %.1f times per call", allocs)
	}
	allocs = testing.AllocsPerRun(100, func() {
		if _, _, err := Decode(buf, testSizeMax); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Decode allocates %.1f times per call", allocs)
	}
}

func TestCommandAndCheckNames(t *testing.T) {
	seen := map[string]bool{}
	for c := CommandReserved; c < commandCount; c++ {
		name := c.String()
		if name == "" || seen[name] || strings.HasPrefix(name, "command(") {
			t.Errorf("command %d has name %q", c, name)
		}
		seen[name] = true
	}
	if got := Command(99).String(); got != "command(99)" {
		t.Errorf("unknown command name %q", got)
	}
	for c := CheckLength; c <= CheckField; c++ {
		if strings.HasPrefix(c.String(), "check(") {
			t.Errorf("check %d has no name", c)
		}
	}
}
