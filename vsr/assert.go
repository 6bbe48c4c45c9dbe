package vsr

// assert panics with what when ok is false. It guards the replica's own
// invariants (preconditions, postconditions, relations between fields),
// never a peer's input: a message from the wire is filtered and dropped
// with a reason, and only then may code assert what the filter proved.
// Callers pass a constant string, so a passing assertion allocates nothing.
func assert(ok bool, what string) {
	if !ok {
		panic("vsr: assertion failed: " + what)
	}
}
