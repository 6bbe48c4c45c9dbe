package kv

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/govsr/govsr/vsr"
)

// Snapshot format
//
// A snapshot is a header, the entries in strictly increasing bytewise key
// order, and a checksum. All integers are little-endian.
//
//	offset  size  field
//	     0     8  magic            "govsr-kv"
//	     8     4  version          snapshotVersion (1)
//	    12     4  keys_max         the Options of the store that took it: a
//	    16     4  key_size_max     store restores only snapshots taken under
//	    20     4  value_size_max   its own bounds, so replicas that disagree
//	                               on them fail loudly instead of diverging
//	    24     4  count            number of entries, at most keys_max
//	    28        entries          count × (u16 key_len, u32 value_len, key, value)
//	   end-16 16  checksum         vsr.Checksum of every byte before it (Lo, Hi)
//
// Sorting makes the bytes a function of the contents alone: two stores with
// the same keys and values produce the same snapshot whatever the order of
// their writes, and Restore followed by AppendSnapshot gives back the input.
const (
	snapshotMagic       = "govsr-kv"
	snapshotVersion     = 1
	snapshotHeaderSize  = 28
	snapshotTrailerSize = 16
)

// snapshotSize is the exact size of the store's snapshot.
func (s *Store) snapshotSize() int {
	return snapshotHeaderSize + len(s.entries)*entryHeaderSize + s.payload + snapshotTrailerSize
}

// AppendSnapshot appends the snapshot of the store to dst (format above).
// It allocates only to grow dst and, while the store grows, its key index.
func (s *Store) AppendSnapshot(dst []byte) []byte {
	sorted := s.sortedEntries()
	start, size := len(dst), s.snapshotSize()
	dst = slices.Grow(dst, size)
	dst = append(dst, snapshotMagic...)
	for _, v := range []int{snapshotVersion, s.options.KeysMax, s.options.KeySizeMax, s.options.ValueSizeMax, len(sorted)} {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(v))
	}
	for _, k := range sorted {
		dst = binary.LittleEndian.AppendUint16(dst, uint16(len(k.key)))
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(k.e.value)))
		dst = append(dst, k.key...)
		dst = append(dst, k.e.value...)
	}
	sum := vsr.Checksum(dst[start:])
	dst = binary.LittleEndian.AppendUint64(dst, sum.Lo)
	dst = binary.LittleEndian.AppendUint64(dst, sum.Hi)
	if len(dst)-start != size {
		panic(fmt.Sprintf("kv: snapshot is %d bytes, sized as %d", len(dst)-start, size))
	}
	return dst
}

// snapshotPlan is what checking a snapshot learns, so that loading it can
// allocate exactly once per kind of thing.
type snapshotPlan struct {
	count      int
	keyBytes   int
	valueBytes int
}

// Restore replaces the contents of the store with a snapshot made by
// AppendSnapshot, or returns an error saying what is wrong with it and
// leaves the store unchanged. The snapshot is checked completely before
// anything is replaced; the digest is then re-derived from the entries.
// The store keeps no reference to snapshot.
func (s *Store) Restore(snapshot []byte) error {
	plan, err := s.checkSnapshot(snapshot)
	if err != nil {
		return err
	}
	s.load(snapshot[snapshotHeaderSize:len(snapshot)-snapshotTrailerSize], plan)
	return nil
}

// checkSnapshot runs every check of Restore without changing anything:
// length, magic, version, checksum, options, count, then each entry.
func (s *Store) checkSnapshot(b []byte) (snapshotPlan, error) {
	if len(b) < snapshotHeaderSize+snapshotTrailerSize {
		return snapshotPlan{}, fmt.Errorf("kv: snapshot is %d bytes, shorter than its %d-byte header and checksum",
			len(b), snapshotHeaderSize+snapshotTrailerSize)
	}
	if magic := b[:len(snapshotMagic)]; string(magic) != snapshotMagic {
		return snapshotPlan{}, fmt.Errorf("kv: snapshot magic is %q, want %q", magic, snapshotMagic)
	}
	u32 := func(off int) uint64 { return uint64(binary.LittleEndian.Uint32(b[off:])) }
	if v := u32(8); v != snapshotVersion {
		return snapshotPlan{}, fmt.Errorf("kv: snapshot format version is %d, want %d", v, snapshotVersion)
	}
	end := len(b) - snapshotTrailerSize
	stored := vsr.U128{Lo: binary.LittleEndian.Uint64(b[end:]), Hi: binary.LittleEndian.Uint64(b[end+8:])}
	if computed := vsr.Checksum(b[:end]); computed != stored {
		return snapshotPlan{}, fmt.Errorf("kv: snapshot checksum: computed %s, stored %s", computed, stored)
	}
	bounds := []struct {
		name string
		off  int
		have int
	}{{"KeysMax", 12, s.options.KeysMax}, {"KeySizeMax", 16, s.options.KeySizeMax}, {"ValueSizeMax", 20, s.options.ValueSizeMax}}
	for _, o := range bounds {
		if v := u32(o.off); v != uint64(o.have) {
			return snapshotPlan{}, fmt.Errorf("kv: snapshot was taken with %s %d, this store has %d", o.name, v, o.have)
		}
	}
	count := u32(24)
	if count > uint64(s.options.KeysMax) {
		return snapshotPlan{}, fmt.Errorf("kv: snapshot holds %d keys, more than KeysMax %d", count, s.options.KeysMax)
	}
	return s.checkEntries(b[snapshotHeaderSize:end], int(count))
}

// checkEntries checks that body holds exactly count entries within the
// store's bounds, in strictly increasing key order. Offsets in errors are
// from the start of the snapshot.
func (s *Store) checkEntries(body []byte, count int) (snapshotPlan, error) {
	plan := snapshotPlan{count: count}
	var prev []byte
	off := 0
	for i := range count {
		at := entryError{index: i, offset: snapshotHeaderSize + off}.errorf
		if len(body)-off < entryHeaderSize {
			return snapshotPlan{}, at("%d bytes left, shorter than an entry header", len(body)-off)
		}
		keyLen := int(binary.LittleEndian.Uint16(body[off:]))
		valueLen := uint64(binary.LittleEndian.Uint32(body[off+2:]))
		switch {
		case keyLen == 0:
			return snapshotPlan{}, at("key is empty")
		case keyLen > s.options.KeySizeMax:
			return snapshotPlan{}, at("key is %d bytes, more than KeySizeMax %d", keyLen, s.options.KeySizeMax)
		case valueLen > uint64(s.options.ValueSizeMax):
			return snapshotPlan{}, at("value is %d bytes, more than ValueSizeMax %d", valueLen, s.options.ValueSizeMax)
		case uint64(len(body)-off-entryHeaderSize) < uint64(keyLen)+valueLen:
			return snapshotPlan{}, at("key and value need %d bytes, %d left: truncated",
				uint64(keyLen)+valueLen, len(body)-off-entryHeaderSize)
		}
		key := body[off+entryHeaderSize : off+entryHeaderSize+keyLen]
		if i > 0 && bytes.Compare(prev, key) >= 0 {
			return snapshotPlan{}, at("key %q is not after the previous key %q: unsorted or duplicate", key, prev)
		}
		prev = key
		off += entryHeaderSize + keyLen + int(valueLen)
		plan.keyBytes += keyLen
		plan.valueBytes += int(valueLen)
	}
	if off != len(body) {
		return snapshotPlan{}, fmt.Errorf("kv: snapshot has %d bytes after its %d entries", len(body)-off, count)
	}
	return plan, nil
}

// entryError prefixes an error about one snapshot entry with where it is.
type entryError struct{ index, offset int }

func (e entryError) errorf(format string, args ...any) error {
	return fmt.Errorf("kv: snapshot entry %d at offset %d: %s", e.index, e.offset, fmt.Sprintf(format, args...))
}

// load replaces the contents with the entries of a checked snapshot body.
// All keys share one string and all values one buffer (each value capped at
// its own length, so growing one reallocates rather than overwrites its
// neighbour): four allocations for any number of entries.
func (s *Store) load(body []byte, plan snapshotPlan) {
	var keys strings.Builder
	keys.Grow(plan.keyBytes)
	for off := 0; off < len(body); {
		key, value := entryAt(body, off)
		keys.Write(key)
		off += entryHeaderSize + len(key) + len(value)
	}
	allKeys := keys.String()
	values := make([]byte, 0, plan.valueBytes)
	entries := make([]entry, plan.count)
	m := make(map[string]*entry, plan.count)
	order := slices.Grow(s.order[:0], plan.count)
	var sum vsr.U128
	keyOff := 0
	for i, off := 0, 0; off < len(body); i++ {
		key, value := entryAt(body, off)
		n := entryHeaderSize + len(key) + len(value)
		sum = add128(sum, vsr.Checksum(body[off:off+n])) // the entry encoding is what entryHash hashes
		start := len(values)
		values = append(values, value...)
		entries[i].value = values[start:len(values):len(values)]
		k := allKeys[keyOff : keyOff+len(key)]
		m[k] = &entries[i]
		order = append(order, keyed{k, &entries[i]})
		keyOff += len(key)
		off += n
	}
	if len(m) != plan.count || keyOff != len(allKeys) || len(values) != plan.valueBytes {
		panic(fmt.Sprintf("kv: loaded %d keys (%d bytes) and %d value bytes, checked %+v", len(m), keyOff, len(values), plan))
	}
	s.entries, s.sum, s.payload, s.opLast = m, sum, plan.keyBytes+plan.valueBytes, 0
	s.order, s.sortedCount = order, len(order) // a snapshot lists its keys sorted
}

// sortedEntries returns every entry in increasing key order: it sorts the
// keys written since the last call and merges them into those already
// sorted.
func (s *Store) sortedEntries() []keyed {
	if len(s.order) != len(s.entries) {
		panic(fmt.Sprintf("kv: key index holds %d keys, the store %d", len(s.order), len(s.entries)))
	}
	if s.sortedCount == len(s.order) {
		return s.order
	}
	byKey := func(a, b keyed) int { return strings.Compare(a.key, b.key) }
	fresh := s.order[s.sortedCount:]
	slices.SortFunc(fresh, byKey)
	merged := slices.Grow(s.mergeBuf[:0], len(s.order))
	old := s.order[:s.sortedCount]
	for len(old) > 0 && len(fresh) > 0 {
		if old[0].key < fresh[0].key { // keys are unique: never equal
			merged, old = append(merged, old[0]), old[1:]
		} else {
			merged, fresh = append(merged, fresh[0]), fresh[1:]
		}
	}
	merged = append(append(merged, old...), fresh...)
	s.order, s.mergeBuf, s.sortedCount = merged, s.order, len(merged)
	return s.order
}

// entryAt returns the key and value of the entry at off of a checked body.
func entryAt(body []byte, off int) (key, value []byte) {
	keyLen := int(binary.LittleEndian.Uint16(body[off:]))
	valueLen := int(binary.LittleEndian.Uint32(body[off+2:]))
	key = body[off+entryHeaderSize : off+entryHeaderSize+keyLen]
	return key, body[off+entryHeaderSize+keyLen : off+entryHeaderSize+keyLen+valueLen]
}
