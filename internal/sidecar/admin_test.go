package sidecar

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/driftcar/driftcar/internal/testupstream"
	"github.com/driftcar/driftcar/internal/testutil"
)

func getAuth(t *testing.T, url, token string) (int, string) {
	t.Helper()
	h := []string{}
	if token != "" {
		h = []string{"Authorization", "Bearer " + token}
	}
	code, body, _ := get(t, url, h...)
	return code, body
}

func TestAdminTokenAndRedaction(t *testing.T) {
	live := testupstream.Start(t, testupstream.Answer("live", "{}"))
	shadowAddr := testupstream.Start(t, testupstream.Answer("shadow", "{}"))
	r := start(t, fmt.Sprintf(`listen: 127.0.0.1:0
admin: 127.0.0.1:0
admin_token: t0ken-value
upstreams:
  live:   { address: %s }
  shadow: { address: %s }
routes:
  - name: predict
    split: [{ upstream: live, weight: 1 }]
    shadow: { upstream: shadow, fraction: 1, strip_headers: [x-secret-header] }
`, live, shadowAddr))
	admin := "http://" + r.s.AdminAddr()
	cases := []struct {
		path, token string
		want        int
	}{
		{"/api/config", "", http.StatusUnauthorized},
		{"/api/config", "wrong", http.StatusUnauthorized},
		{"/api/config", "t0ken-value", http.StatusOK},
		{"/api/shadow/mismatches", "", http.StatusUnauthorized},
		{"/api/shadow/mismatches", "t0ken-value", http.StatusOK},
		{"/debug/pprof/", "", http.StatusUnauthorized},
		{"/metrics", "", http.StatusOK},
		{"/healthz", "", http.StatusOK},
		{"/readyz", "", http.StatusOK},
	}
	testutil.Eventually(t, 5*time.Second, "ready", func() bool { c, _ := getAuth(t, admin+"/readyz", ""); return c == 200 })
	for _, tc := range cases {
		if code, body := getAuth(t, admin+tc.path, tc.token); code != tc.want {
			t.Errorf("GET %s with token %q: got %d (%s); want %d", tc.path, tc.token, code, strings.TrimSpace(body), tc.want)
		}
	}
	_, body := getAuth(t, admin+"/api/config", "t0ken-value")
	for _, secret := range []string{"t0ken-value", "x-secret-header"} {
		if strings.Contains(body, secret) {
			t.Errorf("/api/config shows %q:\n%s", secret, body)
		}
	}
	if !strings.Contains(body, `"admin_token": "REDACTED"`) {
		t.Errorf("/api/config does not mark the token redacted:\n%s", body)
	}
}

func TestAdminTokenFromEnvironment(t *testing.T) {
	live := testupstream.Start(t, testupstream.Answer("live", "{}"))
	t.Setenv("TEST_ADMIN_TOKEN", "from-env")
	r := start(t, fmt.Sprintf(`listen: 127.0.0.1:0
admin: 127.0.0.1:0
admin_token_env: TEST_ADMIN_TOKEN
upstreams:
  live: { address: %s }
routes:
  - name: predict
    split: [{ upstream: live, weight: 1 }]
`, live))
	admin := "http://" + r.s.AdminAddr()
	if code, _ := getAuth(t, admin+"/api/config", ""); code != http.StatusUnauthorized {
		t.Errorf("without the token: got %d; want 401", code)
	}
	if code, _ := getAuth(t, admin+"/api/config", "from-env"); code != http.StatusOK {
		t.Errorf("with the token from the environment: got %d; want 200", code)
	}
}
