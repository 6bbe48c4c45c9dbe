package kv

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/govsr/govsr/vsr"
)

// Snapshot format
//
// A snapshot is a sequence of pages of the store's page size (a multiple
// of vsr.SectorSize, SnapshotPageSize): a header page, then the data pages
// (pages.go says how entries are placed in them). All integers are
// little-endian; every byte not named below is zero.
//
// Header page:
//
//	offset  size  field
//	     0     8  magic            "govsr-kv"
//	     8     4  version          snapshotVersion (2)
//	    12     4  keys_max         the Options of the store that took it: a
//	    16     4  key_size_max     store restores only snapshots taken under
//	    20     4  value_size_max   its own bounds, so replicas that disagree
//	                               on them fail loudly instead of diverging
//	    24     4  count            number of entries, at most keys_max
//	    28     4  data pages       the snapshot is 1 + data pages pages long
//	    32     4  page size
//	    36    16  pages sum        sum mod 2^128 of vsr.PageChecksum(i, page i)
//	                               over the data pages (i from 1)
//	    52    16  checksum         vsr.Checksum of bytes 0..52 (Lo, Hi)
//
// Data page:
//
//	0     4  entries          number of entries in the page
//	4     4  used             bytes of the entries
//	8        entries          (u16 key_len, u32 value_len, key, value)
//
// The bytes are a function of the contents and of the order of the writes
// that made them (pages.go), which every replica applies alike; a store
// restored from a snapshot takes later writes exactly as the store that
// took it would. The pages sum lets a snapshot rehash only the pages that
// changed since the previous one.
const (
	snapshotMagic      = "govsr-kv"
	snapshotVersion    = 2
	snapshotHeaderSize = 68
	pagesSumOffset     = 36
	headerSumOffset    = 52
)

// SnapshotPageSize is the size of a snapshot page (vsr.PagedStateMachine).
func (s *Store) SnapshotPageSize() int { return s.pageSize }

// SnapshotSize is the size of the store's snapshot now.
func (s *Store) SnapshotSize() int { return (1 + len(s.pages)) * s.pageSize }

var _ vsr.PagedStateMachine = (*Store)(nil)

// AppendSnapshot appends the snapshot of the store to dst (format above).
// It allocates only to grow dst.
func (s *Store) AppendSnapshot(dst []byte) []byte {
	start := len(dst)
	dst = slices.Grow(dst, s.SnapshotSize())
	snap, _, _ := s.update(dst[start:start], 0, nil, false)
	return dst[:start+len(snap)]
}

// UpdateSnapshot brings snapshot, the snapshot as of mark since, up to
// date, rewriting only the pages changed after since (and the header page,
// always), and lists those pages in changed (vsr.PagedStateMachine).
func (s *Store) UpdateSnapshot(snapshot []byte, since uint64, changed []int) ([]byte, []int, uint64) {
	return s.update(snapshot, since, changed, true)
}

func (s *Store) update(snap []byte, since uint64, changed []int, record bool) ([]byte, []int, uint64) {
	if since > s.sumsGen {
		panic(fmt.Sprintf("kv: snapshot update since mark %d, after the last snapshot's %d", since, s.sumsGen))
	}
	size, page := s.SnapshotSize(), s.pageSize
	if cap(snap) < size {
		panic(fmt.Sprintf("kv: snapshot buffer of %d bytes for a %d-byte snapshot", cap(snap), size))
	}
	valid := len(snap) // pages wholly inside it hold the snapshot as of since
	snap = snap[:size]
	if record {
		changed = append(changed, 0)
	}
	for i := range s.pages {
		index := 1 + i
		b := snap[index*page : (index+1)*page]
		if s.stamps[index] <= since && (index+1)*page <= valid {
			continue
		}
		s.encodePage(b, &s.pages[i])
		if record {
			changed = append(changed, index)
		}
		if s.stamps[index] > s.sumsGen {
			sum := vsr.PageChecksum(uint64(index), b)
			s.pagesSum = s.pagesSum.Sub(s.sums[index]).Add(sum)
			s.sums[index] = sum
		}
	}
	s.encodeHeader(snap[:page])
	mark := s.gen
	s.sumsGen, s.gen = s.gen, s.gen+1
	return snap, changed, mark
}

// encodeHeader writes the header page.
func (s *Store) encodeHeader(b []byte) {
	clear(b)
	copy(b, snapshotMagic)
	o := s.options
	for i, v := range []int{snapshotVersion, o.KeysMax, o.KeySizeMax, o.ValueSizeMax, len(s.entries), len(s.pages), s.pageSize} {
		binary.LittleEndian.PutUint32(b[8+4*i:], uint32(v))
	}
	putSum(b[pagesSumOffset:], s.pagesSum)
	putSum(b[headerSumOffset:], vsr.Checksum(b[:headerSumOffset]))
}

// encodePage writes data page p into b.
func (s *Store) encodePage(b []byte, p *dataPage) {
	binary.LittleEndian.PutUint32(b[0:], uint32(len(p.keys)))
	binary.LittleEndian.PutUint32(b[4:], uint32(p.used))
	out := b[pageHeaderSize:pageHeaderSize:len(b)]
	for _, k := range p.keys {
		out = appendEntry(out, []byte(k.key), k.e.value)
	}
	if len(out) != p.used || cap(out) != len(b)-pageHeaderSize {
		panic(fmt.Sprintf("kv: page of %d bytes of entries encodes to %d", p.used, len(out)))
	}
	clear(b[pageHeaderSize+len(out):])
}

func putSum(b []byte, u vsr.U128) {
	binary.LittleEndian.PutUint64(b[0:], u.Lo)
	binary.LittleEndian.PutUint64(b[8:], u.Hi)
}

func getSum(b []byte) vsr.U128 {
	return vsr.U128{Lo: binary.LittleEndian.Uint64(b[0:]), Hi: binary.LittleEndian.Uint64(b[8:])}
}

// snapshotPlan is what checking a snapshot learns, so that loading it can
// allocate exactly once per kind of thing.
type snapshotPlan struct {
	count      int
	pages      int
	keyBytes   int
	valueBytes int
	sum        vsr.U128 // pages sum
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
	return s.load(snapshot, plan)
}

// checkSnapshot runs every check of Restore but the one for duplicate keys
// (load's) without changing anything: length, header, then each page.
func (s *Store) checkSnapshot(b []byte) (snapshotPlan, error) {
	page := s.pageSize
	if len(b) < page || len(b)%page != 0 {
		return snapshotPlan{}, fmt.Errorf("kv: snapshot is %d bytes, not a positive multiple of the %d-byte page", len(b), page)
	}
	if magic := b[:len(snapshotMagic)]; string(magic) != snapshotMagic {
		return snapshotPlan{}, fmt.Errorf("kv: snapshot magic is %q, want %q", magic, snapshotMagic)
	}
	if stored, computed := getSum(b[headerSumOffset:]), vsr.Checksum(b[:headerSumOffset]); stored != computed {
		return snapshotPlan{}, fmt.Errorf("kv: snapshot checksum: computed %s, stored %s", computed, stored)
	}
	u32 := func(off int) uint64 { return uint64(binary.LittleEndian.Uint32(b[off:])) }
	if v := u32(8); v != snapshotVersion {
		return snapshotPlan{}, fmt.Errorf("kv: snapshot format version is %d, want %d", v, snapshotVersion)
	}
	o := s.options
	for i, f := range []struct {
		name string
		have int
	}{{"KeysMax", o.KeysMax}, {"KeySizeMax", o.KeySizeMax}, {"ValueSizeMax", o.ValueSizeMax}} {
		if v := u32(12 + 4*i); v != uint64(f.have) {
			return snapshotPlan{}, fmt.Errorf("kv: snapshot was taken with %s %d, this store has %d", f.name, v, f.have)
		}
	}
	count, pages := u32(24), u32(28)
	switch {
	case count > uint64(o.KeysMax):
		return snapshotPlan{}, fmt.Errorf("kv: snapshot holds %d keys, more than KeysMax %d", count, o.KeysMax)
	case u32(32) != uint64(page):
		return snapshotPlan{}, fmt.Errorf("kv: snapshot pages are %d bytes, this store's %d", u32(32), page)
	case pages != uint64(len(b)/page-1):
		return snapshotPlan{}, fmt.Errorf("kv: snapshot names %d data pages, holds %d", pages, len(b)/page-1)
	case !zero(b[snapshotHeaderSize:page]):
		return snapshotPlan{}, fmt.Errorf("kv: snapshot header page is not zero after its fields")
	}
	plan := snapshotPlan{pages: int(pages)}
	for i := 1; i <= int(pages); i++ {
		if err := s.checkPage(b[i*page:(i+1)*page], i, &plan); err != nil {
			return snapshotPlan{}, err
		}
		plan.sum = plan.sum.Add(vsr.PageChecksum(uint64(i), b[i*page:(i+1)*page]))
	}
	if stored := getSum(b[pagesSumOffset:]); stored != plan.sum {
		return snapshotPlan{}, fmt.Errorf("kv: snapshot pages sum: computed %s, stored %s", plan.sum, stored)
	}
	if plan.count != int(count) {
		return snapshotPlan{}, fmt.Errorf("kv: snapshot names %d keys, its pages hold %d", count, plan.count)
	}
	if tooManyPages(plan.pages, plan.keyBytes+plan.valueBytes+entryHeaderSize*plan.count, s.capacity()) {
		return snapshotPlan{}, fmt.Errorf("kv: snapshot spreads %d keys over %d pages, more than they need", count, pages)
	}
	return plan, nil
}

// checkPage checks data page index: its entries within the store's bounds,
// exactly its used bytes, zeros after.
func (s *Store) checkPage(b []byte, index int, plan *snapshotPlan) error {
	entries, used := int(binary.LittleEndian.Uint32(b[0:])), uint64(binary.LittleEndian.Uint32(b[4:]))
	if used > uint64(s.capacity()) {
		return fmt.Errorf("kv: snapshot page %d claims %d bytes of entries, more than its %d", index, used, s.capacity())
	}
	body := b[pageHeaderSize : pageHeaderSize+int(used)]
	off := 0
	for i := range entries {
		at := entryError{page: index, index: i, offset: pageHeaderSize + off}.errorf
		if len(body)-off < entryHeaderSize {
			return at("%d bytes left, shorter than an entry header", len(body)-off)
		}
		keyLen := int(binary.LittleEndian.Uint16(body[off:]))
		valueLen := uint64(binary.LittleEndian.Uint32(body[off+2:]))
		switch {
		case keyLen == 0:
			return at("key is empty")
		case keyLen > s.options.KeySizeMax:
			return at("key is %d bytes, more than KeySizeMax %d", keyLen, s.options.KeySizeMax)
		case valueLen > uint64(s.options.ValueSizeMax):
			return at("value is %d bytes, more than ValueSizeMax %d", valueLen, s.options.ValueSizeMax)
		case uint64(len(body)-off-entryHeaderSize) < uint64(keyLen)+valueLen:
			return at("key and value need %d bytes, %d left: truncated", uint64(keyLen)+valueLen, len(body)-off-entryHeaderSize)
		}
		off += entryHeaderSize + keyLen + int(valueLen)
		plan.keyBytes += keyLen
		plan.valueBytes += int(valueLen)
	}
	if off != len(body) {
		return fmt.Errorf("kv: snapshot page %d has %d bytes after its %d entries", index, len(body)-off, entries)
	}
	if !zero(b[pageHeaderSize+len(body):]) {
		return fmt.Errorf("kv: snapshot page %d is not zero after its entries", index)
	}
	plan.count += entries
	return nil
}

func zero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// entryError prefixes an error about one snapshot entry with where it is.
type entryError struct{ page, index, offset int }

func (e entryError) errorf(format string, args ...any) error {
	return fmt.Errorf("kv: snapshot page %d entry %d at offset %d: %s", e.page, e.index, e.offset, fmt.Sprintf(format, args...))
}

// load replaces the contents with the entries of a checked snapshot, or
// refuses it, changing nothing, if a key repeats. All keys share one
// string and all values one buffer (each value capped at its own length,
// so growing one reallocates rather than overwrites its neighbour).
func (s *Store) load(b []byte, plan snapshotPlan) error {
	var keys strings.Builder
	keys.Grow(plan.keyBytes)
	page := s.pageSize
	s.forEachEntry(b, plan.pages, func(_ int, key, _ []byte) { keys.Write(key) })
	allKeys := keys.String()
	values := make([]byte, 0, plan.valueBytes)
	entries := make([]entry, plan.count)
	m := make(map[string]*entry, plan.count)
	pages := make([]dataPage, plan.pages)
	pageKeys := make([]keyed, plan.count) // each page's keys a piece of it, capped
	var sum vsr.U128
	var dup error
	n, keyOff := 0, 0
	s.forEachEntry(b, plan.pages, func(i int, key, value []byte) {
		if pages[i].keys == nil {
			count := int(binary.LittleEndian.Uint32(b[(1+i)*page:]))
			pages[i].keys = pageKeys[n:n:min(n+count, len(pageKeys))]
		}
		sum = add128(sum, s.entryHash(key, value))
		start := len(values)
		values = append(values, value...)
		e := &entries[n]
		e.value, e.page = values[start:len(values):len(values)], int32(i)
		k := allKeys[keyOff : keyOff+len(key)]
		before := len(m)
		m[k] = e
		if len(m) == before && dup == nil {
			dup = fmt.Errorf("kv: snapshot holds key %q twice", k)
		}
		pages[i].keys = append(pages[i].keys, keyed{k, e})
		pages[i].used += entrySize(k, e.value)
		n, keyOff = n+1, keyOff+len(key)
	})
	if dup != nil {
		return dup
	}
	if n != plan.count || keyOff != len(allKeys) || len(values) != plan.valueBytes {
		panic(fmt.Sprintf("kv: loaded %d keys (%d bytes) and %d value bytes, checked %+v", n, keyOff, len(values), plan))
	}
	s.entries, s.sum, s.payload, s.opLast, s.pages = m, sum, plan.keyBytes+plan.valueBytes, 0, pages
	// Every page counts as changed after any mark given before; the
	// page checksums are those of b.
	s.gen++
	s.stamps, s.sums = make([]uint64, 1+plan.pages), make([]vsr.U128, 1+plan.pages)
	for i := range s.stamps {
		s.stamps[i] = s.gen
		if i > 0 {
			s.sums[i] = vsr.PageChecksum(uint64(i), b[i*page:(i+1)*page])
		}
	}
	s.pagesSum, s.sumsGen = plan.sum, s.gen
	s.gen++
	return nil
}

// forEachEntry calls f with each entry of a checked snapshot's data pages
// (numbered from 0), in order.
func (s *Store) forEachEntry(b []byte, pages int, f func(page int, key, value []byte)) {
	for i := range pages {
		p := b[(1+i)*s.pageSize : (2+i)*s.pageSize]
		off := pageHeaderSize
		for range binary.LittleEndian.Uint32(p[0:]) {
			keyLen := int(binary.LittleEndian.Uint16(p[off:]))
			valueLen := int(binary.LittleEndian.Uint32(p[off+2:]))
			key := p[off+entryHeaderSize : off+entryHeaderSize+keyLen]
			f(i, key, p[off+entryHeaderSize+keyLen:off+entryHeaderSize+keyLen+valueLen])
			off += entryHeaderSize + keyLen + valueLen
		}
	}
}
