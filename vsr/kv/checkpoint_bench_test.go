package kv

import (
	"fmt"
	"testing"

	"github.com/govsr/govsr/vsr"
)

// benchBus and benchRandom stand in for a network and a seed in a
// one-replica cluster driven by hand.
type benchBus struct{ replies int }

func (b *benchBus) SendToReplica(uint8, []byte)   {}
func (b *benchBus) SendToClient(vsr.U128, []byte) { b.replies++ }
func (benchRandom) Uint64() uint64                { return 4 }

type benchRandom struct{}

// benchReplica is a one-replica cluster whose state machine holds keys
// keys of 16 bytes with 64-byte values, checkpointing after every op.
type benchReplica struct {
	replica *vsr.Replica
	storage *vsr.MemoryStorage
	ids     []uint64
	bus     *benchBus
	opts    vsr.Options
	request uint32
	client  vsr.U128
}

func newBenchReplica(b *testing.B, keys int) *benchReplica {
	store, err := New(Options{KeysMax: keys, KeySizeMax: 16, ValueSizeMax: 64})
	if err != nil {
		b.Fatal(err)
	}
	out := make([]byte, 128)
	for i := range keys {
		in, _ := EncodeWrite(nil, []byte(fmt.Sprintf("key-%011d", i)), []byte(fmt.Sprintf("%064d", i)))
		store.Apply(1, 0, OperationWrite, in, out)
	}
	o := vsr.DefaultOptions(vsr.U128{Lo: 1}, 0, 1)
	o.JournalSlots, o.CheckpointInterval, o.ClientsMax, o.PipelineMax = 16, 1, 4, 2
	o.CheckpointSizeMax = vsr.CheckpointSizeFor(o.ClientsMax, o.MessageSizeMax, store.SnapshotSizeMax())
	br := &benchReplica{bus: &benchBus{}, opts: o, client: vsr.U128{Lo: 9}}
	br.storage = vsr.NewMemoryStorage(benchRandom{}, vsr.MemoryFaults{})
	br.storage.OnSubmit = func(id uint64) { br.ids = append(br.ids, id) }
	sectors, err := vsr.FormatDataFile(o)
	if err != nil {
		b.Fatal(err)
	}
	br.storage.Load(sectors)
	br.replica, err = vsr.NewReplica(o, vsr.Env{Bus: br.bus, Storage: br.storage, StateMachine: store, Random: benchRandom{}})
	if err != nil {
		b.Fatal(err)
	}
	br.send(vsr.OperationRegister, nil)
	return br
}

// send submits one request and completes every I/O it causes.
func (br *benchReplica) send(operation vsr.Operation, input []byte) {
	h := vsr.Header{Command: vsr.CommandRequest, Cluster: br.opts.Cluster, Client: br.client,
		Request: br.request, Operation: operation}
	br.request++
	buf := make([]byte, vsr.HeaderSize+len(input))
	if _, err := vsr.Encode(buf, &h, input); err != nil {
		panic(err)
	}
	br.replica.Receive(buf)
	for len(br.ids) > 0 {
		id := br.ids[0]
		br.ids = br.ids[1:]
		if tag, err, ok := br.storage.Complete(id); ok {
			br.replica.StorageDone(tag, err)
		}
	}
}

// BenchmarkCheckpoint100k measures a replica's checkpoint of a 100,000-key
// store: each op is one write, executed, then checkpointed (snapshot,
// client table, checksum, write, superblock). Reports the checkpoint size.
// Run: go test ./vsr/kv -run '^$' -bench Checkpoint100k -count 6
func BenchmarkCheckpoint100k(b *testing.B) {
	br := newBenchReplica(b, 100_000)
	input, _ := EncodeWrite(nil, []byte("key-00000000007"), []byte("changed"))
	before, _ := br.replica.DurableCheckpoint()
	for b.Loop() {
		br.send(OperationWrite, input)
	}
	after, size := br.replica.DurableCheckpoint()
	if after <= before || size < 8_000_000 {
		b.Fatalf("checkpoint op %d → %d, %d bytes: the loop did not checkpoint the store", before, after, size)
	}
	b.ReportMetric(float64(size), "checkpoint-bytes")
}

// BenchmarkOpen100k measures restarting a replica whose checkpoint holds a
// 100,000-key store: read the superblock, the journal and the checkpoint,
// verify and restore it.
func BenchmarkOpen100k(b *testing.B) {
	br := newBenchReplica(b, 100_000)
	input, _ := EncodeWrite(nil, []byte("key-00000000007"), []byte("changed"))
	br.send(OperationWrite, input)
	want := br.replica.Digest()
	for b.Loop() {
		store, _ := New(Options{KeysMax: 100_000, KeySizeMax: 16, ValueSizeMax: 64})
		st := br.storage.Clone(benchRandom{})
		var ids []uint64
		st.OnSubmit = func(id uint64) { ids = append(ids, id) }
		r, err := vsr.OpenReplica(br.opts, vsr.Env{Bus: br.bus, Storage: st, StateMachine: store, Random: benchRandom{}})
		if err != nil {
			b.Fatal(err)
		}
		for len(ids) > 0 {
			id := ids[0]
			ids = ids[1:]
			if tag, err, ok := st.Complete(id); ok {
				r.StorageDone(tag, err)
			}
		}
		if r.Opening() || r.Digest() != want {
			b.Fatalf("reopened replica: opening %v, digest %s want %s", r.Opening(), r.Digest(), want)
		}
	}
}
