package kafkaauth

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// TLS enables TLS to the brokers.
type TLS struct {
	// CAFile verifies the brokers; empty uses the system roots.
	CAFile string
	// CertFile and KeyFile are the client certificate, both or neither.
	CertFile, KeyFile string
	// ServerName overrides the name checked in the broker certificate.
	ServerName string
}

// SASL authenticates to the brokers.
type SASL struct {
	// Mechanism is plain, scram-sha-256 or scram-sha-512.
	Mechanism string
	User      string
	// PasswordEnv names the environment variable holding the password.
	PasswordEnv string
}

// Validate checks t and s (either may be nil) without reading files or
// the environment; errors name the field.
func Validate(t *TLS, s *SASL) []error {
	var errs []error
	if t != nil && (t.CertFile == "") != (t.KeyFile == "") {
		errs = append(errs, errors.New("tls: cert_file and key_file go together"))
	}
	if s != nil {
		switch strings.ToLower(s.Mechanism) {
		case "plain", "scram-sha-256", "scram-sha-512":
		default:
			errs = append(errs, fmt.Errorf("sasl.mechanism: unknown %q, want plain, scram-sha-256 or scram-sha-512", s.Mechanism))
		}
		if s.User == "" {
			errs = append(errs, errors.New("sasl.user: required"))
		}
		if s.PasswordEnv == "" {
			errs = append(errs, errors.New("sasl.password_env: required"))
		}
	}
	return errs
}

// Opts returns the client options of t and s (either may be nil),
// reading the TLS files and the SASL password.
func Opts(t *TLS, s *SASL) ([]kgo.Opt, error) {
	var opts []kgo.Opt
	if t != nil {
		cfg, err := t.config()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	if s != nil {
		pass := os.Getenv(s.PasswordEnv)
		if pass == "" {
			return nil, fmt.Errorf("sasl.password_env: environment variable %s is empty", s.PasswordEnv)
		}
		switch strings.ToLower(s.Mechanism) {
		case "plain":
			opts = append(opts, kgo.SASL(plain.Auth{User: s.User, Pass: pass}.AsMechanism()))
		case "scram-sha-256":
			opts = append(opts, kgo.SASL(scram.Auth{User: s.User, Pass: pass}.AsSha256Mechanism()))
		case "scram-sha-512":
			opts = append(opts, kgo.SASL(scram.Auth{User: s.User, Pass: pass}.AsSha512Mechanism()))
		default:
			return nil, fmt.Errorf("sasl.mechanism: unknown %q, want plain, scram-sha-256 or scram-sha-512", s.Mechanism)
		}
	}
	return opts, nil
}

func (t *TLS) config() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_file: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file: no PEM certificate in %s", t.CAFile)
		}
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls.cert_file: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
