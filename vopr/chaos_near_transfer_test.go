package vopr

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/govsr/govsr/vsr"
)

// Near-transfer episodes start, their backups take a peer's checkpoint and
// execute past the op cut, and the correct protocol passes them. (Mutant
// 27-transfer-checkpoint-wrong-op, which writes the transferred checkpoint
// under the op it executed up to, fails 16 of seeds 1-40 with the kind
// forced on in a swarm.)
func TestChaosNearTransferStrikesAndPasses(t *testing.T) {
	expectStrikesAndPasses(t, []uint64{2, 3, 4}, nearTransferKind, []counter{
		{"episodes", func(r *Result) uint64 { return r.Stats.Chaos.NearTransfers }},
		{"episodes passed", func(r *Result) uint64 { return r.Stats.Chaos.NearTransfersPassed }},
		{"prepares cut", func(r *Result) uint64 { return r.Stats.Chaos.NearTransferCuts }},
	})
}

// The kind's draws come from a stream of their own: turning it on or off
// changes no other option of a seed.
func TestNearTransferDrawLeavesOtherOptions(t *testing.T) {
	expectDrawLeavesOtherOptions(t, nearTransferKind, func(o *Options) bool { return o.Chaos.NearTransfer.Num > 0 },
		func(on, off *Options) { on.Chaos.NearTransfer = off.Chaos.NearTransfer })
}

// The offsets the checker reads a superblock's checkpoint name and a
// checkpoint's header at are vsr's: after whole runs, each replica's
// newest superblock copy passes the check, and the same copy naming
// another op, or another prepare, fails it.
func TestCheckpointNameLayout(t *testing.T) {
	checked := 0
	for seed := uint64(1); seed <= 6; seed++ {
		s := runPassing(t, Draw(seed, Force{"storage": false, "superblock": false}), 300)
		for i := range s.replicas {
			sb, ok := newestSuperblockCopy(s.disk(i))
			if !ok || readU128(sb[superblockCheckpointOffset+8:]).IsZero() {
				continue
			}
			checked++
			expectCheckpointName(t, s, i, sb, "")
			le := binary.LittleEndian
			op := append([]byte(nil), sb...)
			le.PutUint64(op[superblockCheckpointOffset:], le.Uint64(op[superblockCheckpointOffset:])+1)
			expectCheckpointName(t, s, i, op, "whose checkpoint is of op")
			prepare := append([]byte(nil), sb...)
			prepare[superblockCheckpointPrepareOffset] ^= 1
			expectCheckpointName(t, s, i, prepare, "whose checkpoint is of op")
		}
	}
	if checked == 0 {
		t.Fatal("no replica ended with a checkpoint: the check went untested")
	}
}

// newestSuperblockCopy returns the valid superblock copy of st with the
// highest sequence.
func newestSuperblockCopy(st *simStorage) ([]byte, bool) {
	le := binary.LittleEndian
	var newest []byte
	for index := range uint64(vsr.SuperblockCopies) {
		b := st.PeekSector(index * vsr.SectorSize)[:]
		if vsr.Checksum(b[16:]) != readU128(b[0:]) || string(b[16:24]) != superblockMagic {
			continue
		}
		if newest == nil || le.Uint64(b[superblockSequenceOffset:]) > le.Uint64(newest[superblockSequenceOffset:]) {
			newest = append([]byte(nil), b...)
		}
	}
	return newest, newest != nil
}

// expectCheckpointName checks superblock copy b of replica i, wanting a
// failure mentioning want (none if want is empty).
func expectCheckpointName(t *testing.T, s *Simulator, i int, b []byte, want string) {
	t.Helper()
	var got failures
	c := newPromisesChecker(s, &got)
	c.checkCheckpointName(i, b)
	switch {
	case want == "" && len(got.messages) > 0:
		t.Fatalf("seed %d replica %d: its own superblock fails: %q", s.opts.Seed, i, got.messages)
	case want != "" && (len(got.messages) != 1 || !strings.Contains(got.messages[0], want)):
		t.Fatalf("seed %d replica %d: got failures %q, want one mentioning %q", s.opts.Seed, i, got.messages, want)
	}
}
