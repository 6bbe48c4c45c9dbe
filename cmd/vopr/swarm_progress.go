package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows how a swarm is going. On a terminal: a bar over the seeds
// (--seeds) or over the time (--duration), described with the seeds done,
// the failures and seeds/hour. Elsewhere (CI logs, a cluster's pod log): a
// plain line every plainEvery of wall time and every twentieth of the work.
type progress struct {
	mu       sync.Mutex
	bar      *progressbar.ProgressBar // nil off a terminal
	out      io.Writer
	start    time.Time
	seeds    uint64        // seeds to run (--seeds); 0 with --duration
	duration time.Duration // --duration; 0 with --seeds
	done     uint64
	failed   uint64

	lastLine      time.Time // when the last plain line was written
	twentiethDone uint64    // twentieths of the work reported in plain lines
	lineDone      uint64    // seeds done at the last plain line
}

// plainEvery is the longest wall time between two plain lines.
const plainEvery = 30 * time.Second

func newProgress(out io.Writer, seeds uint64, duration time.Duration, start time.Time) *progress {
	p := &progress{out: out, start: start, seeds: seeds, duration: duration, lastLine: start}
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		options := []progressbar.Option{progressbar.OptionSetWriter(out), progressbar.OptionSetDescription(p.describe(start)),
			progressbar.OptionThrottle(200 * time.Millisecond), progressbar.OptionClearOnFinish(), progressbar.OptionSetWidth(30)}
		barMax := int64(seeds)
		if duration > 0 {
			barMax = int64(duration / time.Second)
			options = append(options, progressbar.OptionSetPredictTime(false), progressbar.OptionSetElapsedTime(true))
		} else {
			options = append(options, progressbar.OptionShowCount())
		}
		p.bar = progressbar.NewOptions64(barMax, options...)
	}
	return p
}

// seedsPerHour is the rate so far.
func (p *progress) seedsPerHour(now time.Time) float64 {
	elapsed := now.Sub(p.start)
	if elapsed <= 0 {
		return 0
	}
	return float64(p.done) / elapsed.Hours()
}

func (p *progress) describe(now time.Time) string {
	return fmt.Sprintf("%d seeds, %d failed, %.0f seeds/hour", p.done, p.failed, p.seedsPerHour(now))
}

// add counts a finished seed.
func (p *progress) add(failed bool, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if failed {
		p.failed++
	}
	if p.bar != nil {
		p.bar.Describe(p.describe(now))
		if p.duration == 0 {
			_ = p.bar.Add(1)
		}
		return
	}
	p.plain(now, false)
}

// tick moves the bar over time and writes a plain line when one is due;
// the swarm calls it every second.
func (p *progress) tick(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Describe(p.describe(now))
		if p.duration > 0 {
			_ = p.bar.Set64(min(int64(now.Sub(p.start)/time.Second), int64(p.duration/time.Second)))
		}
		return
	}
	p.plain(now, false)
}

// plain writes a line if a twentieth of the work more is done, if
// plainEvery has passed since the last line, or if forced (the end).
func (p *progress) plain(now time.Time, force bool) {
	var twentieths uint64
	switch {
	case p.seeds > 0:
		twentieths = p.done * 20 / p.seeds
	case p.duration > 0:
		twentieths = uint64(now.Sub(p.start) * 20 / p.duration)
	}
	due := twentieths > p.twentiethDone || now.Sub(p.lastLine) >= plainEvery
	if !due && !(force && p.done != p.lineDone) {
		return
	}
	p.twentiethDone = max(p.twentiethDone, twentieths)
	p.lastLine, p.lineDone = now, p.done
	if p.seeds > 0 {
		fmt.Fprintf(p.out, "%d/%d seeds, %d failed, %.0f seeds/hour\n", p.done, p.seeds, p.failed, p.seedsPerHour(now))
		return
	}
	fmt.Fprintf(p.out, "%d seeds, %d failed, %.0f seeds/hour, %s of %s\n", p.done, p.failed, p.seedsPerHour(now),
		now.Sub(p.start).Round(time.Second), p.duration)
}

// println writes a line (a failure) to w without tearing the bar.
func (p *progress) println(line string, w io.Writer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Clear()
	}
	fmt.Fprintln(w, line)
}

// finish ends the bar, or writes the last plain line if the last one is stale.
func (p *progress) finish(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
		return
	}
	p.plain(now, true)
}
