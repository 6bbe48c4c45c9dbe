package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/govsr/govsr/vopr"
)

// Timeline pictures: `vopr --seed N --html FILE` draws the run, and every
// failing seed (of `vopr --seed` and of `vopr swarm`) gets its picture
// beside its report, as vopr-<seed>.timeline.html. A run records its
// timeline only when asked (--html); a failure without one is run again
// with a recorder, which the seed's determinism makes the same run.

// timelinePath is where a failing seed's picture goes.
func timelinePath(reportDir string, seed uint64) string {
	return filepath.Join(reportDir, fmt.Sprintf("vopr-%d.timeline.html", seed))
}

// simulateRecorded runs opts like simulate, recording the timeline when
// record is set (else the timeline is nil).
func simulateRecorded(opts vopr.Options, log io.Writer, level vopr.LogLevel, record bool) (*vopr.Result, *vopr.Timeline, time.Duration, error) {
	sim, err := vopr.New(opts, log, level)
	if err != nil {
		return nil, nil, 0, err
	}
	var tl *vopr.Timeline
	if record {
		tl = sim.RecordTimeline()
	}
	start := time.Now()
	res := sim.Run()
	return res, tl, time.Since(start), nil
}

// drawFailure writes the picture of a failed run beside its report and
// returns its path. Without a recorded timeline it runs the seed again
// with one, and draws nothing if that run ends differently.
func drawFailure(opts vopr.Options, res *vopr.Result, tl *vopr.Timeline, reportDir string) (string, error) {
	if tl == nil {
		again, recorded, _, err := simulateRecorded(opts, nil, 0, true)
		if err != nil {
			return "", err
		}
		if again.Digest != res.Digest {
			return "", fmt.Errorf("vopr: timeline: the rerun ended with digest %s, not %s: no picture", again.Digest, res.Digest)
		}
		tl = recorded
	}
	path := timelinePath(reportDir, opts.Seed)
	return path, tl.WriteHTMLFile(path, res)
}

// openHTML creates the --html file before the run, so that a bad path is
// a usage error rather than a lost picture.
func openHTML(path string) (*os.File, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--html: %w", err)
	}
	return f, nil
}

// writeTimelines draws the run into the --html file, if given, and beside
// the report of a failure; it says where.
func writeTimelines(out *os.File, opts *vopr.Options, res *vopr.Result, tl *vopr.Timeline, reportDir string, stdout, stderr io.Writer) {
	if out != nil {
		err := tl.WriteHTML(out, res)
		if closeErr := out.Close(); err == nil {
			err = closeErr
		}
		if err != nil {
			fmt.Fprintf(stderr, "vopr: timeline: %v\n", err)
		} else {
			fmt.Fprintf(stdout, "timeline: %s\n", out.Name())
		}
	}
	if res.Class == vopr.Pass {
		return
	}
	if path, err := drawFailure(*opts, res, tl, reportDir); err != nil {
		fmt.Fprintf(stderr, "vopr: %v\n", err)
	} else {
		fmt.Fprintf(stdout, "timeline: %s\n", path)
	}
}

// swarmTimeline draws a failing swarm seed beside its report; it returns
// a note for the seed's FAILED line.
func swarmTimeline(opts vopr.Options, res *vopr.Result, reportDir string) string {
	path, err := drawFailure(opts, res, nil, reportDir)
	if err != nil {
		return ", no timeline: " + err.Error()
	}
	return ", timeline " + path
}
