package chaos

import (
	"fmt"
	"io"
	"math"
	"sort"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/govsr/govsr/internal/kvmodel"
)

// checkTimeout bounds porcupine's search over one round's history.
const checkTimeout = 2 * time.Minute

// operation is one client call as the client saw it. Times are since the
// run began; a call is open from call to ret.
type operation struct {
	kvmodel.Call
	client int
	call   time.Duration
	ret    time.Duration
	op     uint64 // the op that executed it, when replied
}

// checkLinearizable runs porcupine over history. A read without a reply
// constrains nothing and is left out; any other call without one returns
// after everything else, so it may take effect or not. On a violation it
// writes porcupine's picture to htmlPath.
func checkLinearizable(history []*operation, htmlPath string) error {
	ops := make([]porcupine.Operation, 0, len(history))
	for _, o := range history {
		ret := int64(o.ret)
		if o.Unknown {
			if o.Kind == kvmodel.Read {
				continue
			}
			ret = math.MaxInt64
		}
		ops = append(ops, porcupine.Operation{ClientId: o.client, Input: &o.Call, Output: o, Call: int64(o.call), Return: ret})
	}
	result, info := porcupine.CheckOperationsVerbose(kvmodel.Model, ops, checkTimeout)
	switch result {
	case porcupine.Ok:
		return nil
	case porcupine.Illegal:
		if err := porcupine.VisualizePath(kvmodel.Model, info, htmlPath); err != nil {
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
		if !o.Unknown {
			ret = o.ret.String()
		}
		fmt.Fprintf(w, "%12s %12s client %d op %d: %s\n", o.call, ret, o.client, o.op, o)
	}
}
