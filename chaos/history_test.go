package chaos

import (
	"fmt"
	"io"
	"math"
	"sort"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/govsr/govsr/vsr"
	"github.com/govsr/govsr/vsr/kv"
)

// checkTimeout bounds porcupine's search over one round's history.
const checkTimeout = 2 * time.Minute

type opKind uint8

const (
	opRead opKind = iota + 1
	opWrite
	opCAS
)

// operation is one client call as the client saw it. Times are since the
// run began; a call is open from call to ret.
type operation struct {
	client  int
	kind    opKind
	key     string
	value   string // write, cas: what it writes
	from    string // cas: what it expects
	call    time.Duration
	ret     time.Duration
	unknown bool // no reply (evicted, or abandoned at the deadline): it may or may not have run
	status  kv.Status
	output  string // read: the value found; cas mismatch: the value there
	op      uint64 // the op that executed it, when replied
}

func (o *operation) String() string {
	var call string
	switch o.kind {
	case opRead:
		call = fmt.Sprintf("read(%s)", o.key)
	case opWrite:
		call = fmt.Sprintf("write(%s, %s)", o.key, o.value)
	default:
		call = fmt.Sprintf("cas(%s, %s → %s)", o.key, o.from, o.value)
	}
	if o.unknown {
		return call + " → ?"
	}
	if o.output != "" {
		return fmt.Sprintf("%s → %s %s", call, o.status, o.output)
	}
	return fmt.Sprintf("%s → %s", call, o.status)
}

// register is one key's state in the model.
type register struct {
	exists bool
	value  string
}

// step applies o to s if its recorded outcome is possible there. An
// operation with an unknown outcome takes effect where it can.
func step(s register, o *operation) (bool, register) {
	switch o.kind {
	case opRead:
		switch {
		case o.unknown:
			return true, s
		case o.status == kv.StatusOK:
			return s.exists && s.value == o.output, s
		}
		return o.status == kv.StatusNotFound && !s.exists, s
	case opWrite:
		switch {
		case o.unknown || o.status == kv.StatusOK:
			return true, register{exists: true, value: o.value}
		}
		return o.status == kv.StatusFull && !s.exists, s // a new key that did not fit
	}
	holds := s.exists && s.value == o.from
	switch {
	case o.unknown && holds, o.status == kv.StatusOK:
		return holds, register{exists: true, value: o.value}
	case o.unknown:
		return true, s
	case o.status == kv.StatusMismatch:
		return s.exists && !holds && s.value == o.output, s
	}
	return o.status == kv.StatusNotFound && !s.exists, s
}

// model is the sequential specification of the store, partitioned by key.
var model = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		for _, o := range history {
			key := o.Input.(*operation).key
			byKey[key] = append(byKey[key], o)
		}
		keys := make([]string, 0, len(byKey))
		for key := range byKey {
			keys = append(keys, key)
		}
		sort.Strings(keys)
		parts := make([][]porcupine.Operation, len(keys))
		for i, key := range keys {
			parts[i] = byKey[key]
		}
		return parts
	},
	Init:  func() any { return register{} },
	Step:  func(state, input, _ any) (bool, any) { return step(state.(register), input.(*operation)) },
	Equal: func(a, b any) bool { return a.(register) == b.(register) },
	Hash: func(state any) uint64 {
		if s := state.(register); s.exists {
			return vsr.Checksum([]byte(s.value)).Lo | 1
		}
		return 0
	},
	DescribeOperation: func(input, _ any) string { return input.(*operation).String() },
	DescribeState: func(state any) string {
		if s := state.(register); s.exists {
			return s.value
		}
		return "absent"
	},
}

// checkLinearizable runs porcupine over history. A read without a reply
// constrains nothing and is left out; any other call without one returns
// after everything else, so it may take effect or not. On a violation it
// writes porcupine's picture to htmlPath.
func checkLinearizable(history []*operation, htmlPath string) error {
	ops := make([]porcupine.Operation, 0, len(history))
	for _, o := range history {
		ret := int64(o.ret)
		if o.unknown {
			if o.kind == opRead {
				continue
			}
			ret = math.MaxInt64
		}
		ops = append(ops, porcupine.Operation{ClientId: o.client, Input: o, Output: o, Call: int64(o.call), Return: ret})
	}
	result, info := porcupine.CheckOperationsVerbose(model, ops, checkTimeout)
	switch result {
	case porcupine.Ok:
		return nil
	case porcupine.Illegal:
		if err := porcupine.VisualizePath(model, info, htmlPath); err != nil {
			return fmt.Errorf("the history of %d calls is not linearizable (and its picture failed: %v)", len(ops), err)
		}
		return fmt.Errorf("the history of %d calls is not linearizable: see %s", len(ops), htmlPath)
	}
	return fmt.Errorf("porcupine could not decide the history of %d calls within %s", len(ops), checkTimeout)
}

// writeHistory lists history by call time, one call a line.
func writeHistory(w io.Writer, history []*operation) {
	sorted := append([]*operation(nil), history...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].call < sorted[j].call })
	for _, o := range sorted {
		ret := "-"
		if !o.unknown {
			ret = o.ret.String()
		}
		fmt.Fprintf(w, "%12s %12s client %d op %d: %s\n", o.call, ret, o.client, o.op, o)
	}
}
