// Package kv is the example state machine of govsr: a bounded key-value
// store with read, write and compare-and-set, replicated by package vsr.
//
// [Store] implements [vsr.StateMachine]. Clients encode requests with
// [EncodeRead], [EncodeWrite] and [EncodeCAS] and decode what comes back
// with [DecodeReply]; encoding.go documents the byte layouts and
// snapshot.go the snapshot format.
//
// Every replica runs the same Store over the same committed ops, so the
// store is deterministic to the byte: nothing reads a clock or a random
// source, and map iteration order never reaches anything visible (the
// snapshot lists entries in pages placed by the order of the writes, and
// the digest is an order-independent sum).
// Memory is bounded by [Options]: a write of a new key into a full store
// is answered [StatusFull], never grown into.
package kv

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"

	"github.com/govsr/govsr/vsr"
)

// The operations of the store. Values below vsr.OperationUserMin belong to
// the protocol.
const (
	OperationRead  = vsr.OperationUserMin     // read(key) → ok + value | not_found
	OperationWrite = vsr.OperationUserMin + 1 // write(key, value) → ok | full
	OperationCAS   = vsr.OperationUserMin + 2 // cas(key, from, to) → ok | mismatch + current value | not_found
)

// Defaults for a zero field of Options.
//
// A 64-byte key holds a UUID, a hash or a short path; a 1 KiB value holds a
// small record, keeps a reply (ValueSizeMax+5 bytes) and the largest cas
// input (2 values) well inside one message body, and keeps a replica's reply
// buffer small. 65,536 keys of that size are at most ~68 MiB of payload, so
// a full store's snapshot (SnapshotSizeMax) still fits a checkpoint a
// replica can hold in memory, six times over in one simulator process. The
// map only allocates what is written, so small workloads pay nothing for
// the bound.
const (
	KeysMaxDefault      = 1 << 16
	KeySizeMaxDefault   = 64
	ValueSizeMaxDefault = 1 << 10
)

// Limits of Options, set by the encodings: key lengths are u16, and the
// snapshot's counts and value lengths are u32. ValueSizeMaxLimit and
// KeysMaxLimit are far below what u32 allows so that a full store's
// snapshot size stays a modest 64-bit number.
const (
	KeysMaxLimit      = 1 << 24
	KeySizeMaxLimit   = math.MaxUint16
	ValueSizeMaxLimit = 1 << 24
)

// Options bound a Store. A zero field takes its default.
type Options struct {
	KeysMax      int // most keys the store holds (default KeysMaxDefault)
	KeySizeMax   int // longest key, in bytes; keys are never empty (default KeySizeMaxDefault)
	ValueSizeMax int // longest value, in bytes; values may be empty (default ValueSizeMaxDefault)
}

// normalized returns o with defaults filled in, or an error naming the
// first field out of range.
func (o Options) normalized() (Options, error) {
	fields := []struct {
		name  string
		value *int
		def   int
		limit int
	}{
		{"KeysMax", &o.KeysMax, KeysMaxDefault, KeysMaxLimit},
		{"KeySizeMax", &o.KeySizeMax, KeySizeMaxDefault, KeySizeMaxLimit},
		{"ValueSizeMax", &o.ValueSizeMax, ValueSizeMaxDefault, ValueSizeMaxLimit},
	}
	for _, f := range fields {
		if *f.value == 0 {
			*f.value = f.def
		}
		if *f.value < 1 || *f.value > f.limit {
			return Options{}, fmt.Errorf("kv: options: %s is %d, want 0 (default %d) or 1..%d",
				f.name, *f.value, f.def, f.limit)
		}
	}
	if size := o.snapshotSizeMax(); size > math.MaxInt {
		return Options{}, fmt.Errorf("kv: options: a full store's snapshot would be %d bytes, more than an int holds", size)
	}
	return o, nil
}

// snapshotSizeMax bounds the snapshot of a store with options o: the
// header page and as many data pages as KeysMax keys of the largest sizes
// may spread over (pages.go), in uint64 so that it cannot overflow.
func (o Options) snapshotSizeMax() uint64 {
	return pageSizeFor(o) * (1 + dataPagesMax(o))
}

// entry holds one value. The map points at entries so that an overwrite
// updates the value in place, without re-inserting (and re-allocating) the
// key.
type entry struct {
	value []byte
	page  int32 // index of the data page holding the entry (pages.go)
}

// Store is the key-value state machine; create one with New. It is not
// safe for concurrent use: a replica drives it from one goroutine.
type Store struct {
	options Options // normalized: no zero fields
	entries map[string]*entry

	// sum is the sum, mod 2^128, of entryHash over every entry: an
	// order-independent digest kept up to date by every write.
	sum vsr.U128

	// payload is the sum of len(key)+len(value) over every entry, so that
	// AppendSnapshot can size its output in O(1).
	payload int

	// opLast is the op of the last Apply, to assert that ops increase.
	// Restore resets it: a restored store has not applied anything yet.
	opLast uint64

	// scratch holds one entry's encoding while it is hashed; it is
	// allocated at New with room for the largest entry.
	scratch []byte

	// pages hold every entry, in the order the snapshot lists them
	// (pages.go); pageSize is the size of a snapshot page.
	pages    []dataPage
	pageSize int

	// stamps[i] is the generation in which snapshot page i last changed
	// (page 0 is the header, page i+1 data page i); gen is the current
	// generation. A snapshot ends a generation and returns its number as
	// its mark, so the pages changed since a snapshot are those stamped
	// after its mark.
	stamps []uint64
	gen    uint64

	// sums[i] is vsr.PageChecksum of snapshot page i as of generation
	// sumsGen, the last snapshot's, and pagesSum their sum over the data
	// pages: a snapshot rehashes only the pages stamped after sumsGen.
	sums     []vsr.U128
	pagesSum vsr.U128
	sumsGen  uint64
}

// keyed is an entry with its key (the map's own string).
type keyed struct {
	key string
	e   *entry
}

var _ vsr.StateMachine = (*Store)(nil)

// New returns an empty store bounded by options, or an error naming the
// first option out of range.
func New(options Options) (*Store, error) {
	o, err := options.normalized()
	if err != nil {
		return nil, err
	}
	return &Store{
		options:  o,
		entries:  make(map[string]*entry),
		scratch:  make([]byte, 0, entryHeaderSize+o.KeySizeMax+o.ValueSizeMax),
		pageSize: int(pageSizeFor(o)),
		stamps:   []uint64{1},
		sums:     []vsr.U128{{}},
		gen:      1,
	}, nil
}

// Options returns the store's options, defaults filled in.
func (s *Store) Options() Options { return s.options }

// Len returns the number of keys in the store.
func (s *Store) Len() int { return len(s.entries) }

// ReplySizeMax is the largest reply Apply writes: an output buffer of this
// size always holds the reply.
func (s *Store) ReplySizeMax() int { return replyHeaderSize + s.options.ValueSizeMax }

// InputSizeMax is the largest input InputValid accepts (a cas with the
// largest key and values).
func (s *Store) InputSizeMax() int {
	return casHeaderSize + s.options.KeySizeMax + 2*s.options.ValueSizeMax
}

// SnapshotSizeMax bounds the size of a snapshot of the store (a full store
// holding the largest keys and values, its pages as loose as they may
// get): a bound for checkpoint buffers.
func (s *Store) SnapshotSizeMax() int { return int(s.options.snapshotSizeMax()) }

// Apply executes one committed operation and writes its reply into output.
// Input that InputValid would refuse gets a StatusInvalid reply and changes
// nothing: a backup applies whatever was committed and must never panic on
// it. The timestamp is not used; op must not be smaller than at the
// previous Apply (the requests batched in one prepare share its op), which
// the replica guarantees (violating that panics).
//
// If the reply does not fit in output, which cannot happen when
// len(output) >= ReplySizeMax, the reply is StatusInvalid alone (the
// operation has still been applied: only reads and cas mismatches carry a
// value, and neither changes the store). output must hold at least one byte.
func (s *Store) Apply(op uint64, timestamp uint64, operation vsr.Operation, input []byte, output []byte) int {
	if op == 0 || op < s.opLast {
		panic(fmt.Sprintf("kv: Apply op %d after op %d: ops start at 1 and never decrease", op, s.opLast))
	}
	if len(output) < replyHeaderSizeMin {
		panic(fmt.Sprintf("kv: Apply output is %d bytes, no room for a status", len(output)))
	}
	s.opLast = op
	req, f := s.options.parse(operation, input)
	if f.kind != faultNone {
		return putReply(output, StatusInvalid, nil, false)
	}
	switch operation {
	case OperationRead:
		status, value := s.read(req.key)
		return putReply(output, status, value, status == StatusOK)
	case OperationWrite:
		return putReply(output, s.write(req.key, req.value), nil, false)
	case OperationCAS:
		status, current := s.cas(req.key, req.from, req.to)
		return putReply(output, status, current, status == StatusMismatch)
	}
	panic(fmt.Sprintf("kv: parse accepted unknown operation %d", operation))
}

func (s *Store) read(key []byte) (Status, []byte) {
	e := s.entries[string(key)]
	if e == nil {
		return StatusNotFound, nil
	}
	return StatusOK, e.value
}

// write sets key to value. A new key needs room under KeysMax; an existing
// key is always overwritten.
func (s *Store) write(key, value []byte) Status {
	if e := s.entries[string(key)]; e != nil {
		s.set(key, e, value)
		return StatusOK
	}
	if len(s.entries) >= s.options.KeysMax {
		return StatusFull
	}
	e := &entry{value: make([]byte, len(value))}
	copy(e.value, value)
	k := string(key)
	s.entries[k] = e
	s.place(keyed{k, e})
	s.join(key, e)
	s.maybeCompact()
	if len(s.entries) > s.options.KeysMax {
		panic(fmt.Sprintf("kv: %d keys, more than KeysMax %d", len(s.entries), s.options.KeysMax))
	}
	return StatusOK
}

// cas sets key to to if it holds from, and otherwise returns what it holds.
func (s *Store) cas(key, from, to []byte) (Status, []byte) {
	e := s.entries[string(key)]
	if e == nil {
		return StatusNotFound, nil
	}
	if string(e.value) != string(from) {
		return StatusMismatch, e.value
	}
	s.set(key, e, to)
	return StatusOK, nil
}

// set replaces the value of an entry already in the map: the entry leaves
// the digest and payload with its old value and joins with the new one.
func (s *Store) set(key []byte, e *entry, value []byte) {
	s.leave(key, e)
	oldSize := entryHeaderSize + len(key) + len(e.value)
	if cap(e.value) >= len(value) {
		// Reuse the old buffer: nothing outside the store aliases it
		// (replies and snapshots copy values out).
		e.value = e.value[:len(value)]
	} else {
		e.value = make([]byte, len(value))
	}
	copy(e.value, value)
	s.resize(key, e, oldSize)
	s.join(key, e)
	s.maybeCompact()
}

// join adds an entry to the digest sum and the payload count; leave takes
// it out again. Every change of the map goes through them.
func (s *Store) join(key []byte, e *entry) {
	s.sum = add128(s.sum, s.entryHash(key, e.value))
	s.payload += len(key) + len(e.value)
}

func (s *Store) leave(key []byte, e *entry) {
	s.sum = sub128(s.sum, s.entryHash(key, e.value))
	s.payload -= len(key) + len(e.value)
}

// Digest returns a checksum of the whole state in O(1): the running sum of
// per-entry hashes, hashed once more so that the empty store's digest is
// not zero (zero reads as "no digest" elsewhere) and so that the digest
// does not expose the sum's linearity.
func (s *Store) Digest() vsr.U128 {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[0:8], s.sum.Lo)
	binary.LittleEndian.PutUint64(b[8:16], s.sum.Hi)
	return vsr.Checksum(b[:])
}

// entryHash is the checksum of one entry in its snapshot encoding (u16 key
// length, u32 value length, key, value). The length prefix keeps ("ab", "c")
// and ("a", "bc") apart; hashing the snapshot encoding lets Restore hash
// entries straight from the snapshot bytes.
func (s *Store) entryHash(key, value []byte) vsr.U128 {
	b := appendEntry(s.scratch[:0], key, value)
	if cap(b) != cap(s.scratch) {
		panic(fmt.Sprintf("kv: entry of %d+%d bytes outgrew the scratch buffer", len(key), len(value)))
	}
	return vsr.Checksum(b)
}

// add128 and sub128 are arithmetic mod 2^128, which makes the digest a sum
// that entries can leave as easily as they join.
func add128(a, b vsr.U128) vsr.U128 {
	lo, carry := bits.Add64(a.Lo, b.Lo, 0)
	hi, _ := bits.Add64(a.Hi, b.Hi, carry)
	return vsr.U128{Lo: lo, Hi: hi}
}

func sub128(a, b vsr.U128) vsr.U128 {
	lo, borrow := bits.Sub64(a.Lo, b.Lo, 0)
	hi, _ := bits.Sub64(a.Hi, b.Hi, borrow)
	return vsr.U128{Lo: lo, Hi: hi}
}
