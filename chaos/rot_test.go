package chaos

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/govsr/govsr/faults"
	"github.com/govsr/govsr/vsr"
)

// Disk rot at rest: the nemesis kills a replica, damages a few sectors of
// its data file as a disk that decays while the process is down would,
// and starts it again later. This is the simulator's bit rot at a restart
// (vopr's atlas) played against a real file: the open must classify the
// damaged slots and copies, and the cluster must repair them, with no
// acknowledged write lost. As in the atlas, the damage keeps to one
// replica per round (together with any replaced data file) and to at
// most one superblock copy per rot, so a protocol that keeps its rules
// may stall for a moment but never lose data.

const (
	rotSectorsMax       = 4  // sectors one rot damages, at most
	rotCheckpointReach  = 16 // sectors at the start of a checkpoint area that a rot may strike (the written part)
	rotZeroChancePc     = 40 // a struck sector is zeroed (a lost sector); otherwise one bit flips
	rotSuperblockPc     = 15 // per struck sector: a superblock copy (at most one per rot)
	rotHeaderSectorPc   = 30 // per struck sector: a sector of the headers ring
	rotCheckpointAreaPc = 10 // per struck sector: a checkpoint area; the rest strike prepare slots
)

// rotStrike is one damaged sector: where, and what was done to it.
type rotStrike struct {
	zone   string
	offset uint64
	zeroed bool
}

func (s rotStrike) String() string {
	what := "bit flip"
	if s.zeroed {
		what = "zeroed"
	}
	return fmt.Sprintf("%s@%d %s", s.zone, s.offset, what)
}

// dataFileLayout reads the layout of the data file at path from its first
// readable superblock copy.
func dataFileLayout(path string) (vsr.Layout, error) {
	f, err := os.Open(path)
	if err != nil {
		return vsr.Layout{}, err
	}
	defer f.Close()
	format, ok := vsr.ReadDataFileFormat(f)
	if ok {
		return vsr.NewLayout(vsr.Options{JournalSlots: format.JournalSlots, MessageSizeMax: format.MessageSizeMax,
			ClientsMax: format.ClientsMax, CheckpointSizeMax: format.CheckpointSizeMax}), nil
	}
	return vsr.Layout{}, fmt.Errorf("rot: %s has no readable superblock copy", path)
}

// drawRot picks the sectors one rot strikes in a file of layout l.
func drawRot(random *faults.PRNG, l vsr.Layout) []rotStrike {
	count := random.RangeInt(1, rotSectorsMax)
	strikes := make([]rotStrike, 0, count)
	superblockStruck := false
	for range count {
		s := rotStrike{zeroed: random.IntN(100) < rotZeroChancePc}
		roll := random.IntN(100)
		switch {
		case roll < rotSuperblockPc && !superblockStruck:
			superblockStruck = true
			s.zone, s.offset = "superblock", random.Uint64N(vsr.SuperblockCopies)*vsr.SectorSize
		case roll < rotSuperblockPc+rotHeaderSectorPc:
			sectors := (l.PreparesOffset - l.HeadersOffset) / vsr.SectorSize
			s.zone, s.offset = "headers", l.HeadersOffset+random.Uint64N(sectors)*vsr.SectorSize
		case roll < rotSuperblockPc+rotHeaderSectorPc+rotCheckpointAreaPc:
			area := l.CheckpointOffset + random.Uint64N(2)*l.CheckpointAreaSize
			reach := min(rotCheckpointReach, l.CheckpointAreaSize/vsr.SectorSize)
			s.zone, s.offset = "checkpoint", area+random.Uint64N(reach)*vsr.SectorSize
		default:
			slot := l.PreparesOffset + random.Uint64N(l.JournalSlots)*l.PrepareSlotSize
			sector := uint64(0) // most often the prepare's header: a body-only strike is rarer
			if random.Bool() {
				sector = random.Uint64N(l.PrepareSlotSize / vsr.SectorSize)
			}
			s.zone, s.offset = "prepare", slot+sector*vsr.SectorSize
		}
		if s.offset+vsr.SectorSize > l.Size {
			panic(fmt.Sprintf("rot: a strike at %d past the data file's end %d", s.offset, l.Size))
		}
		strikes = append(strikes, s)
	}
	return strikes
}

// rotFile damages the data file at path (its process down) as strikes say:
// a zeroed sector, or one bit flipped at a drawn place in it.
func rotFile(path string, strikes []rotStrike, random *faults.PRNG) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	sector := make([]byte, vsr.SectorSize)
	for _, s := range strikes {
		if _, err := f.ReadAt(sector, int64(s.offset)); err != nil {
			return errors.Join(fmt.Errorf("rot: read %s: %w", s, err), f.Close())
		}
		bit := random.Uint64N(vsr.SectorSize * 8)
		if s.zeroed {
			clear(sector)
		} else {
			sector[bit/8] ^= 1 << (bit % 8)
		}
		if _, err := f.WriteAt(sector, int64(s.offset)); err != nil {
			return errors.Join(fmt.Errorf("rot: write %s: %w", s, err), f.Close())
		}
	}
	if err := f.Sync(); err != nil {
		return errors.Join(err, f.Close())
	}
	return f.Close()
}

// rot kills replica i, damages its data file and leaves it down for
// lasting: restoreDue starts it again.
func (n *nemesis) rot(i int, seed uint64, lasting time.Duration) error {
	p := n.c.replicas[i]
	if err := n.c.signal(p, syscall.SIGKILL); err != nil {
		return err
	}
	l, err := dataFileLayout(p.data)
	if err != nil {
		return err
	}
	random := faults.New(seed)
	strikes := drawRot(random, l)
	names := make([]string, len(strikes))
	for k, s := range strikes {
		names[k] = s.String()
	}
	n.c.note("rot %d for %s: %s", i, lasting, strings.Join(names, ", "))
	n.impaired[i] = impairment{kind: "killed", until: time.Now().Add(lasting)}
	return rotFile(p.data, strikes, random)
}
