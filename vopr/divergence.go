package vopr

import (
	"github.com/govsr/govsr/vsr"
)

// divergenceMeter measures how often a view change chooses among logs
// that disagree, from the wire alone: the do_view_changes sent for a view
// (each names its sender's head op and checksum) against the start_view
// its new primary sends (the chosen log's head and the headers below it).
// A view change over divergent logs is where the view-change bugs of
// issue 8 live; the targeted kinds aim to make it common, and this is how
// the report measures that they did. It only counts; it never changes a
// run.
type divergenceMeter struct {
	views [divergenceViews]viewRecord
}

// divergenceViews is how many recent views the meter remembers (a ring by
// view number): a do_view_change older than that is not compared.
const divergenceViews = 8

type viewRecord struct {
	view uint32 // view + 1; zero: empty
	done bool   // its start_view was seen
	dvcs [vsr.ReplicasMax]dvcSeen
}

type dvcSeen struct {
	present bool
	op      uint64
	head    vsr.U128
}

func (m *divergenceMeter) record(view uint32) *viewRecord {
	v := &m.views[view%divergenceViews]
	if v.view != view+1 {
		*v = viewRecord{view: view + 1}
	}
	return v
}

func (m *divergenceMeter) doViewChange(from int, h *vsr.Header) {
	v := m.record(h.View)
	v.dvcs[from] = dvcSeen{present: true, op: h.Op, head: h.LogHead()}
}

// startView compares the first start_view of a view with the view's
// do_view_changes: differing if some head is not the chosen head;
// divergent if some head is not in the chosen log at all (it lies beyond
// the chosen head, or the chosen log names another prepare at its op).
func (m *divergenceMeter) startView(st *ChaosStats, h *vsr.Header, body []byte) {
	v := m.record(h.View)
	if v.done {
		return
	}
	v.done = true
	st.ViewChanges++
	differing, divergent := false, false
	for i := range v.dvcs {
		d := &v.dvcs[i]
		if !d.present || (d.op == h.Op && d.head == h.LogHead()) {
			continue
		}
		differing = true
		if d.op > h.Op {
			divergent = true
			continue
		}
		back := h.Op - d.op
		if off := back * vsr.HeaderSize; off+vsr.HeaderSize <= uint64(len(body)) {
			chosen, err := vsr.DecodeHeader(body[off : off+vsr.HeaderSize])
			if err == nil && chosen.Op == d.op && chosen.Checksum != d.head {
				divergent = true
			}
		}
	}
	if differing {
		st.ViewChangesDiffering++
	}
	if divergent {
		st.ViewChangesDivergent++
	}
}
