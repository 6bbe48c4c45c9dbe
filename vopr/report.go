package vopr

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Report is what a failing run writes: enough to rerun it exactly (the
// options, not just the seed) and to tell whether the rerun failed the
// same way (class and digest).
//
// Marks are coverage marks (vopr/marks.go): a failing run records every
// mark it hit; a corpus entry keeps those its bug's path needs (an empty
// list if that path is normal operation), and the corpus test fails when
// its replay no longer hits them.
type Report struct {
	Seed            uint64   `json:"seed"`
	GitRevision     string   `json:"git_revision"`
	GoVersion       string   `json:"go_version"`
	Options         Options  `json:"options"`
	Class           Class    `json:"class"`
	Message         string   `json:"message"`
	Tick            uint64   `json:"tick"`
	TimeNs          uint64   `json:"time_ns"`
	Digest          string   `json:"digest"`
	Linearizability string   `json:"linearizability"`
	Visualization   string   `json:"visualization,omitempty"`
	LastEvents      []string `json:"last_events"`
	Marks           []string `json:"marks"`
}

// NewReport describes a finished run.
func NewReport(opts Options, res *Result, gitRevision, goVersion string) Report {
	return Report{Seed: opts.Seed, GitRevision: gitRevision, GoVersion: goVersion, Options: opts,
		Class: res.Class, Message: res.Message, Tick: res.Tick, TimeNs: res.TimeNs, Digest: res.Digest,
		Linearizability: res.Linearizability, Visualization: res.Visualization, LastEvents: res.Recent,
		Marks: res.MarksHit()}
}

// Write stores the report as dir/vopr-<seed>.json and returns the path.
func (r *Report) Write(dir string) (string, error) {
	path := filepath.Join(dir, fmt.Sprintf("vopr-%d.json", r.Seed))
	return path, r.WriteFile(path)
}

// WriteFile stores the report at path.
func (r *Report) WriteFile(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("vopr: writing report: %w", err)
	}
	return nil
}

// LoadReport reads and checks a report written by Write.
func LoadReport(path string) (Report, error) {
	var r Report
	data, err := os.ReadFile(path)
	if err != nil {
		return r, fmt.Errorf("vopr: reading report: %w", err)
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("vopr: report %s is not valid JSON: %w", path, err)
	}
	r.Options.absentRatiosNever()
	if err := r.Options.Validate(); err != nil {
		return r, fmt.Errorf("vopr: report %s: %w", path, err)
	}
	if err := CheckMarkNames(r.Marks); err != nil {
		return r, fmt.Errorf("vopr: report %s: marks: %w", path, err)
	}
	if r.Options.Seed != r.Seed {
		return r, fmt.Errorf("vopr: report %s: seed %d does not match its options' seed %d", path, r.Seed, r.Options.Seed)
	}
	return r, nil
}

// Replay reruns a report's options and says whether the same class and
// digest came back.
func Replay(r Report, log io.Writer, level LogLevel) (*Result, bool, error) {
	s, err := New(r.Options, log, level)
	if err != nil {
		return nil, false, err
	}
	res := s.Run()
	return res, res.Class == r.Class && res.Digest == r.Digest, nil
}
