package config

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Summary returns one line for "driftcar validate", such as
//
//	ok: model credit-risk, listen 0.0.0.0:8080, 2 upstreams, 1 route (predict: live 90, canary 10)
func (c *Config) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ok: model %s, listen %s, %s, %s (",
		c.Model, c.Listen, count(len(c.Upstreams), "upstream"), count(len(c.Routes), "route"))
	for i, r := range c.Routes {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(r.Name)
		b.WriteString(":")
		for j, a := range r.Split {
			if j > 0 {
				b.WriteString(",")
			}
			weight := "?"
			if a.Weight != nil {
				weight = strconv.Itoa(*a.Weight)
			}
			b.WriteString(" " + a.Upstream + " " + weight)
		}
	}
	b.WriteString(")")
	return b.String()
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// JSON returns c as indented JSON for /api/config, with durations and
// sizes as strings such as "30s" and "16MiB".
func (c *Config) JSON() []byte {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("config: cannot marshal config to JSON: %v", err))
	}
	return append(b, '\n')
}

// Redacted is the value of "redacted" fields in RedactedJSON.
const Redacted = "REDACTED"

// RedactedJSON is JSON for serving: the admin token, the variable names of
// the webhook's secret and credentials, and the names of headers stripped
// from shadow copies are replaced by "REDACTED".
func (c *Config) RedactedJSON() []byte {
	r := *c
	if r.AdminToken != "" {
		r.AdminToken = Redacted
	}
	if w := r.Drift.Webhook; w != nil && (w.SecretEnv != "" || w.Auth != nil) {
		wc := *w
		if wc.SecretEnv != "" {
			wc.SecretEnv = Redacted
		}
		if a := w.Auth; a != nil {
			ac := *a
			if ac.BearerTokenEnv != "" {
				ac.BearerTokenEnv = Redacted
			}
			if b := a.Basic; b != nil {
				ac.Basic = &WebhookBasicAuth{Username: b.Username, PasswordEnv: Redacted}
			}
			wc.Auth = &ac
		}
		r.Drift.Webhook = &wc
	}
	r.Routes = make([]Route, len(c.Routes))
	for i, rt := range c.Routes {
		if sh := rt.Shadow; sh != nil && len(sh.StripHeaders) > 0 {
			sc := *sh
			sc.StripHeaders = []string{Redacted}
			rt.Shadow = &sc
		}
		r.Routes[i] = rt
	}
	b, err := json.MarshalIndent(&r, "", "  ")
	if err != nil {
		// Config holds only strings, numbers, bools, string-keyed maps and
		// marshalers that never fail.
		panic(fmt.Sprintf("config: cannot marshal config to JSON: %v", err))
	}
	return append(b, '\n')
}
