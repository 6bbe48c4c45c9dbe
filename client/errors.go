package client

import (
	"errors"
	"fmt"
)

// Errors of the client. Compare with errors.Is: an error may wrap more
// than one (an operation that timed out while no replica was reachable is
// ErrUnreachable, ErrIndefinite and context.DeadlineExceeded at once).
var (
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("client: closed")
	// ErrUnreachable: no replica could be reached (Dial: the cluster did
	// not answer in time; an operation: no connection to any replica was
	// up when it gave up).
	ErrUnreachable = errors.New("client: cluster unreachable")
	// ErrEvicted: the cluster evicted the session the operation ran in,
	// because more clients registered than it holds (see Options.SessionsMax
	// and the cluster's --clients-max). The client registers again for the
	// next operation.
	ErrEvicted = errors.New("client: session evicted by the cluster")
	// ErrIndefinite: the request was sent, and the operation failed before
	// its reply came back: it may or may not have taken effect, and may
	// still take effect later.
	ErrIndefinite = errors.New("client: outcome unknown")
	// ErrTooLarge: a key or value is larger than the cluster takes; the
	// error is a *TooLargeError.
	ErrTooLarge = errors.New("client: too large")
	// ErrNotFound: the key does not exist (Read, CompareAndSet).
	ErrNotFound = errors.New("client: key not found")
	// ErrFull: a write of a new key found the store full.
	ErrFull = errors.New("client: store full")
	// ErrInvalid: the cluster refused the request as malformed or beyond its
	// own limits (a cluster formatted with smaller limits than Options say).
	ErrInvalid = errors.New("client: request refused as invalid")
)

// TooLargeError names what is too large and by how much. It is
// ErrTooLarge for errors.Is.
type TooLargeError struct {
	What string // "key", "value", "from", "to"
	Size int    // its size, bytes
	Max  int    // the largest allowed, bytes
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("client: %s of %d bytes is larger than the %d allowed", e.What, e.Size, e.Max)
}

// Is makes a TooLargeError match ErrTooLarge.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// indefinite wraps err, the reason an operation whose request was sent
// gave up, as ErrIndefinite too.
func indefinite(operation string, err error) error {
	return fmt.Errorf("client: %s: %w (%w)", operation, err, ErrIndefinite)
}
