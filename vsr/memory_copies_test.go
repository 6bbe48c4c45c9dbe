package vsr

import (
	"bytes"
	"fmt"
	"testing"
)

// flatDisk is a model of MemoryStorage on one flat byte slice, with the
// copy a write takes at submission put in place byte by byte when it
// lands: what the sector arrays handed to the table must reproduce. It
// draws from its Random in the order MemoryStorage documents.
type flatDisk struct {
	bytes   []byte
	written []bool // by sector
	random  Random
	faults  MemoryFaults
	flight  []flatIO // by submission, nil data once done
	stats   MemoryStorageStats
}

type flatIO struct {
	write  bool
	offset uint64
	data   []byte // write: the copy; read: the caller's buffer
	done   bool
}

func (d *flatDisk) put(offset uint64, data []byte) {
	copy(d.bytes[offset:], data)
	for i := uint64(0); i < uint64(len(data)); i += SectorSize {
		d.written[(offset+i)/SectorSize] = true
	}
}

func (d *flatDisk) chance(perMillion, offset uint64) bool {
	if perMillion == 0 || (d.faults.Faulty != nil && !d.faults.Faulty(offset)) {
		return false
	}
	return d.random.Uint64()%1_000_000 < perMillion
}

func (d *flatDisk) complete(id int) error {
	io := &d.flight[id]
	io.done = true
	if !io.write {
		d.stats.Reads++
		if d.chance(d.faults.ReadErrorPerMillion, io.offset) {
			d.stats.ReadErrors++
			return ErrReadFault
		}
		copy(io.data, d.bytes[io.offset:])
		return nil
	}
	d.stats.Writes++
	if landed, failed := d.faults.WriteError(io.offset, uint64(len(io.data))); failed {
		d.stats.WriteErrors++
		d.put(io.offset, io.data[:landed*SectorSize])
		return ErrWriteFault
	}
	offset := io.offset
	if d.chance(d.faults.MisdirectPerMillion, offset) {
		if other, ok := d.faults.Misdirect(offset, uint64(len(io.data))); ok && other != offset {
			d.stats.Misdirected++
			offset = other
		}
	}
	if d.chance(d.faults.CorruptPerMillion, offset) {
		d.stats.Corruptions++
		bit := d.random.Uint64() % uint64(len(io.data)*8)
		io.data[bit/8] ^= 1 << (bit % 8)
	}
	d.put(offset, io.data)
	return nil
}

func (d *flatDisk) crash() {
	for i := range d.flight {
		io := &d.flight[i]
		if io.done || !io.write {
			io.done = true
			continue
		}
		io.done = true
		sectors := uint64(len(io.data)) / SectorSize
		n := d.random.Uint64() % (sectors + 1)
		switch {
		case n == 0:
			d.stats.Lost++
		case n < sectors:
			d.stats.Torn++
		}
		if n == 0 {
			continue
		}
		last := (n - 1) * SectorSize
		d.put(io.offset, io.data[:last])
		keep, torn := d.faults.Tear(io.offset + last)
		if !torn || keep == 0 || keep >= SectorSize {
			keep = SectorSize
		} else {
			d.stats.TornSectors++
		}
		copy(d.bytes[io.offset+last:], io.data[last:last+keep])
		d.written[(io.offset+last)/SectorSize] = true
	}
}

// diskFaults returns every fault MemoryStorage injects, drawn from a
// stream of its own so that two disks given the same seed see the same.
func diskFaults(seed uint64, sectors uint64) MemoryFaults {
	r := &splitMix{state: seed}
	return MemoryFaults{
		ReadErrorPerMillion: 50_000, CorruptPerMillion: 100_000, MisdirectPerMillion: 100_000,
		Faulty: func(offset uint64) bool { return offset/SectorSize%5 != 0 },
		Misdirect: func(offset, size uint64) (uint64, bool) {
			return r.Uint64() % (sectors - size/SectorSize + 1) * SectorSize, r.Uint64()%4 != 0
		},
		Tear: func(uint64) (uint64, bool) { return r.Uint64() % SectorSize, r.Uint64()%2 == 0 },
		WriteError: func(offset, size uint64) (uint64, bool) {
			return r.Uint64() % (size / SectorSize), r.Uint64()%10 == 0
		},
	}
}

// TestMemoryStorageAsFlatCopies drives MemoryStorage and the flat model
// through the same writes (of 1 to 5 sectors, the caller's buffer
// scribbled over once submitted), reads, completions in any order, crashes
// with torn writes, misdirected and corrupted writes and write errors, and
// checks that every completion, every byte of the disk and the counts agree.
func TestMemoryStorageAsFlatCopies(t *testing.T) {
	const sectors = 24
	for seed := uint64(1); seed <= 8; seed++ {
		s := NewMemoryStorage(&splitMix{state: seed}, diskFaults(seed*7, sectors))
		d := &flatDisk{bytes: make([]byte, sectors*SectorSize), written: make([]bool, sectors),
			random: &splitMix{state: seed}, faults: diskFaults(seed*7, sectors)}
		ids := map[uint64]int{} // MemoryStorage's id → index in the model's flight
		var last uint64
		s.OnSubmit = func(id uint64) { last = id }
		ops := &splitMix{state: seed * 1000}
		for step := range 3000 {
			memoryStep(t, s, d, ids, &last, ops, sectors, fmt.Sprintf("seed %d step %d", seed, step))
		}
	}
}

func memoryStep(t *testing.T, s *MemoryStorage, d *flatDisk, ids map[uint64]int, last *uint64, ops *splitMix, sectors uint64, where string) {
	t.Helper()
	switch pick := ops.Uint64() % 20; {
	case pick < 8:
		n := 1 + ops.Uint64()%5
		offset := ops.Uint64() % (sectors - n + 1) * SectorSize
		data := bytes.Repeat([]byte{byte(ops.Uint64())}, int(n*SectorSize))
		data[ops.Uint64()%uint64(len(data))] ^= 0x5a
		s.Write(offset, data, 0)
		ids[*last] = len(d.flight)
		d.flight = append(d.flight, flatIO{write: true, offset: offset, data: append([]byte(nil), data...)})
		clear(data) // the storage copied it: the caller may reuse its buffer
	case pick < 11:
		n := 1 + ops.Uint64()%3
		offset := ops.Uint64() % (sectors - n + 1) * SectorSize
		s.Read(offset, make([]byte, n*SectorSize), 0)
		ids[*last] = len(d.flight)
		d.flight = append(d.flight, flatIO{offset: offset, data: make([]byte, n*SectorSize)})
	case pick < 19 && len(ids) > 0:
		id := oldestPlus(ids, ops.Uint64()%3)
		i := ids[id]
		delete(ids, id)
		_, err, ok := s.Complete(id)
		want := d.complete(i)
		if !ok || err != want {
			t.Fatalf("%s: completion ok %v err %v, model %v", where, ok, err, want)
		}
		if io := d.flight[i]; !io.write && want == nil {
			got := make([]byte, len(io.data))
			s.Peek(io.offset, got)
			if !bytes.Equal(got, io.data) {
				t.Fatalf("%s: a read returned other bytes than the model's", where)
			}
		}
	case pick == 19:
		s.Crash()
		d.crash()
		clear(ids)
	}
	got := make([]byte, len(d.bytes))
	s.Peek(0, got)
	if !bytes.Equal(got, d.bytes) || s.Stats() != d.stats {
		t.Fatalf("%s: the disk differs from the model (stats %+v, model %+v)", where, s.Stats(), d.stats)
	}
	for i := range sectors {
		if s.Written(i*SectorSize) != d.written[i] {
			t.Fatalf("%s: sector %d written %v, model %v", where, i, s.Written(i*SectorSize), d.written[i])
		}
	}
}

// oldestPlus returns the id k places after the oldest in flight (or the
// newest), so that completions come out of order.
func oldestPlus(ids map[uint64]int, k uint64) uint64 {
	var sorted []uint64
	for id := range ids { // sorted below: the order decides nothing
		sorted = append(sorted, id)
	}
	for i := range sorted {
		for j := i + 1; j < len(sorted); j++ {
			if sorted[j] < sorted[i] {
				sorted[i], sorted[j] = sorted[j], sorted[i]
			}
		}
	}
	return sorted[min(k, uint64(len(sorted)-1))]
}
