package ui

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/driftcar/driftcar/internal/testupstream"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, testupstream.GoleakOptions...)
}

func TestHandler(t *testing.T) {
	h := Handler()
	for _, tc := range []struct {
		name, method, path string
		status             int
		ctype, body        string
		location           string
	}{
		{name: "root", method: "GET", path: "/", status: 200, ctype: "text/html; charset=utf-8", body: `<script src="ui/app.js" defer></script>`},
		{name: "ui", method: "GET", path: "/ui", status: 200, ctype: "text/html; charset=utf-8", body: "<title>driftcar</title>"},
		{name: "ui slash", method: "GET", path: "/ui/", status: 301, location: "../ui"},
		{name: "index", method: "GET", path: "/ui/index.html", status: 200, ctype: "text/html; charset=utf-8"},
		{name: "script", method: "GET", path: "/ui/app.js", status: 200, ctype: "text/javascript; charset=utf-8", body: "textContent"},
		{name: "style", method: "GET", path: "/ui/app.css", status: 200, ctype: "text/css; charset=utf-8", body: "--drift"},
		{name: "head", method: "HEAD", path: "/", status: 200, ctype: "text/html; charset=utf-8"},
		{name: "missing asset", method: "GET", path: "/ui/nope.js", status: 404},
		{name: "escape", method: "GET", path: "/ui/../ui.go", status: 404},
		{name: "other path", method: "GET", path: "/favicon.ico", status: 404},
		{name: "post", method: "POST", path: "/", status: 405},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "http://admin"+tc.path, nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			res := rec.Result()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.status {
				t.Fatalf("status: got %d; want %d (%s)", res.StatusCode, tc.status, body)
			}
			if tc.ctype != "" && res.Header.Get("Content-Type") != tc.ctype {
				t.Errorf("Content-Type: got %q; want %q", res.Header.Get("Content-Type"), tc.ctype)
			}
			if tc.body != "" && !strings.Contains(string(body), tc.body) {
				t.Errorf("body does not contain %q", tc.body)
			}
			if tc.location != "" && res.Header.Get("Location") != tc.location {
				t.Errorf("Location: got %q; want %q", res.Header.Get("Location"), tc.location)
			}
			if tc.method == "HEAD" && len(body) != 0 {
				t.Errorf("HEAD body: got %d bytes; want 0", len(body))
			}
			if tc.status == 200 {
				if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
					t.Errorf("Content-Security-Policy: got %q", csp)
				}
				if res.Header.Get("X-Content-Type-Options") != "nosniff" {
					t.Error("no X-Content-Type-Options: nosniff")
				}
			}
		})
	}
}

// TestAssetsInsertNoMarkup keeps the script free of the DOM sinks that
// parse HTML: every value must reach the page as text.
func TestAssetsInsertNoMarkup(t *testing.T) {
	js, err := assets.ReadFile("assets/app.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
		if strings.Contains(string(js), sink) {
			t.Errorf("app.js uses %s", sink)
		}
	}
	html, err := assets.ReadFile("assets/index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"http://", "https://", "<script>", "style="} {
		if strings.Contains(string(html), bad) {
			t.Errorf("index.html contains %q (no external resources, inline scripts or styles)", bad)
		}
	}
}

func TestHandlerServesHTTP(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL + "/ui/")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Request.URL.Path != "/ui" {
		t.Errorf("GET /ui/: got %d at %s; want 200 at /ui", res.StatusCode, res.Request.URL.Path)
	}
}
