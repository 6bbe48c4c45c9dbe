package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/govsr/govsr/vopr"
)

// Timeline pictures: `vopr --seed N --html FILE` draws the run, and every
// failing seed (of `vopr --seed` and of `vopr swarm`) gets its picture
// beside its report, as vopr-<seed>.timeline.html. The picture comes from
// a second run of the seed with a recorder, which the seed's determinism
// makes the same run (checked by its digest): the first run, and every
// passing seed of a swarm, pay nothing for it.

// timelinePath is where a failing seed's picture goes.
func timelinePath(reportDir string, seed uint64) string {
	return filepath.Join(reportDir, fmt.Sprintf("vopr-%d.timeline.html", seed))
}

// timelineOf runs opts again with a recorder, and returns the recording
// if that run ended as res did.
func timelineOf(opts vopr.Options, res *vopr.Result) (*vopr.Timeline, error) {
	sim, err := vopr.New(opts, nil, 0)
	if err != nil {
		return nil, err
	}
	tl := sim.RecordTimeline()
	if again := sim.Run(); again.Digest != res.Digest {
		return nil, fmt.Errorf("vopr: timeline: the run again with a recorder ended with digest %s, not %s: no picture",
			again.Digest, res.Digest)
	}
	return tl, nil
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
func writeTimelines(out *os.File, opts *vopr.Options, res *vopr.Result, reportDir string, stdout, stderr io.Writer) {
	if out == nil && res.Class == vopr.Pass {
		return
	}
	tl, err := timelineOf(*opts, res)
	if out != nil {
		if err == nil {
			err = tl.WriteHTML(out, res)
		}
		if closeErr := out.Close(); err == nil {
			err = closeErr
		}
		report(stdout, stderr, out.Name(), err)
	}
	if res.Class != vopr.Pass {
		path := timelinePath(reportDir, opts.Seed)
		if err == nil {
			err = tl.WriteHTMLFile(path, res)
		}
		report(stdout, stderr, path, err)
	}
}

// report says where a picture went, or why it did not.
func report(stdout, stderr io.Writer, path string, err error) {
	if err != nil {
		fmt.Fprintf(stderr, "vopr: %v\n", err)
		return
	}
	fmt.Fprintf(stdout, "timeline: %s\n", path)
}

// swarmTimeline draws a failing swarm seed beside its report; it returns
// a line for the seed's FAILED message.
func swarmTimeline(opts vopr.Options, res *vopr.Result, reportDir string) string {
	tl, err := timelineOf(opts, res)
	path := timelinePath(reportDir, opts.Seed)
	if err == nil {
		err = tl.WriteHTMLFile(path, res)
	}
	if err != nil {
		return "no timeline: " + err.Error()
	}
	return "timeline: " + path
}
