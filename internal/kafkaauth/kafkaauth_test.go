package kafkaauth

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	errs := Validate(&TLS{CertFile: "c.pem"}, &SASL{Mechanism: "gssapi"})
	got := errors.Join(errs...).Error()
	for _, want := range []string{"tls: cert_file and key_file go together", `sasl.mechanism: unknown "gssapi"`, "sasl.user: required", "sasl.password_env: required"} {
		if !strings.Contains(got, want) {
			t.Errorf("Validate: %q; want it to contain %q", got, want)
		}
	}
	if errs := Validate(&TLS{}, &SASL{Mechanism: "SCRAM-SHA-512", User: "u", PasswordEnv: "P"}); len(errs) != 0 {
		t.Errorf("Validate of good settings: %v; want none", errs)
	}
}

func TestOpts(t *testing.T) {
	if opts, err := Opts(nil, nil); err != nil || len(opts) != 0 {
		t.Errorf("Opts(nil, nil) = %d options, %v; want none", len(opts), err)
	}
	t.Setenv("DRIFTCAR_TEST_KAFKAAUTH_PASSWORD", "secret")
	opts, err := Opts(&TLS{}, &SASL{Mechanism: "plain", User: "u", PasswordEnv: "DRIFTCAR_TEST_KAFKAAUTH_PASSWORD"})
	if err != nil || len(opts) != 2 {
		t.Errorf("Opts(TLS, SASL) = %d options, %v; want 2", len(opts), err)
	}
	for _, tc := range []struct {
		name string
		tls  *TLS
		sasl *SASL
		want string
	}{
		{"missing CA", &TLS{CAFile: filepath.Join(t.TempDir(), "none.pem")}, nil, "tls.ca_file:"},
		{"empty password", nil, &SASL{Mechanism: "plain", User: "u", PasswordEnv: "DRIFTCAR_TEST_KAFKAAUTH_EMPTY"}, "environment variable DRIFTCAR_TEST_KAFKAAUTH_EMPTY is empty"},
	} {
		if _, err := Opts(tc.tls, tc.sasl); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want an error containing %q", tc.name, err, tc.want)
		}
	}
}
