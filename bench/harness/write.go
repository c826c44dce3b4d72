package harness

import (
	"fmt"
	"os"
	"path/filepath"
)

// Write writes the report into dir as <date>-<host>.md and .json, with
// the latency-vs-rate plot beside them as .svg or .png, and returns the
// paths written. A plot that cannot be drawn (no unsaturated point) is
// left out with a note.
func (rep *Report) Write(dir, plotFormat string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", dir, err)
	}
	base := filepath.Join(dir, rep.BaseName())
	var paths []string
	if img, err := rep.PlotImage(plotFormat); err == nil {
		rep.Plot = rep.BaseName() + "." + plotFormat
		if err := os.WriteFile(base+"."+plotFormat, img, 0o644); err != nil {
			return nil, err
		}
		paths = append(paths, base+"."+plotFormat)
	} else {
		rep.Plot = ""
		rep.Notes = append(rep.Notes, "no plot: "+err.Error())
	}
	js, err := rep.JSON()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(base+".json", js, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(base+".md", []byte(rep.Markdown()), 0o644); err != nil {
		return nil, err
	}
	return append(paths, base+".json", base+".md"), nil
}
