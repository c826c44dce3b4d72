package grafana

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// BuiltinDefaults are the values Queries gives Grafana's built-in
// variables when vars does not set them.
var BuiltinDefaults = map[string]string{
	"__rate_interval": "1m",
	"__interval":      "15s",
	"__interval_ms":   "15000",
	"__range":         "15m",
	"__range_s":       "900",
	"__range_ms":      "900000",
}

type dashboard struct {
	Panels []panel `json:"panels"`
}

type panel struct {
	Type    string   `json:"type"`
	Title   string   `json:"title"`
	Targets []target `json:"targets"`
	Panels  []panel  `json:"panels"` // the panels of a collapsed row
}

type target struct {
	Expr  string `json:"expr"`
	RefID string `json:"refId"`
}

// variableRE matches $name, ${name}, ${name:format} and [[name]] (also
// [[name:format]]); a name starts with a letter or an underscore, so
// regex back-references such as $1 are left alone, as Grafana does.
var variableRE = regexp.MustCompile(`\$\{([A-Za-z_]\w*)(?::[^}]*)?\}|\[\[([A-Za-z_]\w*)(?::[^\]]*)?\]\]|\$([A-Za-z_]\w*)`)

// Queries returns the PromQL expression of every query target of every
// panel of a Grafana dashboard (including the panels of collapsed rows), in
// dashboard order, with each variable replaced by its value in vars.
// Grafana's built-in variables ($__rate_interval, $__range, ...) take their
// value from vars when set there, else from BuiltinDefaults. A variable
// with no value is an error naming the panel, so a query is never returned
// half-filled; so is a dashboard without queries. Values are inserted
// verbatim (single-value variables, no regex escaping).
func Queries(dashboardJSON []byte, vars map[string]string) ([]string, error) {
	var d dashboard
	if err := json.Unmarshal(dashboardJSON, &d); err != nil {
		return nil, fmt.Errorf("cannot parse dashboard JSON: %w", err)
	}
	var out []string
	var errs []error
	var walk func(ps []panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, t := range p.Targets {
				if strings.TrimSpace(t.Expr) == "" {
					continue
				}
				q, err := fill(t.Expr, vars)
				if err != nil {
					errs = append(errs, fmt.Errorf("panel %q query %s: %w", p.Title, t.RefID, err))
					continue
				}
				out = append(out, q)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("the dashboard has no queries")
	}
	return out, nil
}

func fill(expr string, vars map[string]string) (string, error) {
	var missing []string
	q := variableRE.ReplaceAllStringFunc(expr, func(m string) string {
		sub := variableRE.FindStringSubmatch(m)
		name := sub[1] + sub[2] + sub[3]
		if v, ok := vars[name]; ok {
			return v
		}
		if v, ok := BuiltinDefaults[name]; ok {
			return v
		}
		missing = append(missing, "$"+name)
		return m
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("no value for %s", strings.Join(missing, ", "))
	}
	return q, nil
}
