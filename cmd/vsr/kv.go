package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/govsr/govsr/client"
)

// Exit codes of vsr kv, beyond exitOK and exitUsage.
const (
	exitNo          = 1 // a definite "no": read of a missing key, cas mismatch or missing key, write to a full store
	exitUnreachable = 3 // no replica could be reached: nothing was done
	exitIndefinite  = 4 // the request was sent but no reply came in time (or the session was evicted): it may have happened
	exitKVFailure   = 5 // anything else
)

const kvSummary = `Reads, writes or compare-and-sets one key and prints one line:
  read K          the value (exit 0), or "not_found" (exit 1)
  write K V       "ok" (exit 0), or "full" (exit 1: a new key in a full store)
  cas K FROM TO   "ok" (exit 0), "mismatch CURRENT" or "not_found" (exit 1)
Exit codes: 0 done, 1 a definite no (as above), 2 bad usage, 3 cluster unreachable (nothing done),
4 outcome unknown (no reply before --timeout: the operation may still happen), 5 other failure.`

func kvCommand(args []string, stdout, stderr io.Writer) int {
	cmd := newCommand("kv", kvSummary, "vsr kv --cluster 7 --addresses 127.0.0.1:3001,127.0.0.1:3002,127.0.0.1:3003 write color red", stderr)
	cmd.messageFlag()
	var timeout time.Duration
	cmd.fs.DurationVar(&timeout, "timeout", 10*time.Second, "give up after this long")
	if err := cmd.parse(args, false, true); err != nil {
		return usageError(stderr, err)
	}
	op := cmd.fs.Args()
	want := map[string]int{"read": 2, "write": 3, "cas": 4}
	if len(op) == 0 || want[op[0]] == 0 || len(op) != want[op[0]] {
		return usageError(stderr, fmt.Errorf("kv: want read K, write K V or cas K FROM TO, not %q", op))
	}
	if timeout <= 0 {
		return usageError(stderr, fmt.Errorf("--timeout %s must be positive", timeout))
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := client.Dial(ctx, cmd.config.Cluster, cmd.config.Addresses,
		client.Options{SessionsMax: 1, MessageSizeMax: cmd.config.MessageSizeMax, DialTimeout: timeout})
	if err != nil {
		return kvError(stderr, err)
	}
	defer c.Close()
	line, code, err := kvRun(ctx, c, op)
	if err != nil {
		return kvError(stderr, err)
	}
	fmt.Fprintln(stdout, line)
	return code
}

// kvRun runs one operation and returns its line of output and exit code.
func kvRun(ctx context.Context, c *client.Client, op []string) (string, int, error) {
	key := []byte(op[1])
	switch op[0] {
	case "read":
		value, err := c.Read(ctx, key)
		if errors.Is(err, client.ErrNotFound) {
			return "not_found", exitNo, nil
		}
		return string(value), exitOK, err
	case "write":
		err := c.Write(ctx, key, []byte(op[2]))
		if errors.Is(err, client.ErrFull) {
			return "full", exitNo, nil
		}
		return "ok", exitOK, err
	}
	swapped, current, err := c.CompareAndSet(ctx, key, []byte(op[2]), []byte(op[3]))
	switch {
	case errors.Is(err, client.ErrNotFound):
		return "not_found", exitNo, nil
	case err == nil && !swapped:
		return "mismatch " + string(current), exitNo, nil
	}
	return "ok", exitOK, err
}

// kvError reports err and returns the exit code its kind has.
func kvError(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "vsr: kv: %v\n", err)
	switch {
	case errors.Is(err, client.ErrTooLarge):
		return exitUsage
	case errors.Is(err, client.ErrIndefinite): // first: a request sent may have run, reachable or not
		return exitIndefinite
	case errors.Is(err, client.ErrUnreachable):
		return exitUnreachable
	}
	return exitKVFailure
}
