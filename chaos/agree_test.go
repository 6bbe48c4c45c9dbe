package chaos

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// replicaStatus is a parsed status line.
type replicaStatus struct {
	status     string
	view       uint32
	op, commit uint64
	digest     string
}

func parseStatus(line string) (replicaStatus, bool) {
	var s replicaStatus
	n, err := fmt.Sscanf(line, "%s view=%d op=%d commit=%d digest=%s", &s.status, &s.view, &s.op, &s.commit, &s.digest)
	return s, err == nil && n == 5
}

// awaitAgreement waits until every replica prints, after the call, the
// same normal view, commit (at least op, the highest any client was told
// of) and digest.
func (r *run) awaitAgreement(ctx context.Context, op uint64) error {
	since := time.Now()
	var last []string
	for {
		agreed, lines := r.agreement(since, op)
		if agreed {
			r.c.note("agreed: %s", lines[0])
			return nil
		}
		last = lines
		select {
		case <-ctx.Done():
			return fmt.Errorf("the replicas did not agree within %s of the heal (highest op replied %d): %s",
				*convergeFlag, op, strings.Join(last, " | "))
		case <-time.After(statusInterval):
		}
	}
}

// agreement reports whether the replicas' latest status lines, printed
// after since, agree; it returns the lines.
func (r *run) agreement(since time.Time, op uint64) (bool, []string) {
	var lines []string
	agreed := true
	var first replicaStatus
	for i, p := range r.c.replicas {
		state, last := p.current()
		lines = append(lines, fmt.Sprintf("replica %d: %s", i, last.line))
		s, ok := parseStatus(last.line)
		switch {
		case state != stateRunning || !ok || last.at.Before(since) || s.status != "normal" || s.commit < op:
			agreed = false
		case i == 0:
			first = s
		case s.view != first.view || s.commit != first.commit || s.digest != first.digest:
			agreed = false
		}
	}
	return agreed, lines
}
