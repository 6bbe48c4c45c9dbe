// Package server runs one replica of a real govsr cluster: the replica
// core of package vsr over the epoll bus (vsr/bus) and a data file
// (vsr/storage), with the key-value store of vsr/kv as its state machine.
// The loop touches the replica from one goroutine only, as the simulator
// does, and reads the wall clock only to turn it into ticks.
//
// cmd/vsr wires flags to a Config; other programs (tests, the chaos test)
// can run a replica in-process the same way.
package server

import (
	"errors"
	"fmt"
	"time"

	"github.com/govsr/govsr/vsr"
	"github.com/govsr/govsr/vsr/bus"
	"github.com/govsr/govsr/vsr/kv"
	"github.com/govsr/govsr/vsr/storage"
)

// Config is what every replica of a cluster is formatted and started with.
// All replicas (and the clients) must agree on Cluster, Addresses and the
// limits; Replica and Data are each replica's own.
type Config struct {
	Cluster   uint64   // non-zero
	Replica   int      // this replica's index in Addresses
	Addresses []string // every replica's host:port, in replica order
	Data      string   // the data file

	KeysMax        int    // key-value store capacity, in keys (0: the kv default)
	MessageSizeMax uint32 // largest message in bytes, header included (0: the vsr default)
	JournalSlots   int    // 0: the vsr default
	ClientsMax     int    // client sessions the cluster holds (0: the vsr default)
	PipelineMax    int    // prepares in flight at the primary (0: PipelineMaxDefault); not recorded in the data file

	// Served by Open beside the replica when set (host:port; port 0 picks one).
	MetricsAddress string // Prometheus metrics at /metrics
	PprofAddress   string // Go profiles at /debug/pprof/

	// For chaos tests: faults the bus injects (nil: none), and how often Run
	// prints a status line (0: every 5 s).
	BusFaults      *bus.Faults
	StatusInterval time.Duration
}

// PipelineMaxDefault is the real cluster's pipeline: one prepare syncing,
// the next waiting for the following group commit, and requests arriving
// meanwhile batched into the prepare after. Measured (README), deeper
// pipelines make more, smaller prepares and less throughput on one disk.
const PipelineMaxDefault = 2

// ErrConfig wraps every error that a wrong Config causes (as opposed to
// a failing disk or network): a command reports it as bad usage.
var ErrConfig = errors.New("bad configuration")

// Check reports the first field that cannot work, for a replica
// (needReplica) or a client process.
func (c *Config) Check(needReplica bool) error {
	if err := c.check(needReplica); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}

func (c *Config) check(needReplica bool) error {
	switch {
	case c.Cluster == 0:
		return errors.New("cluster id is required and non-zero")
	case len(c.Addresses) < 1 || len(c.Addresses) > vsr.ReplicasMax:
		return fmt.Errorf("addresses must list 1 to %d replicas, not %d", vsr.ReplicasMax, len(c.Addresses))
	case needReplica && (c.Replica < 0 || c.Replica >= len(c.Addresses)):
		return fmt.Errorf("replica %d is not an index of the %d addresses", c.Replica, len(c.Addresses))
	case needReplica && c.Data == "":
		return errors.New("a data file is required")
	case c.StatusInterval < 0:
		return fmt.Errorf("status interval %s is negative", c.StatusInterval)
	case c.BusFaults != nil:
		return c.BusFaults.Validate()
	}
	return nil
}

// Build makes the state machine and the replica options the config
// describes, and validates them. Format and Open derive them the same way,
// so a file formatted by one is opened by the other.
func (c *Config) Build() (*kv.Store, vsr.Options, error) {
	store, err := kv.New(kv.Options{KeysMax: c.KeysMax})
	if err != nil {
		return nil, vsr.Options{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	o := vsr.DefaultOptions(vsr.U128{Lo: c.Cluster}, uint8(max(c.Replica, 0)), uint8(len(c.Addresses)))
	if c.MessageSizeMax != 0 {
		o.MessageSizeMax = c.MessageSizeMax
	}
	if c.JournalSlots != 0 {
		o.JournalSlots = c.JournalSlots
	}
	if c.ClientsMax != 0 {
		o.ClientsMax = c.ClientsMax
	}
	o.PipelineMax = PipelineMaxDefault
	if c.PipelineMax != 0 {
		o.PipelineMax = c.PipelineMax
	}
	// A client has one request in flight: a queue as long as the sessions
	// never turns a request away for want of room.
	o.RequestQueueMax = max(o.RequestQueueMax, o.ClientsMax)
	o.CheckpointSizeMax = vsr.CheckpointSizeFor(o.ClientsMax, o.MessageSizeMax, store.SnapshotSizeMax())
	if err := o.Validate(); err != nil {
		return nil, vsr.Options{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return store, o, nil
}

// Format creates the replica's data file (a replacement for a lost one
// with rejoin) and returns its size in bytes.
func Format(c Config, rejoin bool) (uint64, error) {
	if err := c.Check(true); err != nil {
		return 0, err
	}
	_, o, err := c.Build()
	if err != nil {
		return 0, err
	}
	if err := storage.Format(c.Data, o, rejoin); err != nil {
		return 0, err
	}
	return vsr.NewLayout(o).Size, nil
}
