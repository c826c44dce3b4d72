package demo

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/driftcar/driftcar/internal/sidecar"
)

type view struct {
	out   io.Writer
	live  bool
	every time.Duration
	opts  Options
}

func newView(out io.Writer, live bool, opts Options) *view {
	v := &view{out: out, live: live, every: 5 * time.Second, opts: opts}
	if live {
		v.every = time.Second
	}
	return v
}

func printWhere(out io.Writer, sc *sidecar.Sidecar, opts Options) {
	admin := "http://" + sc.AdminAddr()
	if opts.Open {
		fmt.Fprintf(out, "\n  open %s/ in a browser\n\n", admin)
	}
	fmt.Fprintf(out, `driftcar demo: driftcar is proxying http://%s (live 90%% / canary 10%% sticky by x-user-id, shadow 100%%, sampling 100%%)
  admin page   %s/
  metrics      %s/metrics
  drift state  %s/api/drift
  ground truth %s/api/ground-truth (labels POSTed to %s/api/v1/feedback)
  PromQL       sum by (feature) (driftcar_drift_state{model="credit-demo"} == 3)
traffic: %d requests/s; drift (age +12 years, 20%% of countries become the unseen "BR") at %s
labels:  the outcome of %.0f%% of requests, %s later; after the drift the outcomes change too (BR applicants repay more, age counts twice as much)
`, sc.ProxyAddr(), admin, admin, admin, admin, admin, opts.Rate, opts.DriftAt, 100*LabelShare, LabelDelay)
	if opts.GRPC {
		fmt.Fprintf(out, "  over gRPC    ModelInfer calls to %s (%s), the models served by grpc-go\n", sc.GRPCAddr(), methodModelInfer)
	}
}

func (v *view) render(elapsed, driftAt time.Duration, st trafficStats, s *snapshot, res *Result) {
	var b strings.Builder
	phase := fmt.Sprintf("drift in %s", (driftAt - elapsed).Round(time.Second))
	if st.drifted {
		phase = fmt.Sprintf("DRIFT INJECTED %s ago", (elapsed - driftAt).Round(time.Second))
	}
	if v.live {
		b.WriteString("\033[H\033[2J")
		fmt.Fprintf(&b, "driftcar demo — %s elapsed, %s — admin %s/\n\n", elapsed.Round(time.Second), phase, res.AdminURL)
		fmt.Fprintf(&b, "requests  %.0f sent (%d/s), %d errors, canary share %.1f%%\n", float64(st.sent), v.opts.Rate, st.errors, 100*s.CanaryShare)
		fmt.Fprintf(&b, "shadow    agreement %.1f%% over %.0f compared decisions (designed %.0f%%)\n", 100*s.Agreement, s.Compared, 100*res.Designed)
		b.WriteString("labels    ")
		writeLabels(&b, st.labels)
		fmt.Fprintf(&b, "          reference accuracy %s\n", pct(s.Truth.Reference))
		writeArms(&b, "          ", s.Truth.Window, s.Truth.Arms)
		b.WriteString("\n")
		fmt.Fprintf(&b, "%-14s %-18s %-28s %s\n", "feature", "state", "strongest test (30s window)", "detected")
		feats := append([]featureState(nil), s.Features...)
		sort.SliceStable(feats, func(i, j int) bool { return feats[i].Name < feats[j].Name })
		for _, f := range feats {
			det := ""
			if d, ok := res.DetectedAfter[f.Name]; ok {
				det = fmt.Sprintf("%s after injection", d.Round(100*time.Millisecond))
			}
			fmt.Fprintf(&b, "%-14s %-18s %-28s %s\n", f.Name, f.State, f.Stat, det)
		}
	} else {
		var states []string
		for _, f := range s.Features {
			states = append(states, f.Name+"="+f.State)
		}
		live, sh := s.Truth.arm("live"), s.Truth.arm("shadow")
		fmt.Fprintf(&b, "[%5s] %s | %.0f requests, %d errors | shadow agreement %.1f%% | %s | live accuracy %s %s, shadow %s\n",
			elapsed.Round(time.Second), phase, float64(st.sent), st.errors, 100*s.Agreement, strings.Join(states, " "),
			pct(live.Accuracy), live.State, orDash(sh.Verdict))
	}
	_, _ = io.WriteString(v.out, b.String())
}

func summary(out io.Writer, res *Result, opts Options) {
	fmt.Fprintf(out, "\ndriftcar demo summary\n")
	fmt.Fprintf(out, "  requests        %d sent, %d errors\n", res.Requests, res.Errors)
	fmt.Fprintf(out, "  shadow          %.1f%% of decisions agreed before the drift (designed %.0f%%), %.1f%% over the run\n",
		100*res.AgreementBefore, 100*res.Designed, 100*res.Agreement)
	for _, f := range Drifted {
		if d, ok := res.DetectedAfter[f]; ok {
			fmt.Fprintf(out, "  drift           %s detected %s after injection\n", f, d.Round(100*time.Millisecond))
		} else {
			fmt.Fprintf(out, "  drift           %s not detected\n", f)
		}
	}
	if d, ok := res.DetectedAfter[PredictionFeature]; ok {
		fmt.Fprintf(out, "  drift           the model's decisions shifted too, detected %s after injection\n", d.Round(100*time.Millisecond))
	}
	if len(res.FalseAlarms) == 0 {
		fmt.Fprintf(out, "  false alarms    none\n")
	} else {
		fmt.Fprintf(out, "  false alarms    %s\n", strings.Join(res.FalseAlarms, ", "))
	}
	fmt.Fprintf(out, "  labels          ")
	writeLabels(out, res.Labels)
	fmt.Fprintf(out, "  performance     reference accuracy %s (the live model on its training rows)\n", pct(res.ReferenceAccuracy))
	fmt.Fprintf(out, "  performance     %s\n", performanceLine(res))
	writeArms(out, "    ", res.Window, res.Truth)
	_ = opts
}
