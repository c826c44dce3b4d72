package proxy

import (
	"github.com/driftcar/driftcar/config"
)

// table is an immutable routing snapshot built from one config.
type table struct {
	cfg    *config.Config
	routes []*route
}

type route struct {
	name        string
	pathPrefix  string
	arms        []*arm
	choose      chooser
	sticky      stickyKey
	fallback    int // arm index, or -1
	armOverride bool
	mirror      Mirror
	sampler     Sampler
	tokens      Sampler
	timeTokens  bool
	recorder    Recorder
}

type arm struct {
	name     string // the upstream name; also the arm label
	upstream *upstream
	metrics  *armMetrics
}

type stickyKind uint8

const (
	stickyNone stickyKind = iota
	stickyHeader
	stickyCookie
	stickyQuery
)

type stickyKey struct {
	kind stickyKind
	name string
}

func stickyOf(s *config.Sticky) stickyKey {
	switch {
	case s == nil:
		return stickyKey{}
	case s.Header != "":
		return stickyKey{stickyHeader, s.Header}
	case s.Cookie != "":
		return stickyKey{stickyCookie, s.Cookie}
	case s.Query != "":
		return stickyKey{stickyQuery, s.Query}
	}
	return stickyKey{}
}

// match returns the first route whose prefix matches path, or nil.
func (t *table) match(path []byte) *route {
	for _, r := range t.routes {
		if len(path) >= len(r.pathPrefix) && string(path[:len(r.pathPrefix)]) == r.pathPrefix {
			return r
		}
	}
	return nil
}

// armByName returns the index of the arm called name, or -1.
func (r *route) armByName(name []byte) int {
	for i, a := range r.arms {
		if a.name == string(name) {
			return i
		}
	}
	return -1
}
