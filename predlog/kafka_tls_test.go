package predlog

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// testPKI is a CA with a server certificate for 127.0.0.1 and a client
// certificate, written as PEM files.
type testPKI struct {
	dir                       string
	caFile, certFile, keyFile string
	pool                      *x509.CertPool
	server                    tls.Certificate
	clientCert                tls.Certificate
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "driftcar test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, usage x509.ExtKeyUsage, ips ...net.IP) (tls.Certificate, []byte, []byte) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "driftcar test"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, _ := x509.MarshalECPrivateKey(key)
		certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
		c, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return c, certPEM, keyPEM
	}
	p := &testPKI{dir: dir, pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	p.server, _, _ = issue(2, x509.ExtKeyUsageServerAuth, net.ParseIP("127.0.0.1"))
	var certPEM, keyPEM []byte
	p.clientCert, certPEM, keyPEM = issue(3, x509.ExtKeyUsageClientAuth)
	p.caFile, p.certFile, p.keyFile = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem")
	for path, b := range map[string][]byte{
		p.caFile:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		p.certFile: certPEM,
		p.keyFile:  keyPEM,
	} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// TestKafkaTLS produces over mutual TLS, and checks that a sink without
// the client certificate is refused and not ready.
func TestKafkaTLS(t *testing.T) {
	p := newTestPKI(t)
	brokers := startKafka(t, kfake.TLS(&tls.Config{
		Certificates: []tls.Certificate{p.server},
		ClientCAs:    p.pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	}))
	sink, err := NewKafkaSink(KafkaOptions{
		Brokers: brokers, Compression: "zstd",
		TLS: &KafkaTLS{CAFile: p.caFile, CertFile: p.certFile, KeyFile: p.keyFile},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close(context.Background())
	r := &Record{}
	fill(r, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sink.Write(ctx, []*Record{r}); err != nil {
		t.Fatalf("Write over TLS: %v", err)
	}
	checkConsumed(t, readBack(t, brokers, testTopic, 1, kgo.DialTLSConfig(&tls.Config{
		RootCAs: p.pool, Certificates: []tls.Certificate{p.clientCert}, MinVersion: tls.VersionTLS12,
	})), 1)

	noCert, err := NewKafkaSink(KafkaOptions{Brokers: brokers, TLS: &KafkaTLS{CAFile: p.caFile}, DialTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer noCert.Close(context.Background())
	short, cancel2 := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel2()
	if err := noCert.Write(short, []*Record{r}); err == nil {
		t.Fatalf("Write without a client certificate: nil; want refused")
	}
	if noCert.Ready() == nil {
		t.Errorf("Ready without a client certificate: nil; want an error")
	}
}
