package llm

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/driftcar/driftcar/bench/benchproc"
)

// findDriftcar is bin, or a build of ./cmd/driftcar of the module around
// the working directory into dir, or the driftcar next to this binary.
func findDriftcar(ctx context.Context, bin, dir string, log func(string, ...any)) (string, error) {
	if bin != "" {
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("cannot use --driftcar-bin: %w", err)
		}
		return filepath.Abs(bin)
	}
	root, err := benchproc.ModuleRoot()
	if err == nil {
		log("building driftcar (go build ./cmd/driftcar)")
		out := filepath.Join(dir, "bin", "driftcar")
		if err = benchproc.GoBuild(ctx, root, out, "./cmd/driftcar"); err == nil {
			return out, nil
		}
	}
	if exe, xerr := os.Executable(); xerr == nil {
		if sib := filepath.Join(filepath.Dir(exe), "driftcar"); benchproc.IsFile(sib) {
			return sib, nil
		}
	}
	return "", fmt.Errorf("cannot build driftcar (%w); pass --driftcar-bin or --mode inprocess", err)
}
