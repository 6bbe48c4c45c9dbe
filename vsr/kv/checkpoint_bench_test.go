package kv

import (
	"fmt"
	"testing"

	"github.com/govsr/govsr/vsr"
)

// benchBus and benchRandom stand in for a network and a seed in a
// one-replica cluster driven by hand.
type benchBus struct {
	replies int
	op      uint64 // of the last reply: a register's is the session
}

func (b *benchBus) SendToReplica(uint8, []byte) {}
func (b *benchBus) SendToClient(_ vsr.U128, msg []byte) {
	b.replies++
	if h, err := vsr.DecodeHeader(msg[:vsr.HeaderSize]); err == nil {
		b.op = h.Op
	}
}
func (benchRandom) Uint64() uint64 { return 4 }

type benchRandom struct{}

// countingStorage counts the bytes written to the checkpoint areas.
type countingStorage struct {
	*vsr.MemoryStorage
	layout          vsr.Layout
	checkpointBytes int
}

func (c *countingStorage) Write(offset uint64, data []byte, tag uint64) {
	if offset >= c.layout.CheckpointOffset {
		c.checkpointBytes += len(data)
	}
	c.MemoryStorage.Write(offset, data, tag)
}

// benchReplica is a one-replica cluster whose state machine holds keys
// keys of 16 bytes with 64-byte values, checkpointing after every op.
type benchReplica struct {
	replica *vsr.Replica
	storage *vsr.MemoryStorage
	counter *countingStorage
	ids     []uint64
	bus     *benchBus
	opts    vsr.Options
	request uint32
	session uint64
	client  vsr.U128
}

func newBenchReplica(b testing.TB, keys int) *benchReplica {
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
	br.counter = &countingStorage{MemoryStorage: br.storage, layout: vsr.NewLayout(o)}
	br.replica, err = vsr.NewReplica(o, vsr.Env{Bus: br.bus, Storage: br.counter, StateMachine: store, Random: benchRandom{}})
	if err != nil {
		b.Fatal(err)
	}
	br.send(vsr.OperationRegister, nil)
	br.session = br.bus.op
	return br
}

// send submits one request and completes every I/O it causes.
func (br *benchReplica) send(operation vsr.Operation, input []byte) {
	br.request++
	h := vsr.Header{Command: vsr.CommandRequest, Cluster: br.opts.Cluster, Client: br.client,
		Request: br.request, Operation: operation, Session: br.session, View: br.replica.View()}
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
		if r := reopen(b, br, 100_000); r.Digest() != want {
			b.Fatalf("reopened replica: digest %s want %s", r.Digest(), want)
		}
	}
}

// BenchmarkCheckpointBySize measures one write and the checkpoint after it
// in stores of growing size: each op overwrites one key, so what changed
// is the same at every size. Reports the checkpoint's size and the bytes
// written to the checkpoint areas per op, once each area holds a
// checkpoint.
// Run: go test ./vsr/kv -run '^$' -bench CheckpointBySize -count 3
func BenchmarkCheckpointBySize(b *testing.B) {
	for _, keys := range []int{10_000, 100_000, 400_000} {
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) {
			br := newBenchReplica(b, keys)
			ops, written := 0, 0
			write := func() {
				key := fmt.Sprintf("key-%011d", ops*7919%keys)
				input, _ := EncodeWrite(nil, []byte(key), []byte(fmt.Sprintf("changed-%d", ops)))
				before := br.counter.checkpointBytes
				br.send(OperationWrite, input)
				written += br.counter.checkpointBytes - before
				ops++
			}
			write() // each area's first checkpoint is written whole: not measured
			write()
			ops, written = 0, 0
			for b.Loop() {
				write()
			}
			_, size := br.replica.DurableCheckpoint()
			b.ReportMetric(float64(size), "checkpoint-bytes")
			b.ReportMetric(float64(written)/float64(ops), "written-bytes/op")
		})
	}
}
