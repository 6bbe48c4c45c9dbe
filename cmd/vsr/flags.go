package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/govsr/govsr/server"
	"github.com/govsr/govsr/vsr"
)

// command is one subcommand's flag set: only the flags it uses, and an
// example in its --help.
type command struct {
	fs      *flag.FlagSet
	config  server.Config
	example string

	addresses  string
	messageKiB int
}

func newCommand(name, summary, example string, stderr io.Writer) *command {
	c := &command{fs: flag.NewFlagSet("vsr "+name, flag.ContinueOnError), example: example}
	c.fs.SetOutput(stderr)
	c.fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: vsr %s [flags]\n\n%s\n\nexample:\n  %s\n\nflags:\n", name, summary, example)
		c.fs.PrintDefaults()
	}
	c.fs.Uint64Var(&c.config.Cluster, "cluster", 0, "cluster id (non-zero; the same on every replica and client)")
	c.fs.StringVar(&c.addresses, "addresses", "",
		"every replica's host:port, comma-separated, in replica order (hostnames and [IPv6] literals accepted)")
	return c
}

// replicaFlags adds the flags that name one replica and its data file.
func (c *command) replicaFlags() {
	c.fs.IntVar(&c.config.Replica, "replica", -1, "this replica's index in --addresses")
	c.fs.StringVar(&c.config.Data, "data", "", "the replica's data file")
}

// limitFlags adds the limits a data file is formatted with; start must be
// given the same.
func (c *command) limitFlags() {
	c.fs.IntVar(&c.config.KeysMax, "keys-max", 1<<16, "key-value store capacity, in keys")
	c.fs.IntVar(&c.config.JournalSlots, "journal-slots", vsr.DefaultOptions(vsr.U128{Lo: 1}, 0, 1).JournalSlots, "journal slots")
	c.fs.IntVar(&c.config.ClientsMax, "clients-max", clientsMaxDefault, "client sessions the cluster holds")
	c.messageFlag()
}

// messageFlag adds the message size, which replicas and clients share.
func (c *command) messageFlag() {
	c.fs.IntVar(&c.messageKiB, "message-size-max-kib", 64, "largest message, KiB (the cluster's)")
}

// parse parses args and checks the config; positional arguments are
// refused unless positional.
func (c *command) parse(args []string, needReplica, positional bool) error {
	if err := c.fs.Parse(args); err != nil {
		return err
	}
	if c.fs.NArg() > 0 && !positional {
		return fmt.Errorf("unexpected argument %q", c.fs.Arg(0))
	}
	if c.addresses != "" {
		c.config.Addresses = strings.Split(c.addresses, ",")
	}
	if c.messageKiB < 0 || c.messageKiB > 64<<10 {
		return fmt.Errorf("--message-size-max-kib %d outside [1, %d]", c.messageKiB, 64<<10)
	}
	c.config.MessageSizeMax = uint32(c.messageKiB) << 10
	return c.config.Check(needReplica)
}
