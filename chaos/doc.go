// Package chaos holds a Jepsen-style test of the real cluster: it builds
// cmd/vsr, runs 3 and then 5 replica processes on loopback, drives
// concurrent workers doing read, write and compare-and-set on a few keys
// through the client library (client/) while recording their history as
// Jepsen does (ok; fail: definitely did not happen; info: ErrIndefinite,
// may happen then or later), and meanwhile, from a seed, kills
// replicas (SIGKILL), pauses them (SIGSTOP/SIGCONT), restarts them,
// cuts the primary off from its peers while its clients still reach it,
// replaces one replica's data file with a --rejoin format, damages a few
// sectors of a stopped replica's data file (a superblock copy, the headers
// ring, prepare slots, a checkpoint area: bit flips and zeroed sectors, as
// a disk rots at rest; one replica's disk per round), and has the
// bus drop, delay and corrupt messages (vsr start --bus-faults; the
// client's requests through its Options.Dialer). Then it
// heals everything and checks that porcupine finds the history
// linearizable, that every acknowledged write is readable, and that the
// replicas agree on their state.
//
//	go test ./chaos                                # about a minute, a fresh seed
//	go test ./chaos -chaos.duration 30m -timeout 40m
//	go test ./chaos -chaos.seed 1234 -chaos.keep   # one schedule again; keep the logs
//
// The seed fixes the fault schedule and the clients' choices, not the
// timing of real processes, so a seed makes a failure likely again rather
// than certain. A failure names the seed and the directory that keeps the
// replicas' logs, the schedule, the history and porcupine's picture.
//
// The package has tests only.
package chaos
