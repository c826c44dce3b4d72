package testutil

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Python is the interpreter the scipy oracles run on.
const Python = "/usr/bin/python3"

// SciPy returns Python if it imports scipy and numpy; otherwise it skips
// tb, or fails it when CI is set.
func SciPy(tb testing.TB) string {
	tb.Helper()
	if err := exec.Command(Python, "-c", "import scipy, numpy").Run(); err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("scipy oracle unavailable in CI: %v (apt-get install -y python3-scipy python3-numpy)", err)
		}
		tb.Skipf("scipy oracle unavailable: %v (apt-get install -y python3-scipy python3-numpy)", err)
	}
	return Python
}

// SciPyOracle runs script on SciPy's interpreter with the JSON of in in a
// file named by sys.argv[1], and decodes the script's standard output, a
// JSON document, into out.
func SciPyOracle(tb testing.TB, script string, in, out any) {
	tb.Helper()
	py := SciPy(tb)
	data, err := json.Marshal(in)
	if err != nil {
		tb.Fatalf("cannot encode oracle input: %v", err)
	}
	path := filepath.Join(tb.TempDir(), "oracle.json")
	WriteFile(tb, path, string(data))
	var stderr bytes.Buffer
	cmd := exec.Command(py, "-c", script, path)
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		tb.Fatalf("scipy oracle failed: %v\n%s", err, stderr.String())
	}
	if err := json.Unmarshal(stdout, out); err != nil {
		tb.Fatalf("cannot decode oracle output: %v", err)
	}
}
