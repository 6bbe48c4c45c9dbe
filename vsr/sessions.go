package vsr

import (
	"encoding/binary"
	"fmt"
)

var le = binary.LittleEndian

// clientTable holds one session per registered client: the latest request
// number it executed and the reply it got, so a retried request is answered
// from the cache and never executed twice. It is part of the replicated
// state: every replica changes it only while executing committed ops, in op
// order, so all replicas agree on it (and on whom it evicts).
type clientTable struct {
	sessions []session
	index    map[U128]int // client id → position in sessions; lookups only, never iterated
	digest   U128         // XOR of the sessions' digests (sessions_digest.go)
}

type session struct {
	client          U128
	session         uint64 // op of the register that opened (or last renewed) it
	request         uint32 // latest request number executed, registers included
	requestChecksum U128   // checksum of that request
	lastOp          uint64 // op at which that request executed: the least recent is evicted first
	reply           []byte // encoded reply to that request; aliases replyBuf
	replyBuf        []byte // MessageSizeMax bytes, allocated at start
	inUse           bool
	digest          U128 // of the fields above, as last folded into the table's digest
}

func newClientTable(clientsMax int, messageSizeMax uint32, buffers *Buffers) clientTable {
	assert(clientsMax > 0, "a client table holds at least one session")
	t := clientTable{sessions: make([]session, clientsMax), index: make(map[U128]int, clientsMax)}
	for i := range t.sessions {
		t.sessions[i].replyBuf = buffers.makeWrittenFirst(int(messageSizeMax))
	}
	return t
}

// get returns the session of client, or nil.
func (t *clientTable) get(client U128) *session {
	i, ok := t.index[client]
	if !ok {
		return nil
	}
	s := &t.sessions[i]
	assert(s.inUse, "an indexed session is in use")
	assert(s.client == client, "the index names the session's own client")
	return s
}

// open starts a session for client, registered at op. If the table is full
// the session with the oldest latest request is evicted and returned as
// evicted (a copy; zero client otherwise).
func (t *clientTable) open(client U128, op uint64) (s *session, evicted session) {
	assert(!client.IsZero(), "a session names its client")
	assert(t.get(client) == nil, "open of a client without a session")
	free := -1
	for i := range t.sessions {
		if !t.sessions[i].inUse {
			free = i
			break
		}
	}
	if free < 0 {
		assert(t.count() == len(t.sessions), "a table without a free session is full")
		free = t.oldest()
		evicted = t.sessions[free]
		delete(t.index, evicted.client)
		t.forget(&t.sessions[free])
	}
	s = &t.sessions[free]
	s.client, s.session, s.request, s.lastOp, s.inUse = client, op, 0, op, true
	s.reply = s.replyBuf[:0]
	t.index[client] = free
	assert(t.count() <= len(t.sessions), "the index names no more clients than the table holds")
	return s, evicted
}

// oldest returns the position of the session whose latest request executed
// first. Ops are unique, so there are no ties.
func (t *clientTable) oldest() int {
	best := 0
	for i := range t.sessions {
		assert(t.sessions[i].inUse, "eviction only from a full table")
		if t.sessions[i].lastOp < t.sessions[best].lastOp {
			best = i
		}
	}
	return best
}

// count returns the number of open sessions.
func (t *clientTable) count() int { return len(t.index) }

// sessionRecordSize is a session's fixed part in a checkpoint: client,
// session, request, last op, request checksum, reply length.
const sessionRecordSize = 16 + 8 + 4 + 8 + 16 + 4

// appendTo appends the open sessions, in table order, to dst. The order is
// the same on every replica: the table changes only at execution.
func (t *clientTable) appendTo(dst []byte) []byte {
	for i := range t.sessions {
		s := &t.sessions[i]
		if !s.inUse {
			continue
		}
		assert(!s.client.IsZero(), "a session in use names its client")
		assert(len(s.reply) <= len(s.replyBuf), "a cached reply fits its buffer")
		var rec [sessionRecordSize]byte
		putU128(rec[0:], s.client)
		le.PutUint64(rec[16:], s.session)
		le.PutUint32(rec[24:], s.request)
		le.PutUint64(rec[28:], s.lastOp)
		putU128(rec[36:], s.requestChecksum)
		le.PutUint32(rec[52:], uint32(len(s.reply)))
		dst = append(append(dst, rec[:]...), s.reply...)
	}
	return dst
}

// restore replaces the table with count sessions decoded from b, or
// returns what is wrong with b and leaves the table unchanged.
func (t *clientTable) restore(b []byte, count int) error {
	if count > len(t.sessions) {
		return fmt.Errorf("vsr: checkpoint holds %d sessions, more than clients max %d", count, len(t.sessions))
	}
	// Check everything before changing anything.
	seen := make(map[U128]bool, count)
	off := 0
	for range count {
		if len(b)-off < sessionRecordSize {
			return fmt.Errorf("vsr: checkpoint sessions truncated at byte %d", off)
		}
		client := getU128(b[off:])
		n := int(le.Uint32(b[off+52:]))
		if n > len(t.sessions[0].replyBuf) || len(b)-off-sessionRecordSize < n || client.IsZero() || seen[client] {
			return fmt.Errorf("vsr: checkpoint session at byte %d is malformed", off)
		}
		seen[client] = true
		off += sessionRecordSize + n
	}
	if off != len(b) {
		return fmt.Errorf("vsr: checkpoint sessions have %d trailing bytes", len(b)-off)
	}
	clear(t.index)
	for i := range t.sessions {
		t.sessions[i].inUse = false
	}
	off = 0
	for i := range count {
		s := &t.sessions[i]
		s.client, s.session = getU128(b[off:]), le.Uint64(b[off+16:])
		s.request, s.lastOp = le.Uint32(b[off+24:]), le.Uint64(b[off+28:])
		s.requestChecksum = getU128(b[off+36:])
		n := int(le.Uint32(b[off+52:]))
		s.reply = s.replyBuf[:copy(s.replyBuf, b[off+sessionRecordSize:off+sessionRecordSize+n])]
		s.inUse = true
		t.index[s.client] = i
		off += sessionRecordSize + n
	}
	t.recomputeDigest()
	assert(t.count() == count, "the restored table holds every session of the checkpoint")
	return nil
}
