package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/govsr/govsr/client"
	"github.com/govsr/govsr/internal/kvmodel"
	"github.com/govsr/govsr/vsr/kv"
)

// checkTimeout bounds porcupine's search over one round's history.
const checkTimeout = 2 * time.Minute

// operation is one client call as the client saw it. Times are since the
// run began; a call is open from call to ret. A call the library failed
// is, as in Jepsen, either indefinite (Unknown: it may have happened, now
// or later) or failed (it definitely did not happen).
type operation struct {
	kvmodel.Call
	client   int
	call     time.Duration
	ret      time.Duration
	op       uint64 // the op that executed it, when replied
	err      string // the library's error, if any
	failed   bool   // the error was definite: the call did not happen
	timedOut bool   // the error was its context's deadline
	final    bool   // a read after the heal: it must have its reply
}

// apply records the call's outcome: its status and value, or the
// library's error and what it says about the outcome.
func (o *operation) apply(got reply) {
	err := got.err
	if err == nil {
		o.Status, o.op = got.status, got.op
		if o.Kind == kvmodel.Read || got.status == kv.StatusMismatch {
			o.Output = got.value
		}
		return
	}
	o.err = err.Error()
	o.timedOut = errors.Is(err, context.DeadlineExceeded)
	if errors.Is(err, client.ErrIndefinite) {
		o.Unknown = true
	} else {
		o.failed = true
	}
}

// checkLinearizable runs porcupine over history. A failed call did not
// happen and a read without a reply constrains nothing: both are left out;
// any other call without a reply returns after everything else, so it may
// take effect or not. On a violation it
// writes porcupine's picture to htmlPath.
func checkLinearizable(history []*operation, htmlPath string) error {
	ops := make([]porcupine.Operation, 0, len(history))
	for _, o := range history {
		if o.failed {
			continue
		}
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
		ret, outcome := "-", ""
		if !o.Unknown {
			ret = o.ret.String()
		}
		if o.err != "" {
			outcome = fmt.Sprintf(" [failed %t: %s]", o.failed, o.err)
		}
		fmt.Fprintf(w, "%12s %12s client %d op %d: %s%s\n", o.call, ret, o.client, o.op, o, outcome)
	}
}

// checkErrors fails a round in which a read after the heal had no reply
// (within the converge time: the cluster or the library wedged), or a
// call failed definitely other than by its own timeout (nothing the test
// sends is refused).
func checkErrors(history []*operation) error {
	var wedged, failed []string
	for _, o := range history {
		switch {
		case o.final && o.err != "":
			wedged = append(wedged, fmt.Sprintf("%s (%s)", o, o.err))
		case o.failed && !o.timedOut:
			failed = append(failed, fmt.Sprintf("%s (%s)", o, o.err))
		}
	}
	if len(wedged) > 0 {
		return fmt.Errorf("wedged: %d reads after the heal had no reply within %s, e.g. %s", len(wedged), *convergeFlag,
			strings.Join(wedged[:min(len(wedged), 3)], "; "))
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d calls failed, e.g. %s", len(failed), strings.Join(failed[:min(len(failed), 3)], "; "))
	}
	return nil
}
