package vsr

import "testing"

// sessionsAfter opens a session per client in order (registered at op
// 10+i) and records one reply with body for each, as execution would.
func sessionsAfter(clients []uint64, body []byte) clientTable {
	t := newClientTable(4, 1<<12, nil)
	for i, c := range clients {
		s, _ := t.open(U128{Lo: c}, uint64(10+i))
		h := Header{Command: CommandReply, Cluster: U128{Lo: 1}, Client: s.client, Request: 1, Op: uint64(10 + i), Commit: uint64(10 + i)}
		n, err := Encode(s.replyBuf, &h, body)
		if err != nil {
			panic(err)
		}
		s.reply, s.request, s.lastOp = s.replyBuf[:n], 1, uint64(10+i)
		t.touch(s)
	}
	return t
}

func TestSessionsDigest(t *testing.T) {
	a := sessionsAfter([]uint64{1, 2, 3}, []byte("ok"))
	if a.digest.IsZero() {
		t.Fatal("three sessions digest to zero")
	}
	if b := sessionsAfter([]uint64{1, 2, 3}, []byte("ok")); b.digest != a.digest {
		t.Fatal("the same sessions digest differently")
	}
	if b := sessionsAfter([]uint64{1, 2, 3}, []byte("no")); b.digest == a.digest {
		t.Fatal("a different cached reply leaves the digest unchanged")
	}
	// A checkpoint restored elsewhere (state transfer) gives the same digest.
	restored := newClientTable(4, 1<<12, nil)
	if err := restored.restore(a.appendTo(nil), a.count()); err != nil {
		t.Fatal(err)
	}
	if restored.digest != a.digest {
		t.Fatalf("restored sessions digest %s, original %s", restored.digest, a.digest)
	}
	// Evicting a session takes it out of the digest: five clients through
	// four sessions leave clients 2 to 5, however the table got there.
	evicted := sessionsAfter([]uint64{1, 2, 3, 4, 5}, []byte("ok"))
	direct := newClientTable(4, 1<<12, nil)
	for i, c := range []uint64{2, 3, 4, 5} {
		s, _ := direct.open(U128{Lo: c}, uint64(11+i))
		*s = evicted.sessions[evicted.index[U128{Lo: c}]]
		s.digest = U128{}
		direct.touch(s)
	}
	if direct.digest != evicted.digest {
		t.Fatalf("after an eviction the digest is %s, the remaining sessions' %s", evicted.digest, direct.digest)
	}
}
