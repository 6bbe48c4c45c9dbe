package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// benchProgress shows a benchmark's progress on out (stderr, so that the
// table on stdout stays clean): a bar over the requests on a terminal, a
// plain line every plainEvery elsewhere (CI logs, scripts).
type benchProgress struct {
	out      io.Writer
	total    int
	bar      *progressbar.ProgressBar // nil off a terminal
	lastLine time.Time
	started  time.Time
}

const plainEvery = 5 * time.Second

func newBenchProgress(out io.Writer, total int) *benchProgress {
	p := &benchProgress{out: out, total: total, started: time.Now(), lastLine: time.Now()}
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(out), progressbar.OptionSetDescription("requests"),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("req"),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish(), progressbar.OptionSetWidth(30))
	}
	return p
}

// update is the benchmark's Progress callback: replied requests so far.
func (p *benchProgress) update(replied int) {
	if p.bar != nil {
		_ = p.bar.Set(replied)
		return
	}
	now := time.Now()
	if now.Sub(p.lastLine) < plainEvery {
		return
	}
	p.lastLine = now
	fmt.Fprintf(p.out, "benchmark: %d of %d requests replied, %.0f requests/s\n", replied, p.total,
		float64(replied)/now.Sub(p.started).Seconds())
}

// finish removes the bar.
func (p *benchProgress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
