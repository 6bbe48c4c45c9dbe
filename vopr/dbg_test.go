package vopr

import (
	"fmt"
	"os"
	"testing"

	"github.com/govsr/govsr/vsr"
)

func TestDbgReplay(t *testing.T) {
	path := os.Getenv("DBG_REPORT")
	if path == "" {
		t.Skip()
	}
	r, err := LoadReport(path)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := New(r.Options, os.Stdout, logShort)
	var after uint64
	fmt.Sscan(os.Getenv("DBG_AFTER_MS"), &after)
	rep := -1
	fmt.Sscan(os.Getenv("DBG_REPLICA"), &rep)
	n := 0
	s.tap = func(replica int, e *vsr.Event) {
		if s.now < after*1_000_000 || (rep >= 0 && replica != rep) || n > 400 {
			return
		}
		if e.Kind == vsr.EventDropped || e.Kind == vsr.EventStatus || e.Kind == vsr.EventViolation {
			n++
			fmt.Printf("[%.3f ms] r%d %s %s cmd=%s view=%d op=%d: %s\n", float64(s.now)/1e6, replica, e.Kind, e.Status, e.Command, e.View, e.Op, e.Reason)
		}
	}
	res := s.Run()
	fmt.Println(res.Class, firstLine(res.Message))
}
