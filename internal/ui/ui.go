package ui

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed assets
var assets embed.FS

// csp confines the page to its own origin: no inline script, no inline
// style sheet and no third-party request, so a value that slipped into the
// DOM could not run or leak anything.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler serves the page at / and /ui, and its assets under /ui/. Any
// other path is 404. Only GET and HEAD are allowed. The page takes its
// data from the admin API under the same origin, with relative URLs, so it
// also works behind a reverse proxy that adds a path prefix.
func Handler() http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // The embedded tree is fixed at build time.
	}
	index, err := fs.ReadFile(sub, "index.html")
	if err != nil {
		panic(err)
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		switch p := r.URL.Path; {
		case p == "/" || p == "/ui" || p == "/ui/index.html":
			h.Set("Content-Type", "text/html; charset=utf-8")
			if r.Method == http.MethodGet {
				_, _ = w.Write(index)
			}
		case p == "/ui/":
			// Relative URLs in the page resolve against /ui, not /ui/. The
			// Location stays relative (http.Redirect would make it
			// absolute), so it also works under a proxy's path prefix.
			h.Set("Location", "../ui")
			w.WriteHeader(http.StatusMovedPermanently)
		case strings.HasPrefix(p, "/ui/"):
			r2 := r.Clone(r.Context())
			r2.URL.Path = strings.TrimPrefix(p, "/ui")
			r2.URL.RawPath = ""
			files.ServeHTTP(w, r2)
		default:
			http.NotFound(w, r)
		}
	})
}
