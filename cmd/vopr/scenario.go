package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/govsr/govsr/vopr"
)

// exitScriptFailed is vopr scenario's exit code for a script that failed:
// an expectation that did not hold, or a checker that failed the run.
const exitScriptFailed = 1

// scenario runs one scenario script (vopr.RunScenario) and prints its
// trace: vopr scenario [--bug B] FILE.
func scenario(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vopr scenario", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bug := fs.String("bug", "", "break the replicas on purpose: a vsr bug or "+fmt.Sprint(vopr.MachineBugs))
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "vopr: usage: vopr scenario [--bug B] FILE")
		return exitUsage
	}
	text, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "vopr: "+oneLine(err))
		return exitUsage
	}
	trace, err := vopr.RunScenario(filepath.Base(fs.Arg(0)), text, *bug)
	fmt.Fprint(stdout, trace)
	if err != nil {
		fmt.Fprintf(stderr, "FAILED %s\n", err)
		return exitScriptFailed
	}
	fmt.Fprintln(stdout, "PASSED")
	return exitPass
}
