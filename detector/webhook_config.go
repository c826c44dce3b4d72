package detector

import "github.com/driftcar/driftcar/config"

// ApplyWebhookConfig sets the format, target, credentials and conditions
// of opts from a validated webhook config, reading the credential
// variables with getenv (os.Getenv). The other options, and Signals, are
// the caller's.
func ApplyWebhookConfig(opts *WebhookOptions, w *config.Webhook, getenv func(string) string) {
	opts.Format = Format(w.Format)
	opts.Target = Target{}
	if a := w.Airflow; a != nil {
		opts.Target.DagID, opts.Target.AirflowAPI = a.DagID, a.APIVersion
	}
	if a := w.ArgoWorkflows; a != nil {
		opts.Target.Namespace, opts.Target.Template = a.Namespace, a.Template
	}
	if k := w.Kubeflow; k != nil {
		opts.Target.PipelineID, opts.Target.PipelineVersionID, opts.Target.ExperimentID = k.PipelineID, k.PipelineVersionID, k.ExperimentID
	}
	opts.Auth = Auth{}
	if a := w.Auth; a != nil {
		if a.BearerTokenEnv != "" {
			opts.Auth.BearerToken = getenv(a.BearerTokenEnv)
		}
		if b := a.Basic; b != nil {
			opts.Auth.Username, opts.Auth.Password = b.Username, getenv(b.PasswordEnv)
		}
	}
	opts.When = nil
	if w.When != nil {
		for _, c := range w.When.All {
			switch {
			case c.Drift != nil:
				opts.When = append(opts.When, Condition{Kind: CondDrift})
			case c.LatencyP99RatioAbove != nil:
				opts.When = append(opts.When, Condition{Kind: CondLatencyP99RatioAbove, Value: *c.LatencyP99RatioAbove})
			case c.ShadowAgreementBelow != nil:
				opts.When = append(opts.When, Condition{Kind: CondShadowAgreementBelow, Value: *c.ShadowAgreementBelow})
			case c.ErrorRateAbove != nil:
				opts.When = append(opts.When, Condition{Kind: CondErrorRateAbove, Value: *c.ErrorRateAbove})
			}
		}
	}
}
