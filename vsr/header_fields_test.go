package vsr

import "testing"

func TestHeaderAccessorsRoundTripAndRefuseOtherCommands(t *testing.T) {
	head := U128{Lo: 5, Hi: 6}
	for _, c := range []Command{CommandDoViewChange, CommandStartView, CommandRecoveryResponse} {
		h := Header{Command: c, Context: U128{Lo: 9}}
		h.SetLogHead(head)
		var b [HeaderSize]byte
		h.put(b[:])
		var got Header
		got.parse(b[:])
		if got.LogHead() != head {
			t.Fatalf("%v: log head %v after encoding, want %v", c, got.LogHead(), head)
		}
		if c == CommandRecoveryResponse && got.Context != (U128{Lo: 9}) {
			t.Fatalf("a recovery_response's log head overwrote its nonce")
		}
	}
	dvc := Header{Command: CommandDoViewChange}
	dvc.SetJournalFaulty(true)
	dvc.SetNacks(U128{Lo: 3})
	if !dvc.JournalFaulty() || dvc.Nacks() != (U128{Lo: 3}) {
		t.Fatalf("do_view_change flags: faulty %v nacks %v", dvc.JournalFaulty(), dvc.Nacks())
	}
	for name, read := range map[string]func(h *Header){
		"LogHead":        func(h *Header) { h.LogHead() },
		"JournalFaulty":  func(h *Header) { h.JournalFaulty() },
		"Nacks":          func(h *Header) { h.Nacks() },
		"CheckpointSize": func(h *Header) { h.CheckpointSize() },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s of a prepare did not panic", name)
				}
			}()
			read(&Header{Command: CommandPrepare})
		}()
	}
}
