package vsr

// clientTable holds one session per registered client: the latest request
// number it executed and the reply it got, so a retried request is answered
// from the cache and never executed twice. It is part of the replicated
// state: every replica changes it only while executing committed ops, in op
// order, so all replicas agree on it (and on whom it evicts).
type clientTable struct {
	sessions []session
	index    map[U128]int // client id → position in sessions; lookups only, never iterated
}

type session struct {
	client          U128
	session         uint64 // op of the register that opened it
	request         uint32 // latest request number executed
	requestChecksum U128   // checksum of that request
	lastOp          uint64 // op at which that request executed: the least recent is evicted first
	reply           []byte // encoded reply to that request; aliases replyBuf
	replyBuf        []byte // MessageSizeMax bytes, allocated at start
	inUse           bool
}

func newClientTable(clientsMax int, messageSizeMax uint32) clientTable {
	t := clientTable{sessions: make([]session, clientsMax), index: make(map[U128]int, clientsMax)}
	for i := range t.sessions {
		t.sessions[i].replyBuf = make([]byte, messageSizeMax)
	}
	return t
}

// get returns the session of client, or nil.
func (t *clientTable) get(client U128) *session {
	i, ok := t.index[client]
	if !ok {
		return nil
	}
	return &t.sessions[i]
}

// open starts a session for client, registered at op. If the table is full
// the session with the oldest latest request is evicted and returned as
// evicted (a copy; zero client otherwise).
func (t *clientTable) open(client U128, op uint64) (s *session, evicted session) {
	if t.get(client) != nil {
		panic("vsr: client table: open of an existing session")
	}
	free := -1
	for i := range t.sessions {
		if !t.sessions[i].inUse {
			free = i
			break
		}
	}
	if free < 0 {
		free = t.oldest()
		evicted = t.sessions[free]
		delete(t.index, evicted.client)
	}
	s = &t.sessions[free]
	s.client, s.session, s.request, s.lastOp, s.inUse = client, op, 0, op, true
	s.reply = s.replyBuf[:0]
	t.index[client] = free
	return s, evicted
}

// oldest returns the position of the session whose latest request executed
// first. Ops are unique, so there are no ties.
func (t *clientTable) oldest() int {
	best := 0
	for i := range t.sessions {
		if t.sessions[i].lastOp < t.sessions[best].lastOp {
			best = i
		}
	}
	return best
}

// count returns the number of open sessions.
func (t *clientTable) count() int { return len(t.index) }
