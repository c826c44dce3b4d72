package harness

import (
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/driftcar/driftcar/bench/loadgen"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it); got:\n%s", path, got)
	}
}

// fakeRun is a measured run with n responses whose latency is spread
// evenly over [lat/2, 3lat/2), over n/rate seconds.
func fakeRun(scenario string, mode loadgen.Mode, rate float64, round int, achieved float64, lat time.Duration, failed int64, cpu float64) *run {
	n := int64(achieved * 2) // 2-second runs
	res := &loadgen.Result{
		Mode: mode, Rate: rate, Planned: 2 * time.Second,
		Elapsed: time.Duration(float64(n) / achieved * float64(time.Second)),
		Sent:    n + failed, Responses: n, OK: n,
		Errors:  failed,
		Latency: loadgen.NewHistogram(), Uncorrected: loadgen.NewHistogram(), SendLag: loadgen.NewHistogram(),
	}
	if mode == loadgen.Closed {
		res.Conns = 32
	} else {
		res.Workers = 1 + int(rate*lat.Seconds())
	}
	for i := range n {
		d := lat/2 + time.Duration(float64(lat)*float64(i)/float64(n))
		res.Latency.Record(d)
		res.Uncorrected.Record(d * 9 / 10)
		if mode == loadgen.Open {
			res.SendLag.Record(d / 10)
		}
	}
	return &run{scenario: scenario, mode: mode, rate: rate, round: round, res: res, proxyCPU: cpu, selfCPU: float64(n) * 20e-6}
}

// fakeReport is a full report of fixed, made-up figures: driftcar meets
// some targets and misses others, nginx+slow-mirror saturates, httputil
// is skipped.
func fakeReport(t *testing.T) *Report {
	t.Helper()
	o := DefaultOptions(true)
	o.Rates = []float64{5000, 15000}
	type fig struct {
		max  float64
		lat  time.Duration // at 5000/s; 15000/s is 1.5×
		cpu  float64       // s per 1k
		fail int64
	}
	figs := map[string]fig{
		Direct:             {110000, 150 * time.Microsecond, math.NaN(), 0},
		Nginx:              {49000, 400 * time.Microsecond, 0.0137, 0},
		Driftcar:           {50000, 380 * time.Microsecond, 0.0182, 0},
		DriftcarSample:     {46000, 420 * time.Microsecond, 0.0201, 0},
		NginxMirror:        {12400, 900 * time.Microsecond, 0.0569, 3},
		DriftcarShadow:     {28000, 600 * time.Microsecond, 0.0320, 0},
		DriftcarAll:        {24000, 700 * time.Microsecond, 0.0390, 0},
		NginxSlowMirror:    {160, 0, 0.0729, 0},
		DriftcarSlowShadow: {48000, 390 * time.Microsecond, 0.0190, 0},
	}
	e := &env{skipped: map[string]string{HTTPUtil: "go is not installed"}}
	var runs []*run
	for _, s := range scenarios {
		f, ok := figs[s.Name]
		if !ok {
			continue
		}
		e.targets = append(e.targets, &target{info: s})
		for round := 1; round <= 2; round++ {
			maxR := f.max * (1 + 0.01*float64(round))
			runs = append(runs, fakeRun(s.Name, loadgen.Closed, 0, round, maxR, time.Duration(32/maxR*1e9), 0, f.cpu*maxR*2/1000))
			for i, rate := range o.Rates {
				if rate > f.max {
					continue
				}
				lat := f.lat * time.Duration(2+i) / 2
				runs = append(runs, fakeRun(s.Name, loadgen.Open, rate, round, rate*0.999, lat, f.fail, f.cpu*rate*2/1000))
			}
		}
	}
	for _, x := range runs {
		n := float64(x.res.Responses)
		switch x.scenario {
		case DriftcarShadow, DriftcarSlowShadow:
			ok := n
			if x.scenario == DriftcarSlowShadow {
				ok = math.Round(n / 40)
			}
			x.taps = map[string]float64{
				`driftcar_requests_total{arm="live",code="2xx"}`:              n,
				`driftcar_shadow_requests_total{result="ok"}`:                 ok,
				`driftcar_shadow_requests_total{result="dropped_queue_full"}`: n - ok,
			}
		case DriftcarAll:
			x.taps = map[string]float64{
				`driftcar_requests_total{arm="live",code="2xx"}`:   math.Round(n * 0.9),
				`driftcar_requests_total{arm="canary",code="2xx"}`: n - math.Round(n*0.9),
				`driftcar_shadow_requests_total{result="ok"}`:      n,
				`driftcar_sampler_rows_total`:                      n,
				`driftcar_drift_evaluations_total`:                 2,
			}
		case DriftcarSample:
			x.taps = map[string]float64{`driftcar_requests_total{arm="live",code="2xx"}`: n, `driftcar_sampler_rows_total`: n - 5,
				`driftcar_sampler_dropped_total{reason="queue_full"}`: 5}
		}
	}
	// nginx+slow-mirror at 5000/s would be skipped by the runner; give it
	// one saturated point to render.
	runs = append(runs, fakeRun(NginxSlowMirror, loadgen.Open, 5000, 1, 160, 3*time.Second, 0, 0.1))
	rep := buildReport(o, e, runs, map[string]float64{Nginx: 12.3, NginxMirror: 12.6, NginxSlowMirror: 13.1, Driftcar: 21.4,
		DriftcarSample: 30.2, DriftcarShadow: 25.0, DriftcarAll: 33.3, DriftcarSlowShadow: 26.1})
	rep.Started = time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	rep.Finished = rep.Started.Add(150 * time.Second)
	rep.Machine = Machine{Host: "vm", OS: "linux/amd64", Kernel: "6.18.44", CPUModel: "Test CPU @ 2.0GHz", CPUs: 2, MemoryGiB: 23.5,
		Go: "go1.26.8", Nginx: "nginx/1.22.1"}
	rep.Plot = rep.BaseName() + ".svg"
	return rep
}

func TestReportFormat(t *testing.T) {
	rep := fakeReport(t)
	golden(t, "report.md", rep.Markdown())
	golden(t, "report.txt", rep.Text())
	js, err := rep.JSON()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "report.json", string(js))
	golden(t, "readme.md", ReadmeSection(rep, "bench/results/"+rep.BaseName()+".json"))
}

func TestReportJSONRoundTrip(t *testing.T) {
	rep := fakeReport(t)
	js, err := rep.JSON()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "r.json")
	if err := os.WriteFile(path, js, 0o644); err != nil {
		t.Fatal(err)
	}
	back, err := ReadReport(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Markdown() != rep.Markdown() {
		t.Error("the report read back renders differently")
	}
	if err := os.WriteFile(path, []byte(`{"schema":99}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadReport(path); err == nil {
		t.Error("schema 99 read; want an error")
	}
}

// TestReportFigures checks the aggregation behind the golden files.
func TestReportFigures(t *testing.T) {
	rep := fakeReport(t)
	d := rep.Scenario(Driftcar)
	if got, want := d.Max.Achieved, 50000*1.015; math.Abs(got-want) > 1 {
		t.Errorf("max = %v; want the median of rounds %v", got, want)
	}
	p := d.at(5000)
	if p == nil || p.Saturated || p.AddedP50 == nil {
		t.Fatalf("driftcar at 5000/s: %+v", p)
	}
	// Uniform over [190, 570) µs: p50 ≈ 380 µs; direct's ≈ 150 µs.
	if got := *p.AddedP50; math.Abs(got-0.230) > 0.002 {
		t.Errorf("added p50 = %v ms; want 0.230", got)
	}
	if got := *p.CPUPer1k; math.Abs(got-0.0182) > 0.0002 {
		t.Errorf("cpu = %v s/1k; want 0.0182", got)
	}
	if s := rep.Scenario(NginxSlowMirror); !s.at(5000).Saturated || s.at(15000).Skipped == "" {
		t.Errorf("nginx+slow-mirror sweep %+v; want saturated at 5000/s and skipped at 15000/s", s.Sweep)
	}
	if s := rep.Scenario(HTTPUtil); s.Skipped == "" {
		t.Error("httputil not skipped")
	}
	if got := rep.Scenario(NginxMirror).Failed; got != 6 {
		t.Errorf("nginx+mirror failed %d; want 6 (3 per run at 5000/s, its only rate)", got)
	}
}

func TestRatios(t *testing.T) {
	rep := fakeReport(t)
	got := map[string]string{}
	for _, r := range rep.Ratios {
		got[r.Name] = r.Verdict()
	}
	want := map[string]string{
		"driftcar / nginx, max throughput":                    "met",           // 1.02
		"driftcar / nginx, added p99 at 5000/s":               "met",           // 0.23 vs 0.25 ms
		"driftcar+shadow / nginx+mirror, max throughput":      "met",           // 2.26
		"driftcar+slow-shadow / driftcar, max throughput":     "met",           // 0.96
		"driftcar+all / driftcar, max throughput":             "missed by 36%", // 0.48
		"driftcar / nginx, CPU per request at 5000/s":         "missed by 33%", // 1.33
		"driftcar / nginx, CPU per request at max throughput": "",
		"driftcar+sample / driftcar, max throughput":          "",
		"httputil / nginx, max throughput":                    "n/a (httputil skipped)",
		"nginx+slow-mirror / nginx, max throughput":           "",
		"driftcar / direct, max throughput":                   "",
		// The fake run measured no logging scenario.
		"driftcar+log-file / driftcar, max throughput":        "n/a (driftcar+log-file has no throughput)",
		"driftcar+log-dead-events / driftcar, max throughput": "n/a (driftcar+log-dead-events has no throughput)",
		"driftcar+log-dead-kafka / driftcar, max throughput":  "n/a (driftcar+log-dead-kafka has no throughput)",
		"driftcar+ground-truth / driftcar, max throughput":    "n/a (driftcar+ground-truth has no throughput)",
		"driftcar+log-dead-events / driftcar, p99 at 5000/s":  "n/a (driftcar+log-dead-events not measured at 5000/s)",
		"driftcar+log-dead-kafka / driftcar, p99 at 5000/s":   "n/a (driftcar+log-dead-kafka not measured at 5000/s)",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("verdicts\n got %v\nwant %v", got, want)
	}

	for _, c := range []struct {
		name string
		r    Ratio
		want string
	}{
		{"at target", Ratio{Value: ptr(0.9), Op: ">=", Target: 0.9}, "met"},
		{"below", Ratio{Value: ptr(0.45), Op: ">=", Target: 0.9}, "missed by 50%"},
		{"above a ceiling", Ratio{Value: ptr(1.5), Op: "<=", Target: 1}, "missed by 50%"},
		{"information", Ratio{Value: ptr(3.0)}, ""},
		{"missing", Ratio{Op: ">=", Target: 1, Missing: "nginx skipped"}, "n/a (nginx skipped)"},
		{"met without a value", Ratio{Op: "<=", Target: 1, Met: ptr(true)}, "met"},
		{"missed without a value", Ratio{Op: "<=", Target: 1, Met: ptr(false)}, "missed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.r.judge().Verdict(); got != c.want {
				t.Errorf("got %q; want %q", got, c.want)
			}
		})
	}
}

func TestPlot(t *testing.T) {
	rep := fakeReport(t)
	for _, format := range []string{"svg", "png"} {
		img, err := rep.PlotImage(format)
		if err != nil {
			t.Fatal(err)
		}
		if len(img) < 1000 {
			t.Errorf("%s: %d bytes", format, len(img))
		}
		if format != "svg" {
			continue
		}
		for _, s := range []string{Driftcar, Nginx, DriftcarShadow} {
			if !strings.Contains(string(img), ">"+s+"<") {
				t.Errorf("the svg has no legend entry %s", s)
			}
		}
	}
	empty := &Report{Scenarios: []ScenarioResult{{ScenarioInfo: ScenarioInfo{Name: Direct}}}}
	if _, err := empty.PlotImage("svg"); err == nil {
		t.Error("plotted nothing without an error")
	}
}

func TestWriteAndReadme(t *testing.T) {
	rep := fakeReport(t)
	dir := filepath.Join(t.TempDir(), "bench", "results")
	paths, err := rep.Write(dir, "svg")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 3 {
		t.Fatalf("wrote %v; want svg, json, md", paths)
	}
	for _, p := range paths {
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", p, err)
		}
	}
	// An older report in the same directory is not the latest.
	older := fakeReport(t)
	older.Started = rep.Started.Add(-24 * time.Hour)
	if _, err := older.Write(dir, "svg"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.json"), []byte(`[1,2]`), 0o644); err != nil {
		t.Fatal(err)
	}
	latest, path, err := LatestReport(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !latest.Started.Equal(rep.Started) || filepath.Base(path) != rep.BaseName()+".json" {
		t.Errorf("latest %s started %v; want %s", path, latest.Started, rep.BaseName())
	}

	root := filepath.Dir(filepath.Dir(dir))
	readme := filepath.Join(root, "README.md")
	before := "# driftcar\n\nIntro.\n\n## Performance\n\nOld numbers.\n\n## License\n\nMIT\n"
	if err := os.WriteFile(readme, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := UpdateReadme(readme, dir, true); err == nil {
		t.Error("--check passed on a stale README")
	}
	if changed, err := UpdateReadme(readme, dir, false); err != nil || !changed {
		t.Fatalf("changed %v, err %v", changed, err)
	}
	b, _ := os.ReadFile(readme)
	got := string(b)
	for _, want := range []string{"# driftcar\n\nIntro.\n\n## Performance\n\n<!-- Generated", "bench/results/2026-11-30-vm-short.json",
		"](bench/results/2026-11-30-vm-short.svg)", "\n## License\n\nMIT\n", "driftcar-bench proxy --short"} {
		if !strings.Contains(got, want) {
			t.Errorf("README lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "Old numbers") {
		t.Error("the old section is still there")
	}
	if changed, err := UpdateReadme(readme, dir, true); err != nil || changed {
		t.Errorf("check after update: changed %v, err %v; want up to date", changed, err)
	}
}

// The quick run of make bench writes files of its own, so it never
// overwrites a full run's, and the README is made from the full run even
// when a quick one is newer.
func TestShortRunKeepsTheFullRunsResults(t *testing.T) {
	dir := t.TempDir()
	full := fakeReport(t)
	full.Settings.Short = false
	short := fakeReport(t)
	short.Settings.Short = true
	short.Started = full.Started.Add(time.Hour)
	for _, r := range []*Report{full, short} {
		if _, err := r.Write(dir, "svg"); err != nil {
			t.Fatal(err)
		}
	}
	if full.BaseName() == short.BaseName() {
		t.Fatalf("both runs write %s.*", full.BaseName())
	}
	if got, want := short.BaseName(), full.BaseName()+"-short"; got != want {
		t.Errorf("short run files %s.*; want %s.*", got, want)
	}
	latest, path, err := LatestReport(dir)
	if err != nil {
		t.Fatal(err)
	}
	if latest.Settings.Short || filepath.Base(path) != full.BaseName()+".json" {
		t.Errorf("README source %s (short %v); want the full run's %s.json", path, latest.Settings.Short, full.BaseName())
	}
	// With only quick runs, the newest one is used.
	if err := os.Remove(filepath.Join(dir, full.BaseName()+".json")); err != nil {
		t.Fatal(err)
	}
	if _, path, err := LatestReport(dir); err != nil || filepath.Base(path) != short.BaseName()+".json" {
		t.Errorf("with only a short run: %s, %v", path, err)
	}
}

func TestReplaceSection(t *testing.T) {
	sec := "## Performance\n\nNew.\n"
	for _, c := range []struct{ name, in, want string }{
		{"middle", "# A\n\n## Performance\n\nOld.\n\n## B\n\nb\n", "# A\n\n## Performance\n\nNew.\n\n## B\n\nb\n"},
		{"last", "# A\n\n## Performance\n\nOld.\n", "# A\n\n## Performance\n\nNew.\n"},
		{"first line", "## Performance\n\nOld.\n## B\n", "## Performance\n\nNew.\n\n## B\n"},
		{"missing", "# A\n\ntext\n", "# A\n\ntext\n\n## Performance\n\nNew.\n"},
		{"subsections stay inside", "## Performance\n\n### x\n\nOld.\n\n## B\n", "## Performance\n\nNew.\n\n## B\n"},
		{"a longer heading is another section", "## Performance tuning\n\nkeep\n", "## Performance tuning\n\nkeep\n\n## Performance\n\nNew.\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := ReplaceSection(c.in, sec); got != c.want {
				t.Errorf("got %q; want %q", got, c.want)
			}
		})
	}
}

func TestParseTaps(t *testing.T) {
	in := `# HELP driftcar_requests_total x
# TYPE driftcar_requests_total counter
driftcar_requests_total{arm="live",code="2xx",model="bench",route="predict"} 900
driftcar_requests_total{arm="canary",code="2xx",model="bench",route="predict"} 100
driftcar_shadow_requests_total{model="bench",result="ok",route="predict"} 950
driftcar_shadow_requests_total{model="bench",result="dropped_queue_full",route="predict"} 50
driftcar_sampler_rows_total{model="bench",route="predict"} 1000
driftcar_drift_evaluations_total 7
driftcar_feature_value_bucket{feature="age",le="30"} 12
go_goroutines 42
`
	got, err := parseTaps(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		`driftcar_requests_total{arm="live",code="2xx"}`:              900,
		`driftcar_requests_total{arm="canary",code="2xx"}`:            100,
		`driftcar_shadow_requests_total{result="ok"}`:                 950,
		`driftcar_shadow_requests_total{result="dropped_queue_full"}`: 50,
		`driftcar_sampler_rows_total`:                                 1000,
		`driftcar_drift_evaluations_total`:                            7,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v; want %v", got, want)
	}
}

func TestCommandLine(t *testing.T) {
	if got := commandLine([]string{"--short", "--scenarios", "direct,driftcar", "--out", "my dir"}); got != `driftcar-bench proxy --short --scenarios direct,driftcar --out "my dir"` {
		t.Errorf("got %s", got)
	}
}
