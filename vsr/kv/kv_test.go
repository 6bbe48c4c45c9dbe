package kv

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/govsr/govsr/vsr"
)

func TestNewOptions(t *testing.T) {
	tests := []struct {
		name string
		in   Options
		want Options
		err  string // substring of the error; "" for success
	}{
		{"zero takes defaults", Options{}, Options{KeysMaxDefault, KeySizeMaxDefault, ValueSizeMaxDefault}, ""},
		{"explicit", Options{KeysMax: 5, KeySizeMax: 6, ValueSizeMax: 7}, Options{5, 6, 7}, ""},
		{"mixed", Options{KeySizeMax: 9}, Options{KeysMaxDefault, 9, ValueSizeMaxDefault}, ""},
		{"limits", Options{KeysMaxLimit, KeySizeMaxLimit, ValueSizeMaxLimit}, Options{KeysMaxLimit, KeySizeMaxLimit, ValueSizeMaxLimit}, ""},
		{"negative keys", Options{KeysMax: -1}, Options{}, "KeysMax is -1, want 0 (default 65536) or 1..16777216"},
		{"negative key size", Options{KeySizeMax: -3}, Options{}, "KeySizeMax is -3"},
		{"negative value size", Options{ValueSizeMax: -1}, Options{}, "ValueSizeMax is -1"},
		{"too many keys", Options{KeysMax: KeysMaxLimit + 1}, Options{}, "KeysMax is 16777217"},
		{"key longer than u16", Options{KeySizeMax: KeySizeMaxLimit + 1}, Options{}, "KeySizeMax is 65536, want 0 (default 64) or 1..65535"},
		{"value too long", Options{ValueSizeMax: ValueSizeMaxLimit + 1}, Options{}, "ValueSizeMax is 16777217"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("New(%+v) error = %v, want one containing %q", tt.in, err, tt.err)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Fatalf("error spans lines: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("New(%+v): %v", tt.in, err)
			}
			if s.Options() != tt.want {
				t.Fatalf("Options() = %+v, want %+v", s.Options(), tt.want)
			}
		})
	}
}

func TestSizes(t *testing.T) {
	s := newStore(t, small)
	if got, want := s.ReplySizeMax(), 1+4+8; got != want {
		t.Errorf("ReplySizeMax = %d, want %d", got, want)
	}
	if got, want := s.InputSizeMax(), 10+4+8+8; got != want {
		t.Errorf("InputSizeMax = %d, want %d", got, want)
	}
	cas := encCAS("kkkk", "ffffffff", "tttttttt")
	if len(cas) != s.InputSizeMax() || s.InputValid(OperationCAS, cas) != nil {
		t.Errorf("largest cas is %d bytes (valid: %v), InputSizeMax %d", len(cas), s.InputValid(OperationCAS, cas), s.InputSizeMax())
	}
	for _, k := range []string{"aaaa", "bbbb", "cccc"} {
		apply(t, s, OperationWrite, encWrite(k, "vvvvvvvv"))
	}
	if got := len(s.AppendSnapshot(nil)); got > s.SnapshotSizeMax() || got != 2*s.SnapshotPageSize() {
		t.Errorf("full store's snapshot is %d bytes, SnapshotSizeMax %d", got, s.SnapshotSizeMax())
	}
	if r := apply(t, s, OperationRead, encRead("aaaa")); r.Status != StatusOK || len(r.Value) != 8 {
		t.Errorf("read of the largest value: %+v", r)
	}
}

// TestSemantics runs one store through a script of operations; each step
// depends on the ones before it.
func TestSemantics(t *testing.T) {
	s := newStore(t, small) // 3 keys of up to 4 bytes, values up to 8
	ok := Reply{Status: StatusOK}
	found := func(v string) Reply { return Reply{Status: StatusOK, Value: []byte(v)} }
	steps := []struct {
		name      string
		operation vsr.Operation
		input     []byte
		want      Reply
		keys      int
	}{
		{"read of a missing key", OperationRead, encRead("a"), Reply{Status: StatusNotFound}, 0},
		{"cas of a missing key", OperationCAS, encCAS("a", "", "x"), Reply{Status: StatusNotFound}, 0},
		{"write a new key", OperationWrite, encWrite("a", "1"), ok, 1},
		{"read it back", OperationRead, encRead("a"), found("1"), 1},
		{"overwrite", OperationWrite, encWrite("a", "22"), ok, 1},
		{"read the overwrite", OperationRead, encRead("a"), found("22"), 1},
		{"cas that matches", OperationCAS, encCAS("a", "22", "333"), ok, 1},
		{"read after cas", OperationRead, encRead("a"), found("333"), 1},
		{"cas that mismatches returns current", OperationCAS, encCAS("a", "22", "x"), Reply{Status: StatusMismatch, Value: []byte("333")}, 1},
		{"mismatch changed nothing", OperationRead, encRead("a"), found("333"), 1},
		{"cas is byte-exact, not prefix", OperationCAS, encCAS("a", "33", "x"), Reply{Status: StatusMismatch, Value: []byte("333")}, 1},
		{"keys are case and length sensitive", OperationRead, encRead("A"), Reply{Status: StatusNotFound}, 1},
		{"empty value", OperationWrite, encWrite("b", ""), ok, 2},
		{"read of an empty value carries it", OperationRead, encRead("b"), found(""), 2},
		{"cas from empty", OperationCAS, encCAS("b", "", "e"), ok, 2},
		{"cas to empty", OperationCAS, encCAS("b", "e", ""), ok, 2},
		{"mismatch against an empty value", OperationCAS, encCAS("b", "x", "y"), Reply{Status: StatusMismatch, Value: []byte{}}, 2},
		{"largest key and value", OperationWrite, encWrite("cccc", "12345678"), ok, 3},
		{"read the largest", OperationRead, encRead("cccc"), found("12345678"), 3},
		{"new key when full", OperationWrite, encWrite("d", "1"), Reply{Status: StatusFull}, 3},
		{"full wrote nothing", OperationRead, encRead("d"), Reply{Status: StatusNotFound}, 3},
		{"cas never creates", OperationCAS, encCAS("d", "", "1"), Reply{Status: StatusNotFound}, 3},
		{"existing key when full", OperationWrite, encWrite("a", "9"), ok, 3},
		{"read after full", OperationRead, encRead("a"), found("9"), 3},
		{"cas when full", OperationCAS, encCAS("a", "9", "8"), ok, 3},
		{"key over KeySizeMax", OperationRead, encRead("eeeee"), Reply{Status: StatusInvalid}, 3},
		{"value over ValueSizeMax", OperationWrite, encWrite("a", "123456789"), Reply{Status: StatusInvalid}, 3},
		{"invalid wrote nothing", OperationRead, encRead("a"), found("8"), 3},
		{"unknown operation", OperationCAS + 1, encRead("a"), Reply{Status: StatusInvalid}, 3},
	}
	for i, st := range steps {
		got := apply(t, s, st.operation, st.input)
		if !replyEqual(got, st.want) {
			t.Fatalf("step %d (%s): got %s %q (nil %v), want %s %q (nil %v)", i, st.name,
				got.Status, got.Value, got.Value == nil, st.want.Status, st.want.Value, st.want.Value == nil)
		}
		if s.Len() != st.keys {
			t.Fatalf("step %d (%s): %d keys, want %d", i, st.name, s.Len(), st.keys)
		}
		if d := recomputedDigest(s); d != s.Digest() {
			t.Fatalf("step %d (%s): digest %s, recomputed %s", i, st.name, s.Digest(), d)
		}
	}
}

// input builds raw inputs with arbitrary length fields.
func input(keyLen uint16, lens []uint32, payload string) []byte {
	b := binary.LittleEndian.AppendUint16(nil, keyLen)
	for _, n := range lens {
		b = binary.LittleEndian.AppendUint32(b, n)
	}
	return append(b, payload...)
}

func TestInputValid(t *testing.T) {
	s := newStore(t, small)
	tests := []struct {
		name      string
		operation vsr.Operation
		input     []byte
		err       string // substring; "" means valid
	}{
		{"read", OperationRead, encRead("k"), ""},
		{"write", OperationWrite, encWrite("k", "v"), ""},
		{"write empty value", OperationWrite, encWrite("k", ""), ""},
		{"cas", OperationCAS, encCAS("k", "a", "b"), ""},
		{"largest", OperationCAS, encCAS("kkkk", "12345678", "12345678"), ""},

		{"operation none", vsr.OperationNone, encRead("k"), "kv: unknown operation 0 (read is 16, write 17, cas 18)"},
		{"operation register", vsr.OperationRegister, nil, "unknown operation 1"},
		{"operation below read", OperationRead - 1, encRead("k"), "unknown operation 15"},
		{"operation above cas", OperationCAS + 1, encRead("k"), "unknown operation 19"},
		{"operation 255", 255, encRead("k"), "unknown operation 255"},

		{"read empty input", OperationRead, nil, "kv: read: input is 0 bytes, shorter than its 2-byte header"},
		{"read half header", OperationRead, []byte{1}, "read: input is 1 bytes, shorter than its 2-byte header"},
		{"write short header", OperationWrite, input(1, nil, "\x00\x00"), "write: input is 4 bytes, shorter than its 6-byte header"},
		{"cas short header", OperationCAS, input(1, []uint32{1}, "\x00"), "cas: input is 7 bytes, shorter than its 10-byte header"},

		{"read empty key", OperationRead, input(0, nil, ""), "kv: read: key is empty"},
		{"write empty key", OperationWrite, input(0, []uint32{1}, "v"), "write: key is empty"},
		{"cas empty key", OperationCAS, input(0, []uint32{0, 0}, ""), "cas: key is empty"},

		{"read key too long", OperationRead, input(5, nil, "abcde"), "kv: read: key is 5 bytes, more than KeySizeMax 4"},
		{"write key too long", OperationWrite, input(65535, []uint32{0}, ""), "write: key is 65535 bytes, more than KeySizeMax 4"},
		{"write value too long", OperationWrite, input(1, []uint32{9}, "k123456789"), "kv: write: value is 9 bytes, more than ValueSizeMax 8"},
		{"write value length huge", OperationWrite, input(1, []uint32{1<<32 - 1}, "k"), "value is 4294967295 bytes, more than ValueSizeMax 8"},
		{"cas from too long", OperationCAS, input(1, []uint32{9, 0}, "k123456789"), "cas: from is 9 bytes, more than ValueSizeMax 8"},
		{"cas to too long", OperationCAS, input(1, []uint32{0, 1<<32 - 1}, "k"), "cas: to is 4294967295 bytes, more than ValueSizeMax 8"},

		{"read truncated key", OperationRead, input(3, nil, "ab"), "kv: read: input is 4 bytes, its header declares 5: truncated"},
		{"write truncated value", OperationWrite, input(1, []uint32{3}, "kab"), "write: input is 9 bytes, its header declares 10: truncated"},
		{"cas truncated to", OperationCAS, input(1, []uint32{1, 2}, "kft"), "cas: input is 13 bytes, its header declares 14: truncated"},
		{"cas header only", OperationCAS, input(1, []uint32{0, 0}, ""), "cas: input is 10 bytes, its header declares 11: truncated"},

		{"read trailing", OperationRead, append(encRead("k"), 0), "kv: read: input is 4 bytes, its header declares 3: 1 trailing bytes"},
		{"write trailing", OperationWrite, append(encWrite("k", "v"), "xyz"...), "write: input is 11 bytes, its header declares 8: 3 trailing bytes"},
		{"cas trailing", OperationCAS, append(encCAS("k", "", ""), 0, 0), "cas: input is 13 bytes, its header declares 11: 2 trailing bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.InputValid(tt.operation, tt.input)
			if tt.err == "" {
				if err != nil {
					t.Fatalf("InputValid: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("InputValid error = %v, want one containing %q", err, tt.err)
			}
			// Apply must answer the same input "invalid" and change nothing.
			before := s.Digest()
			if r := apply(t, s, tt.operation, tt.input); r.Status != StatusInvalid || r.Value != nil {
				t.Fatalf("Apply of invalid input replied %s %q", r.Status, r.Value)
			}
			if s.Digest() != before || s.Len() != 0 {
				t.Fatal("Apply of invalid input changed the store")
			}
		})
	}
}

// TestApplyReplyTooLarge: a reply that cannot fit in output becomes a bare
// invalid status rather than a panic or a cut-off value.
func TestApplyReplyTooLarge(t *testing.T) {
	s := newStore(t, small)
	apply(t, s, OperationWrite, encWrite("k", "12345678"))
	for _, tt := range []struct {
		operation vsr.Operation
		input     []byte
	}{{OperationRead, encRead("k")}, {OperationCAS, encCAS("k", "x", "y")}} {
		for size := 1; size <= s.ReplySizeMax(); size++ {
			out := bytes.Repeat([]byte{0xee}, size)
			n := s.Apply(s.opLast+1, 0, tt.operation, tt.input, out)
			r, err := DecodeReply(out[:n])
			if err != nil {
				t.Fatalf("%s, output %d: %v", operationName(tt.operation), size, err)
			}
			fits := size >= s.ReplySizeMax()
			if fits != (r.Status != StatusInvalid) {
				t.Fatalf("%s, output %d of %d: status %s", operationName(tt.operation), size, s.ReplySizeMax(), r.Status)
			}
		}
	}
	// A write's reply always fits in one byte.
	out := []byte{0}
	if n := s.Apply(s.opLast+1, 0, OperationWrite, encWrite("j", "12345678"), out); n != 1 || Status(out[0]) != StatusOK {
		t.Fatalf("write with a 1-byte output: %d %x", n, out)
	}
}

// The requests batched in one prepare share its op: Apply takes a repeated op.
func TestApplyRepeatedOpOfABatch(t *testing.T) {
	s := newStore(t, small)
	out := make([]byte, 64)
	s.Apply(7, 0, OperationWrite, encWrite("a", "1"), out)
	s.Apply(7, 0, OperationWrite, encWrite("b", "2"), out)
	if n := s.Apply(7, 0, OperationRead, encRead("a"), out); n < 1 || Status(out[0]) != StatusOK || s.Len() != 2 {
		t.Fatalf("batch of three at one op: status %v, %d keys", Status(out[0]), s.Len())
	}
}

func TestApplyPanicsOnInternalMisuse(t *testing.T) {
	tests := []struct {
		name string
		run  func(s *Store)
		want string
	}{
		{"op 0", func(s *Store) { s.Apply(0, 0, OperationRead, encRead("k"), make([]byte, 16)) }, "ops start at 1"},
		{"op backwards", func(s *Store) {
			s.Apply(7, 0, OperationRead, encRead("k"), make([]byte, 16))
			s.Apply(6, 0, OperationRead, encRead("k"), make([]byte, 16))
		}, "Apply op 6 after op 7"},
		{"no output", func(s *Store) { s.Apply(1, 0, OperationRead, encRead("k"), nil) }, "no room for a status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if msg, _ := r.(string); !strings.Contains(msg, tt.want) {
					t.Fatalf("panic %v, want one containing %q", r, tt.want)
				}
			}()
			tt.run(newStore(t, small))
		})
	}
}

// TestApplyOpsMayJump: ops need only increase, not be consecutive (the
// replica does not Apply protocol operations such as register).
func TestApplyOpsMayJump(t *testing.T) {
	s := newStore(t, small)
	out := make([]byte, s.ReplySizeMax())
	for _, op := range []uint64{1, 5, 6, 1 << 40} {
		s.Apply(op, 0, OperationRead, encRead("k"), out)
	}
}

func TestEncode(t *testing.T) {
	prefix := []byte("prefix")
	got, err := EncodeCAS(prefix, []byte("key"), []byte("f"), []byte("to"))
	want := []byte("prefix\x03\x00\x01\x00\x00\x00\x02\x00\x00\x00keyfto")
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("EncodeCAS = %q, %v; want %q", got, err, want)
	}
	got, err = EncodeWrite(nil, []byte("k"), []byte("vv"))
	if want := []byte("\x01\x00\x02\x00\x00\x00kvv"); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("EncodeWrite = %q, %v; want %q", got, err, want)
	}
	got, err = EncodeRead(nil, []byte("k"))
	if want := []byte("\x01\x00k"); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("EncodeRead = %q, %v; want %q", got, err, want)
	}

	long := make([]byte, KeySizeMaxLimit+1)
	huge := make([]byte, ValueSizeMaxLimit+1)
	fits := make([]byte, KeySizeMaxLimit)
	tests := []struct {
		name   string
		encode func(dst []byte) ([]byte, error)
		err    string
	}{
		{"read empty key", func(d []byte) ([]byte, error) { return EncodeRead(d, nil) }, "kv: key is empty"},
		{"read long key", func(d []byte) ([]byte, error) { return EncodeRead(d, long) }, "kv: key is 65536 bytes, more than KeySizeMaxLimit 65535"},
		{"write empty key", func(d []byte) ([]byte, error) { return EncodeWrite(d, []byte{}, nil) }, "key is empty"},
		{"write long key", func(d []byte) ([]byte, error) { return EncodeWrite(d, long, nil) }, "more than KeySizeMaxLimit 65535"},
		{"write huge value", func(d []byte) ([]byte, error) { return EncodeWrite(d, fits, huge) }, "kv: value is 16777217 bytes, more than ValueSizeMaxLimit 16777216"},
		{"cas empty key", func(d []byte) ([]byte, error) { return EncodeCAS(d, nil, nil, nil) }, "key is empty"},
		{"cas long key", func(d []byte) ([]byte, error) { return EncodeCAS(d, long, nil, nil) }, "KeySizeMaxLimit"},
		{"cas huge from", func(d []byte) ([]byte, error) { return EncodeCAS(d, fits, huge, nil) }, "kv: from is 16777217 bytes"},
		{"cas huge to", func(d []byte) ([]byte, error) { return EncodeCAS(d, fits, nil, huge) }, "kv: to is 16777217 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte("keep")
			got, err := tt.encode(dst)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error = %v, want one containing %q", err, tt.err)
			}
			if string(got) != "keep" {
				t.Fatalf("dst changed to %q on error", got)
			}
		})
	}
}

func TestDecodeReply(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want Reply
		err  string
	}{
		{"ok", []byte{1}, Reply{Status: StatusOK}, ""},
		{"ok with value", []byte("\x01\x02\x00\x00\x00hi"), Reply{Status: StatusOK, Value: []byte("hi")}, ""},
		{"ok with empty value", []byte("\x01\x00\x00\x00\x00"), Reply{Status: StatusOK, Value: []byte{}}, ""},
		{"not found", []byte{2}, Reply{Status: StatusNotFound}, ""},
		{"mismatch", []byte("\x03\x01\x00\x00\x00x"), Reply{Status: StatusMismatch, Value: []byte("x")}, ""},
		{"full", []byte{4}, Reply{Status: StatusFull}, ""},
		{"invalid", []byte{5}, Reply{Status: StatusInvalid}, ""},

		{"empty", nil, Reply{}, "kv: reply is empty"},
		{"status zero", []byte{0}, Reply{}, "kv: reply has unknown status(0)"},
		{"status six", []byte{6}, Reply{}, "unknown status(6)"},
		{"mismatch without value", []byte{3}, Reply{}, "mismatch carries no value"},
		{"not found with bytes", []byte{2, 0, 0, 0, 0}, Reply{}, "kv: reply not_found is 5 bytes, want 1"},
		{"full with bytes", []byte{4, 0}, Reply{}, "full is 2 bytes, want 1"},
		{"invalid with bytes", []byte{5, 1}, Reply{}, "invalid is 2 bytes, want 1"},
		{"ok short length", []byte{1, 0, 0}, Reply{}, "ok is 3 bytes, shorter than the 5-byte header"},
		{"value truncated", []byte("\x01\x03\x00\x00\x00hi"), Reply{}, "reply is 7 bytes, want 8 for a 3-byte value"},
		{"value trailing", []byte("\x03\x01\x00\x00\x00hi"), Reply{}, "reply is 7 bytes, want 6 for a 1-byte value"},
		{"value huge", []byte("\x01\xff\xff\xff\xff"), Reply{}, "value is 4294967295 bytes, more than ValueSizeMaxLimit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeReply(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil || !replyEqual(got, tt.want) {
				t.Fatalf("DecodeReply = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestStatusString(t *testing.T) {
	want := map[Status]string{0: "status(0)", StatusOK: "ok", StatusNotFound: "not_found",
		StatusMismatch: "mismatch", StatusFull: "full", StatusInvalid: "invalid", 6: "status(6)", 255: "status(255)"}
	for s, name := range want {
		if s.String() != name {
			t.Errorf("Status(%d).String() = %q, want %q", uint8(s), s.String(), name)
		}
	}
}

// TestApplyDoesNotAllocate guards the hot path: reads and overwrites that
// fit the old buffer allocate nothing.
func TestApplyDoesNotAllocate(t *testing.T) {
	s := newStore(t, Options{})
	out := make([]byte, s.ReplySizeMax())
	write, read := encWrite("key", "value"), encRead("key")
	cas, bad := encCAS("key", "value", "value"), input(0, nil, "")
	s.Apply(s.opLast+1, 0, OperationWrite, write, out)
	for name, in := range map[string]struct {
		operation vsr.Operation
		input     []byte
	}{"write": {OperationWrite, write}, "read": {OperationRead, read}, "cas": {OperationCAS, cas}, "invalid": {OperationRead, bad}} {
		if n := testing.AllocsPerRun(100, func() { s.Apply(s.opLast+1, 0, in.operation, in.input, out) }); n != 0 {
			t.Errorf("%s: %v allocations per Apply", name, n)
		}
	}
}
