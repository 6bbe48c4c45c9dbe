package kv

import (
	"fmt"

	"github.com/govsr/govsr/vsr"
)

// Pages: the store keeps its entries in data pages, each a run of whole
// entries of at most pageCapacity bytes, laid out in the snapshot as they
// are held here (snapshot.go). A write touches one or two pages, so a
// checkpoint rewrites only the pages written since the snapshot it
// updates (vsr.PagedStateMachine).
//
// Placement is a function of the pages alone, never of the history that
// made them, so a store restored from a snapshot places later writes
// exactly where the store that took the snapshot does, and replicas' snapshots agree byte
// for byte:
//   - a new key goes to the end of the last page, or to a new page if it
//     does not fit;
//   - an overwrite stays in its page if the page has room for the new
//     value, and otherwise leaves it for the end of the last page (or a new
//     page), as a new key would;
//   - once the pages hold more than half again as much as a fresh packing
//     would need, every entry is packed again in page order (compact).
//
// Pages are big enough for eight of the largest entries, so a packed page
// wastes at most an eighth of it, and the pages never hold more than about
// 1.5 times the entries' bytes plus two pages (snapshotSizeMax).

// dataPage is one data page: its entries in order, and their bytes.
type dataPage struct {
	keys []keyed
	used int // sum of entry sizes (entryHeaderSize + key + value)
}

// pageHeaderSize prefixes each data page: u32 entries, u32 bytes of entries.
const pageHeaderSize = 8

// pageSizeFor is the page size of a store with options o: a multiple of
// vsr.SectorSize holding at least eight of the largest entries.
func pageSizeFor(o Options) uint64 {
	need := 8*uint64(entrySizeMax(o)) + pageHeaderSize
	return max(vsr.SectorSize, (need+vsr.SectorSize-1)/vsr.SectorSize*vsr.SectorSize)
}

func entrySizeMax(o Options) int { return entryHeaderSize + o.KeySizeMax + o.ValueSizeMax }

// dataPagesMax is the most data pages a store with options o holds: the
// compaction bound (tooManyPages) at the largest entries' bytes.
func dataPagesMax(o Options) uint64 {
	capacity := pageSizeFor(o) - pageHeaderSize
	bytes := uint64(o.KeysMax) * uint64(entrySizeMax(o))
	return (3*bytes + 4*capacity) / (2 * capacity)
}

// tooManyPages reports whether pages data pages holding bytes of entries
// are worth packing again: more than 1.5 times the bytes plus two pages.
// A fresh packing needs less than 8/7 of the bytes plus one page, so it
// never comes back over the bound at once.
func tooManyPages(pages, bytes, capacity int) bool {
	return 2*pages*capacity > 3*bytes+4*capacity
}

func entrySize(key string, value []byte) int { return entryHeaderSize + len(key) + len(value) }

// capacity is how many bytes of entries a data page holds.
func (s *Store) capacity() int { return s.pageSize - pageHeaderSize }

// touch records that snapshot page index (a data page's index plus one)
// changed in the current generation.
func (s *Store) touch(index int) {
	for len(s.stamps) <= index {
		s.stamps = append(s.stamps, 0)
		s.sums = append(s.sums, vsr.U128{})
	}
	s.stamps[index] = s.gen
}

// place puts an entry at the end of the last data page, or of a new one.
func (s *Store) place(k keyed) {
	size := entrySize(k.key, k.e.value)
	if size > s.capacity() {
		panic(fmt.Sprintf("kv: entry of %d bytes exceeds a page's %d", size, s.capacity()))
	}
	last := len(s.pages) - 1
	if last < 0 || s.pages[last].used+size > s.capacity() {
		s.pages = append(s.pages, dataPage{})
		last++
	}
	p := &s.pages[last]
	p.keys = append(p.keys, k)
	p.used += size
	k.e.page = int32(last)
	s.touch(1 + last)
}

// resize records that entry e (whose key is key) changed from oldSize
// bytes to its current size: it stays in its page if the page has room,
// and otherwise moves to the end.
func (s *Store) resize(key []byte, e *entry, oldSize int) {
	p := &s.pages[e.page]
	size := entryHeaderSize + len(key) + len(e.value)
	s.touch(1 + int(e.page))
	if p.used-oldSize+size <= s.capacity() {
		p.used += size - oldSize
		return
	}
	i := 0
	for i < len(p.keys) && p.keys[i].e != e {
		i++
	}
	if i == len(p.keys) {
		panic("kv: an entry is missing from its page")
	}
	k := p.keys[i]
	p.keys = append(p.keys[:i], p.keys[i+1:]...)
	p.used -= oldSize
	s.place(k)
}

// maybeCompact packs every entry again, in page order, once the pages
// hold too much room (tooManyPages).
func (s *Store) maybeCompact() {
	bytes := s.payload + entryHeaderSize*len(s.entries)
	if !tooManyPages(len(s.pages), bytes, s.capacity()) {
		return
	}
	old := s.pages
	s.pages = make([]dataPage, 0, len(old))
	for i := range old {
		for _, k := range old[i].keys {
			s.place(k)
		}
	}
	// Every page moved: none of the cached checksums holds.
	s.stamps, s.sums = s.stamps[:1+len(s.pages)], s.sums[:1+len(s.pages)]
	clear(s.sums)
	s.pagesSum = vsr.U128{}
	for i := range s.stamps {
		s.stamps[i] = s.gen
	}
	if tooManyPages(len(s.pages), bytes, s.capacity()) {
		panic(fmt.Sprintf("kv: %d pages after packing %d bytes", len(s.pages), bytes))
	}
}
