package chaos

// The test's clients: the client library (client/) that applications use,
// one *client.Client shared by every worker, so that kills, pauses and bus
// faults test the library's retries, session handling and error
// classification too. Each outcome goes into the history as Jepsen
// records it: ok (a reply), fail (definitely did not happen) or info
// (ErrIndefinite: it may have happened, now or later).

import (
	"context"
	"errors"

	"github.com/govsr/govsr/client"
	"github.com/govsr/govsr/internal/kvmodel"
	"github.com/govsr/govsr/vsr/kv"
)

type request struct {
	kind             kvmodel.Kind
	key, value, from string
}

// reply is a call's outcome: a status (and value) from the cluster, or the
// library's error.
type reply struct {
	status kv.Status
	value  string
	op     uint64 // the op that executed it, when it has a status
	err    error
}

// clients are the workers' shared client and the faults on what it sends.
type clients struct {
	lib    *client.Client
	faults *sendFaults
	count  int // workers, each with one call in flight
}

// dialClients dials the cluster through the fault-injecting dialer
// (disarmed until a round arms it). The library may open two sessions per
// worker: a call that timed out holds its session while the session
// retries it, and the worker's next call takes another.
func dialClients(ctx context.Context, cluster uint64, addresses []string, count int, faults *sendFaults) (*clients, error) {
	lib, err := client.Dial(ctx, cluster, addresses, client.Options{SessionsMax: 2 * count, MessageSizeMax: messageSizeMax,
		DialTimeout: *convergeFlag, Dialer: faults.dial})
	if err != nil {
		return nil, err
	}
	return &clients{lib: lib, faults: faults, count: count}, nil
}

func (c *clients) close() { c.lib.Close() }

// do runs one request until its reply or until ctx ends.
func (c *clients) do(ctx context.Context, r request) reply {
	var op uint64
	var value []byte
	var swapped bool
	var err error
	switch r.kind {
	case kvmodel.Read:
		value, err = c.lib.Read(ctx, []byte(r.key), client.ReportOp(&op))
	case kvmodel.Write:
		err = c.lib.Write(ctx, []byte(r.key), []byte(r.value), client.ReportOp(&op))
	default:
		swapped, value, err = c.lib.CompareAndSet(ctx, []byte(r.key), []byte(r.from), []byte(r.value), client.ReportOp(&op))
	}
	got := outcome(r.kind, value, swapped, err)
	got.op = op
	return got
}

// outcome maps what the library returned onto the store's statuses: the
// errors that report a reply (not found, full) are statuses; any other
// error stays an error, ErrIndefinite or not.
func outcome(kind kvmodel.Kind, value []byte, swapped bool, err error) reply {
	switch {
	case err == nil && kind == kvmodel.CAS && !swapped:
		return reply{status: kv.StatusMismatch, value: string(value)}
	case err == nil:
		return reply{status: kv.StatusOK, value: string(value)}
	case errors.Is(err, client.ErrNotFound) && kind != kvmodel.Write:
		return reply{status: kv.StatusNotFound}
	case errors.Is(err, client.ErrFull) && kind == kvmodel.Write:
		return reply{status: kv.StatusFull}
	}
	return reply{err: err}
}
