package refbuild

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/driftcar/driftcar/config"
	"github.com/driftcar/driftcar/sampler/sketch"
)

// Usage is the command's help text.
const Usage = `usage: driftcar reference build --input FILE --config FILE --out FILE [--format csv|jsonl|log] [--arm NAME] [--bins N]

Streams FILE (CSV with a header row, or JSON lines) and writes the reference
profile of the features and prediction that the config names. When the
config's ground_truth.label.column names the label column of a CSV or JSON
lines FILE, the profile also holds the model's performance on it.
`

// Run runs `driftcar reference build` with args (after "build") and
// returns the exit code.
func Run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("reference build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, Usage) }
	input := fs.String("input", "", "training data (.csv or .jsonl), or the prediction log's file sink with --format log")
	cfgPath := fs.String("config", "", "driftcar config naming the features")
	out := fs.String("out", "", "reference profile to write")
	format := fs.String("format", "", "csv, jsonl, or log for the prediction log's file sink (default: from the input's extension)")
	arm := fs.String("arm", "", "with --format log, only the records of this arm (default: every arm)")
	bins := fs.Int("bins", 20, "quantile bins per numeric feature")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *input == "" || *cfgPath == "" || *out == "" {
		fmt.Fprint(stderr, "driftcar reference build: --input, --config and --out are required\n\n"+Usage)
		return 2
	}
	if err := build(*input, *cfgPath, *out, *format, *arm, *bins, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "driftcar reference build: %v\n", err)
		return 1
	}
	return 0
}

func build(input, cfgPath, out, format, arm string, bins int, stdout, stderr io.Writer) error {
	cfg, _, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	specs, pred, err := cfg.PayloadSpecs()
	if err != nil {
		return err
	}
	if len(specs) == 0 && pred == nil {
		return fmt.Errorf("config %s names no features and no prediction", cfgPath)
	}
	inFormat, err := formatOf(input, format)
	if err != nil {
		return err
	}
	if arm != "" && inFormat != sketch.PredictionLog {
		return errors.New("--arm selects records of the prediction log: use it with --format log")
	}
	label, note := labelSpec(cfg, inFormat)
	f, err := os.Open(input)
	if err != nil {
		return fmt.Errorf("cannot open input: %w", err)
	}
	defer func() { _ = f.Close() }()
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	progress := newProgress(stderr, filepath.Base(input), size)
	start := time.Now()
	profile, err := sketch.BuildReference(f, inFormat, specs, sketch.BuildOptions{
		Bins:       bins,
		Prediction: pred,
		Label:      label,
		Progress:   progress.update,
		Arm:        arm,
	})
	progress.done()
	if err != nil {
		return err
	}
	if err := profile.WriteFile(out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d rows, %d features%s%s, hash %s (%s)\n",
		out, profile.Rows, len(profile.Features), performanceSummary(profile.Performance), note,
		profile.Hash, time.Since(start).Round(time.Millisecond))
	return nil
}

func formatOf(input, format string) (sketch.InputFormat, error) {
	if format == "" {
		format = strings.TrimPrefix(strings.ToLower(filepath.Ext(input)), ".")
	}
	switch format {
	case "csv":
		return sketch.CSV, nil
	case "jsonl", "ndjson":
		return sketch.JSONL, nil
	case "log":
		return sketch.PredictionLog, nil
	}
	return 0, errors.New("cannot tell the input format: use --format csv, jsonl or log")
}

// progress prints a one-line progress display on a terminal, and nothing
// otherwise.
type progress struct {
	w     io.Writer
	name  string
	size  int64
	start time.Time
	tty   bool
	shown bool
}

func newProgress(w io.Writer, name string, size int64) *progress {
	p := &progress{w: w, name: name, size: size, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) update(read int64) {
	if !p.tty {
		return
	}
	p.shown = true
	secs := time.Since(p.start).Seconds()
	rate := float64(read) / max(secs, 1e-3) / (1 << 20)
	if p.size > 0 {
		fmt.Fprintf(p.w, "\rreading %s: %s of %s (%.0f%%), %.0f MiB/s   ", p.name, mib(read), mib(p.size), 100*float64(read)/float64(p.size), rate)
		return
	}
	fmt.Fprintf(p.w, "\rreading %s: %s, %.0f MiB/s   ", p.name, mib(read), rate)
}

func (p *progress) done() {
	if p.shown {
		fmt.Fprintln(p.w)
	}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
