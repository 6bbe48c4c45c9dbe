package vsr

import (
	"encoding/binary"
	"math"
)

// Wire format
//
// A message is a fixed-size header followed by a body of Size-HeaderSize
// bytes. All integers are little-endian; 128-bit values are stored low half
// first.
//
//	offset  size  field             meaning
//	     0    16  checksum          Checksum(header[16:256]): covers every other header byte,
//	                                including checksum_body, so the header is trusted first
//	    16    16  checksum_body     Checksum(body)
//	    32    16  cluster           cluster id
//	    48    16  parent            prepare: checksum of the previous prepare's header
//	                                (recovery_response: checksum of the sender's head)
//	    64    16  client            client id (request, reply, eviction); do_view_change:
//	                                bit i set: the sender never held the prepare of op - i
//	    80    16  request_checksum  checksum of the request a prepare or reply answers
//	    96    16  context           per command: prepare checksum, nonce (recovery),
//	                                commit checksum, checkpoint checksum
//	   112     8  op                op number
//	   120     8  commit            commit number (request_headers: first op wanted;
//	                                checkpoint and request_checkpoint: byte offset)
//	   128     8  timestamp         primary's clock at prepare, in ticks (checkpoint: total size)
//	   136     4  view              view number
//	   140     4  log_view          last view in which the sender's log was normal
//	   144     4  request           client request number, registers included: it only grows
//	                                (do_view_change: 1 if the sender's journal has faulty slots)
//	   148     4  size              header + body, in bytes
//	   152     1  command           Command
//	   153     1  operation         Operation
//	   154     1  replica           sender (or, for a request, the replica it was sent to)
//	   155     1  reserved          must be zero
//	   156     2  protocol          ProtocolVersion
//	   158     2  reserved          must be zero
//	   160     8  session           request: the client's session, the op of the register that
//	                                opened it (0 for a register); eviction: the session evicted
//	                                (0: none known); zero for every other command
//	   168    88  reserved          must be zero: room to grow without a new header size
//	   256
//
// The header is 256 bytes so that 16 of them fill a 4 KiB sector exactly in
// the journal's redundant headers ring.
const (
	HeaderSize      = 256
	ProtocolVersion = 1

	// ReplicasMax bounds the replica field and the cluster size.
	ReplicasMax = 6

	// MessageSizeMaxLimit is the largest size the size field can express.
	MessageSizeMaxLimit = math.MaxUint32
)

const (
	offChecksum        = 0
	offChecksumBody    = 16
	offCluster         = 32
	offParent          = 48
	offClient          = 64
	offRequestChecksum = 80
	offContext         = 96
	offOp              = 112
	offCommit          = 120
	offTimestamp       = 128
	offView            = 136
	offLogView         = 140
	offRequest         = 144
	offSize            = 148
	offCommand         = 152
	offOperation       = 153
	offReplica         = 154
	offReserved1       = 155
	offProtocol        = 156
	offReserved2       = 158
	offSession         = 160
	offReserved3       = 168
)

// Header is the decoded form of a message header. Checksum, ChecksumBody,
// Size and Protocol are filled in by Encode and Seal.
type Header struct {
	Checksum        U128
	ChecksumBody    U128
	Cluster         U128
	Parent          U128
	Client          U128
	RequestChecksum U128
	Context         U128
	Op              uint64
	Commit          uint64
	Timestamp       uint64
	View            uint32
	LogView         uint32
	Request         uint32
	Size            uint32
	Session         uint64
	Command         Command
	Operation       Operation
	Replica         uint8
	Protocol        uint16
}

// put writes every field of h, checksums included, into b[:HeaderSize].
func (h *Header) put(b []byte) {
	_ = b[HeaderSize-1]
	putU128(b[offChecksum:], h.Checksum)
	putU128(b[offChecksumBody:], h.ChecksumBody)
	putU128(b[offCluster:], h.Cluster)
	putU128(b[offParent:], h.Parent)
	putU128(b[offClient:], h.Client)
	putU128(b[offRequestChecksum:], h.RequestChecksum)
	putU128(b[offContext:], h.Context)
	binary.LittleEndian.PutUint64(b[offOp:], h.Op)
	binary.LittleEndian.PutUint64(b[offCommit:], h.Commit)
	binary.LittleEndian.PutUint64(b[offTimestamp:], h.Timestamp)
	binary.LittleEndian.PutUint32(b[offView:], h.View)
	binary.LittleEndian.PutUint32(b[offLogView:], h.LogView)
	binary.LittleEndian.PutUint32(b[offRequest:], h.Request)
	binary.LittleEndian.PutUint32(b[offSize:], h.Size)
	b[offCommand] = byte(h.Command)
	b[offOperation] = byte(h.Operation)
	b[offReplica] = h.Replica
	b[offReserved1] = 0
	binary.LittleEndian.PutUint16(b[offProtocol:], h.Protocol)
	clear(b[offReserved2:offSession])
	binary.LittleEndian.PutUint64(b[offSession:], h.Session)
	clear(b[offReserved3:HeaderSize])
}

// parse reads every field of h from b[:HeaderSize]; reserved bytes are
// checked separately by reservedNonZero.
func (h *Header) parse(b []byte) {
	_ = b[HeaderSize-1]
	h.Checksum = getU128(b[offChecksum:])
	h.ChecksumBody = getU128(b[offChecksumBody:])
	h.Cluster = getU128(b[offCluster:])
	h.Parent = getU128(b[offParent:])
	h.Client = getU128(b[offClient:])
	h.RequestChecksum = getU128(b[offRequestChecksum:])
	h.Context = getU128(b[offContext:])
	h.Op = binary.LittleEndian.Uint64(b[offOp:])
	h.Commit = binary.LittleEndian.Uint64(b[offCommit:])
	h.Timestamp = binary.LittleEndian.Uint64(b[offTimestamp:])
	h.View = binary.LittleEndian.Uint32(b[offView:])
	h.LogView = binary.LittleEndian.Uint32(b[offLogView:])
	h.Request = binary.LittleEndian.Uint32(b[offRequest:])
	h.Size = binary.LittleEndian.Uint32(b[offSize:])
	h.Command = Command(b[offCommand])
	h.Operation = Operation(b[offOperation])
	h.Replica = b[offReplica]
	h.Protocol = binary.LittleEndian.Uint16(b[offProtocol:])
	h.Session = binary.LittleEndian.Uint64(b[offSession:])
}

// reservedNonZero returns the offset of the first non-zero reserved byte of
// the header in b, or -1 if they are all zero.
func reservedNonZero(b []byte) int {
	assert(len(b) >= HeaderSize, "reserved bytes are checked in a whole header")
	// Every header decoded passes here: OR the reserved words together
	// first and look for the offending byte only when one is set.
	le := binary.LittleEndian
	set := uint64(b[offReserved1]) | uint64(le.Uint16(b[offReserved2:]))
	for i := offReserved3; i < HeaderSize; i += 8 {
		set |= le.Uint64(b[i:])
	}
	if set == 0 {
		return -1
	}
	if b[offReserved1] != 0 {
		return offReserved1
	}
	for i := offReserved2; i < offSession; i++ {
		if b[i] != 0 {
			return i
		}
	}
	for i := offReserved3; i < HeaderSize; i++ {
		if b[i] != 0 {
			return i
		}
	}
	return -1
}

// Seal sets Protocol, Size, ChecksumBody and Checksum of h for the given
// body, so that h.Checksum is known before the message is written anywhere
// (a prepare's checksum is the next prepare's parent). It does not check
// field rules; Encode does.
func (h *Header) Seal(body []byte) {
	if uint64(len(body)) > MessageSizeMaxLimit-HeaderSize {
		panic("vsr: Seal: body larger than the size field can express")
	}
	var b [HeaderSize]byte
	h.Protocol = ProtocolVersion
	h.Size = uint32(HeaderSize + len(body))
	h.ChecksumBody = Checksum(body)
	h.put(b[:])
	h.Checksum = Checksum(b[offChecksumBody:])
	assert(h.Size >= HeaderSize, "a sealed message holds its header")
}

// Encode validates h, seals it for body (setting Protocol, Size and both
// checksums in h) and writes the message into dst. It returns the number of
// bytes written, HeaderSize+len(body). It never allocates.
func Encode(dst []byte, h *Header, body []byte) (int, error) {
	size := uint64(HeaderSize) + uint64(len(body))
	if size > MessageSizeMaxLimit {
		return 0, &MessageError{Check: CheckSize, Value: size, Limit: MessageSizeMaxLimit}
	}
	if uint64(len(dst)) < size {
		return 0, &MessageError{Check: CheckLength, Value: uint64(len(dst)), Limit: size}
	}
	h.Protocol = ProtocolVersion
	h.Size = uint32(size)
	if err := h.Validate(); err != nil {
		return 0, err
	}
	encodeUnchecked(dst, h, body)
	assert(h.Size == uint32(size), "an encoded message has the size its header says")
	return int(size), nil
}

// encodeUnchecked seals h for body and writes header and body into dst
// without checking field rules. Size and Protocol are taken from h as they
// are, so tests can build messages that break any rule after the checksums.
func encodeUnchecked(dst []byte, h *Header, body []byte) {
	assert(len(dst) >= HeaderSize+len(body), "an encoded message fits its buffer")
	copy(dst[HeaderSize:], body)
	h.ChecksumBody = Checksum(body)
	h.put(dst)
	h.Checksum = Checksum(dst[offChecksumBody:HeaderSize])
	putU128(dst[offChecksum:], h.Checksum)
}

// Decode validates the message at the start of buf and returns its header
// and body. The body aliases buf. Bytes past Size are ignored, so a caller
// may pass a larger receive buffer.
//
// The checks run in this order, and the first failure is returned as a
// *MessageError naming it: length ≥ HeaderSize, header checksum, protocol
// version, known command, size within [HeaderSize, sizeMax] and ≤ len(buf),
// reserved bytes zero, body checksum, per-command field rules. Decode never
// panics and never reads past buf, whatever buf holds.
func Decode(buf []byte, sizeMax uint32) (Header, []byte, error) {
	var h Header
	if err := decodeHeader(buf, &h); err != nil {
		return h, nil, err
	}
	if h.Size < HeaderSize || h.Size > sizeMax {
		return h, nil, &MessageError{Check: CheckSize, Command: h.Command,
			Value: uint64(h.Size), Limit: uint64(sizeMax)}
	}
	if uint64(h.Size) > uint64(len(buf)) {
		return h, nil, &MessageError{Check: CheckSize, Command: h.Command, Field: "buffer",
			Value: uint64(h.Size), Limit: uint64(len(buf))}
	}
	if off := reservedNonZero(buf); off >= 0 {
		return h, nil, &MessageError{Check: CheckReserved, Command: h.Command, Value: uint64(off)}
	}
	body := buf[HeaderSize:h.Size]
	if sum := Checksum(body); sum != h.ChecksumBody {
		return h, nil, &MessageError{Check: CheckBodyChecksum, Command: h.Command,
			Got: sum, Want: h.ChecksumBody}
	}
	if err := h.Validate(); err != nil {
		return h, nil, err
	}
	assert(len(body) == int(h.Size)-HeaderSize, "a decoded body is the message after its header")
	return h, body, nil
}

// DecodeHeader validates a header on its own, as stored in a journal's
// headers ring or carried in the body of a headers message: header checksum,
// protocol, command, size ≥ HeaderSize, reserved bytes and field rules. The
// body checksum cannot be checked without the body.
func DecodeHeader(b []byte) (Header, error) {
	var h Header
	if err := decodeHeader(b, &h); err != nil {
		return h, err
	}
	if h.Size < HeaderSize {
		return h, &MessageError{Check: CheckSize, Command: h.Command,
			Value: uint64(h.Size), Limit: HeaderSize}
	}
	if off := reservedNonZero(b); off >= 0 {
		return h, &MessageError{Check: CheckReserved, Command: h.Command, Value: uint64(off)}
	}
	if err := h.Validate(); err != nil {
		return h, err
	}
	assert(h.Command.Valid(), "a decoded header has a command of the protocol")
	return h, nil
}

// decodeHeader runs the checks shared by Decode and DecodeHeader: length,
// header checksum, protocol version, known command.
func decodeHeader(buf []byte, h *Header) error {
	if len(buf) < HeaderSize {
		return &MessageError{Check: CheckLength, Value: uint64(len(buf)), Limit: HeaderSize}
	}
	h.parse(buf)
	if sum := Checksum(buf[offChecksumBody:HeaderSize]); sum != h.Checksum {
		return &MessageError{Check: CheckHeaderChecksum, Got: sum, Want: h.Checksum}
	}
	if h.Protocol != ProtocolVersion {
		return &MessageError{Check: CheckProtocol, Value: uint64(h.Protocol), Limit: ProtocolVersion}
	}
	if !h.Command.Valid() {
		return &MessageError{Check: CheckCommand, Value: uint64(h.Command)}
	}
	return nil
}

// PutHeader writes h exactly as it is, checksums included, into b[:HeaderSize].
// Use it to copy an already sealed header (a prepare's, into a headers body or
// the journal's headers ring).
func PutHeader(b []byte, h *Header) {
	assert(len(b) >= HeaderSize, "PutHeader into a buffer of a header at least")
	h.put(b)
}
