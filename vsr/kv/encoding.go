package kv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"

	"github.com/govsr/govsr/vsr"
)

// Request and reply encodings
//
// All integers are little-endian. Each input is a fixed header of lengths,
// then the byte strings in the same order, with nothing after them:
//
//	read   u16 key_len                              key
//	write  u16 key_len  u32 value_len               key  value
//	cas    u16 key_len  u32 from_len  u32 to_len    key  from  to
//
// A reply is one status byte, followed, for a read that found its key and
// for a cas mismatch, by the value:
//
//	u8 status  [u32 value_len  value]
//
// so a read of an empty value (5 bytes) stays distinct from a write's ok
// (1 byte).
const (
	readHeaderSize  = 2
	writeHeaderSize = 2 + 4
	casHeaderSize   = 2 + 4 + 4

	replyHeaderSizeMin = 1     // status
	replyHeaderSize    = 1 + 4 // status, value length

	// entryHeaderSize prefixes every entry of a snapshot and every entry
	// the digest hashes: u16 key length, u32 value length.
	entryHeaderSize = 2 + 4
)

// Status is the outcome of one operation, the first byte of its reply.
// Zero is not a status, so an all-zero reply never decodes.
type Status uint8

// The statuses.
const (
	StatusOK       Status = 1 // read: found (value follows); write, cas: done
	StatusNotFound Status = 2 // read, cas: no such key
	StatusMismatch Status = 3 // cas: the key holds another value (it follows)
	StatusFull     Status = 4 // write: a new key, and the store holds KeysMax keys
	StatusInvalid  Status = 5 // the input failed InputValid, or the reply did not fit
	statusCount           = 6 // one past the last status
)

var statusNames = [statusCount]string{
	StatusOK:       "ok",
	StatusNotFound: "not_found",
	StatusMismatch: "mismatch",
	StatusFull:     "full",
	StatusInvalid:  "invalid",
}

// String returns the name of s, or "status(N)" if s is unknown.
func (s Status) String() string {
	if s > 0 && s < statusCount {
		return statusNames[s]
	}
	return "status(" + strconv.Itoa(int(s)) + ")"
}

// Reply is a decoded reply.
type Reply struct {
	Status Status
	// Value is the value a read found or a cas mismatched, and nil for a
	// reply that carries none. It aliases the bytes given to DecodeReply.
	Value []byte
}

// putReply writes a reply into output, which holds at least one byte, and
// returns its length. A reply with a value that does not fit becomes
// StatusInvalid alone.
func putReply(output []byte, status Status, value []byte, withValue bool) int {
	if !withValue {
		output[0] = byte(status)
		return replyHeaderSizeMin
	}
	n := replyHeaderSize + len(value)
	if n > len(output) {
		output[0] = byte(StatusInvalid)
		return replyHeaderSizeMin
	}
	output[0] = byte(status)
	binary.LittleEndian.PutUint32(output[1:replyHeaderSize], uint32(len(value)))
	copy(output[replyHeaderSize:], value)
	return n
}

// DecodeReply decodes a reply written by Apply, or says what is wrong with
// it. Only ok and mismatch may carry a value, and mismatch must.
func DecodeReply(b []byte) (Reply, error) {
	if len(b) < replyHeaderSizeMin {
		return Reply{}, errors.New("kv: reply is empty, want at least a status byte")
	}
	status := Status(b[0])
	if status == 0 || status >= statusCount {
		return Reply{}, fmt.Errorf("kv: reply has unknown %s", status)
	}
	if len(b) == replyHeaderSizeMin {
		if status == StatusMismatch {
			return Reply{}, errors.New("kv: reply mismatch carries no value")
		}
		return Reply{Status: status}, nil
	}
	if status != StatusOK && status != StatusMismatch {
		return Reply{}, fmt.Errorf("kv: reply %s is %d bytes, want 1", status, len(b))
	}
	if len(b) < replyHeaderSize {
		return Reply{}, fmt.Errorf("kv: reply %s is %d bytes, shorter than the %d-byte header of a value", status, len(b), replyHeaderSize)
	}
	n := uint64(binary.LittleEndian.Uint32(b[1:replyHeaderSize]))
	if n > ValueSizeMaxLimit {
		return Reply{}, fmt.Errorf("kv: reply value is %d bytes, more than ValueSizeMaxLimit %d", n, ValueSizeMaxLimit)
	}
	if want := uint64(replyHeaderSize) + n; uint64(len(b)) != want {
		return Reply{}, fmt.Errorf("kv: reply is %d bytes, want %d for a %d-byte value", len(b), want, n)
	}
	return Reply{Status: status, Value: b[replyHeaderSize:]}, nil
}

// EncodeRead appends a read of key to dst. It checks only what the
// encoding can express (a non-empty key of at most KeySizeMaxLimit bytes);
// the store's own, usually smaller, bounds are checked by InputValid.
// On error dst is returned unchanged.
func EncodeRead(dst []byte, key []byte) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return dst, err
	}
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(key)))
	return append(dst, key...), nil
}

// EncodeWrite appends a write of value to key to dst. Bounds as EncodeRead,
// and a value of at most ValueSizeMaxLimit bytes.
func EncodeWrite(dst []byte, key, value []byte) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return dst, err
	}
	if err := checkValue("value", value); err != nil {
		return dst, err
	}
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(key)))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(value)))
	dst = append(dst, key...)
	return append(dst, value...), nil
}

// EncodeCAS appends a compare-and-set of key from from to to to dst.
// Bounds as EncodeWrite, for both values.
func EncodeCAS(dst []byte, key, from, to []byte) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return dst, err
	}
	if err := checkValue("from", from); err != nil {
		return dst, err
	}
	if err := checkValue("to", to); err != nil {
		return dst, err
	}
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(key)))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(from)))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(to)))
	dst = append(dst, key...)
	dst = append(dst, from...)
	return append(dst, to...), nil
}

func checkKey(key []byte) error {
	if len(key) == 0 {
		return errors.New("kv: key is empty")
	}
	if len(key) > KeySizeMaxLimit {
		return fmt.Errorf("kv: key is %d bytes, more than KeySizeMaxLimit %d", len(key), KeySizeMaxLimit)
	}
	return nil
}

func checkValue(name string, value []byte) error {
	if len(value) > ValueSizeMaxLimit {
		return fmt.Errorf("kv: %s is %d bytes, more than ValueSizeMaxLimit %d", name, len(value), ValueSizeMaxLimit)
	}
	return nil
}

// request is a parsed input; its slices alias the input.
type request struct {
	key   []byte
	value []byte // write
	from  []byte // cas
	to    []byte // cas
}

// faultKind says what parse found wrong with an input. Apply needs only
// "something"; InputValid turns the fault into a message. Keeping the two
// apart keeps Apply free of allocations.
type faultKind uint8

const (
	faultNone      faultKind = iota
	faultOperation           // value: the operation
	faultHeader              // value: input length; limit: header size
	faultKeyEmpty            //
	faultKeySize             // value: key length; limit: KeySizeMax
	faultValueSize           // field: which value; value: its length; limit: ValueSizeMax
	faultTruncated           // value: input length; limit: the length its header declares
	faultTrailing            // value: input length; limit: the length its header declares
)

type fault struct {
	kind  faultKind
	field string
	value uint64
	limit uint64
}

// valueNames names the u32 lengths that follow the key length in the input
// of operation; known is false for an operation the store does not define.
func valueNames(operation vsr.Operation) (names []string, known bool) {
	switch operation {
	case OperationRead:
		return nil, true
	case OperationWrite:
		return writeValueNames, true
	case OperationCAS:
		return casValueNames, true
	}
	return nil, false
}

var (
	writeValueNames = []string{"value"}
	casValueNames   = []string{"from", "to"}
)

// parse checks input against the layout of operation and the bounds of o,
// in this order: operation, header, key length, value lengths, total
// length. Sizes come before the total so that a huge declared length is
// reported as too large rather than as truncated. Sums are in uint64, which
// no u16 plus two u32s can overflow.
func (o *Options) parse(operation vsr.Operation, input []byte) (request, fault) {
	names, known := valueNames(operation)
	if !known {
		return request{}, fault{kind: faultOperation, value: uint64(operation)}
	}
	header := readHeaderSize + 4*len(names)
	if len(input) < header {
		return request{}, fault{kind: faultHeader, value: uint64(len(input)), limit: uint64(header)}
	}
	keyLen := uint64(binary.LittleEndian.Uint16(input[0:2]))
	if keyLen == 0 {
		return request{}, fault{kind: faultKeyEmpty}
	}
	if keyLen > uint64(o.KeySizeMax) {
		return request{}, fault{kind: faultKeySize, value: keyLen, limit: uint64(o.KeySizeMax)}
	}
	var lens [2]uint64
	want := uint64(header) + keyLen
	for i, name := range names {
		lens[i] = uint64(binary.LittleEndian.Uint32(input[2+4*i:]))
		if lens[i] > uint64(o.ValueSizeMax) {
			return request{}, fault{kind: faultValueSize, field: name, value: lens[i], limit: uint64(o.ValueSizeMax)}
		}
		want += lens[i]
	}
	if got := uint64(len(input)); got != want {
		kind := faultTruncated
		if got > want {
			kind = faultTrailing
		}
		return request{}, fault{kind: kind, value: got, limit: want}
	}
	rest := input[header:]
	req := request{key: rest[:keyLen]}
	rest = rest[keyLen:]
	switch len(names) {
	case 1:
		req.value = rest[:lens[0]]
	case 2:
		req.from, req.to = rest[:lens[0]], rest[lens[0]:lens[0]+lens[1]]
	}
	return req, fault{}
}

// InputValid reports why input is not a well-formed request for operation
// under the store's bounds, or nil: an unknown operation, an input shorter
// than its header, an empty or oversized key, an oversized value, or an
// input shorter (truncated) or longer (trailing bytes) than its header
// declares.
func (s *Store) InputValid(operation vsr.Operation, input []byte) error {
	_, f := s.options.parse(operation, input)
	if f.kind == faultNone {
		return nil
	}
	return f.err(operation)
}

func (f fault) err(operation vsr.Operation) error {
	op := "kv: " + operationName(operation) + ": "
	switch f.kind {
	case faultOperation:
		return fmt.Errorf("kv: unknown operation %d (read is %d, write %d, cas %d)",
			f.value, OperationRead, OperationWrite, OperationCAS)
	case faultHeader:
		return fmt.Errorf("%sinput is %d bytes, shorter than its %d-byte header", op, f.value, f.limit)
	case faultKeyEmpty:
		return errors.New(op + "key is empty")
	case faultKeySize:
		return fmt.Errorf("%skey is %d bytes, more than KeySizeMax %d", op, f.value, f.limit)
	case faultValueSize:
		return fmt.Errorf("%s%s is %d bytes, more than ValueSizeMax %d", op, f.field, f.value, f.limit)
	case faultTruncated:
		return fmt.Errorf("%sinput is %d bytes, its header declares %d: truncated", op, f.value, f.limit)
	case faultTrailing:
		return fmt.Errorf("%sinput is %d bytes, its header declares %d: %d trailing bytes", op, f.value, f.limit, f.value-f.limit)
	}
	panic(fmt.Sprintf("kv: unknown fault kind %d", f.kind))
}

func operationName(operation vsr.Operation) string {
	switch operation {
	case OperationRead:
		return "read"
	case OperationWrite:
		return "write"
	case OperationCAS:
		return "cas"
	}
	return "operation(" + strconv.Itoa(int(operation)) + ")"
}

// appendEntry appends the snapshot encoding of one entry to dst.
func appendEntry(dst []byte, key, value []byte) []byte {
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(key)))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(value)))
	dst = append(dst, key...)
	return append(dst, value...)
}
