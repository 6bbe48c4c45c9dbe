package vopr

import (
	"fmt"

	"github.com/govsr/govsr/vsr"
)

// committedHistory is what the reply checker needs of the canonical one.
type committedHistory interface {
	holdsRequest(op uint64, request vsr.U128) (committed, holds bool)
}

// replyChecker checks each reply a client gets against the canonical
// history: the op it names committed and holds the client's request, so a
// replied op never vanishes and a reply never answers another request.
type replyChecker struct {
	v       verdicts
	history committedHistory
}

func (c *replyChecker) onReply(client int, request vsr.U128, op uint64) {
	committed, holds := c.history.holdsRequest(op, request)
	switch {
	case !committed:
		c.v.fail(Correctness, fmt.Sprintf("client %d got a reply for op %d, which never committed", client, op))
	case !holds:
		c.v.fail(Correctness, fmt.Sprintf("client %d got a reply for op %d, which does not hold its request", client, op))
	}
}
