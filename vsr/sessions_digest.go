package vsr

// The client table is replicated state as much as the state machine is: a
// replica that agrees on the store but not on a session (its latest
// request, its cached reply) answers a retry differently, or executes it
// again. So the state digest replicas compare covers both. Each session
// keeps a digest of its fields; the table keeps the XOR of its sessions'
// digests, updated whenever a session changes, so the digest after every
// op costs one session's checksum per executed request, not one per
// session.

// sessionDigestSize is what a session's digest covers: client, session,
// request, last op, request checksum and the checksum of the cached reply
// (built from the prepare alone, so the same bytes on every replica).
const sessionDigestSize = 16 + 8 + 4 + 8 + 16 + 16

func (s *session) computeDigest() U128 {
	var b [sessionDigestSize]byte
	putU128(b[0:], s.client)
	le.PutUint64(b[16:], s.session)
	le.PutUint32(b[24:], s.request)
	le.PutUint64(b[28:], s.lastOp)
	putU128(b[36:], s.requestChecksum)
	assert(s.inUse, "a session's digest is of a session in use")
	assert(len(s.reply) == 0 || len(s.reply) >= HeaderSize, "a cached reply is a whole message")
	if len(s.reply) >= HeaderSize {
		putU128(b[52:], getU128(s.reply[offChecksum:]))
	}
	return Checksum(b[:])
}

func xorU128(a, b U128) U128 { return U128{Lo: a.Lo ^ b.Lo, Hi: a.Hi ^ b.Hi} }

// touch folds a changed session back into the table's digest.
func (t *clientTable) touch(s *session) {
	assert(s.inUse, "client table: touch of a session in use")
	assert(t.get(s.client) == s, "client table: touch of a session the table indexes")
	t.digest = xorU128(t.digest, s.digest)
	s.digest = s.computeDigest()
	t.digest = xorU128(t.digest, s.digest)
}

// forget takes a session that is leaving the table out of its digest.
func (t *clientTable) forget(s *session) {
	assert(s.inUse, "client table: forget of a session in use")
	t.digest = xorU128(t.digest, s.digest)
	s.digest = U128{}
}

// recomputeDigest rebuilds the table's digest from every session (after a
// checkpoint is restored).
func (t *clientTable) recomputeDigest() {
	t.digest = U128{}
	for i := range t.sessions {
		s := &t.sessions[i]
		s.digest = U128{}
		if s.inUse {
			t.touch(s)
		}
	}
	assert(t.count() > 0 || t.digest.IsZero(), "an empty table's digest is zero")
}

// stateDigest is the digest of the replicated state: the state machine's
// and the client table's.
func (r *Replica) stateDigest() U128 {
	var b [32]byte
	putU128(b[0:], r.machine.Digest())
	putU128(b[16:], r.clients.digest)
	return Checksum(b[:])
}
