package xds

import (
	"maps"
	"slices"
)

// Status is a snapshot of the client's state, for logs and admin pages.
type Status struct {
	// Server is the control plane address.
	Server string `json:"server"`
	// Connected is true while a stream is open and has received a
	// response.
	Connected bool `json:"connected"`
	// Synced is true once a config from xDS has been applied.
	Synced bool `json:"synced"`
	// Version is the version_info whose acceptance produced the applied
	// config ("" before the first).
	Version string `json:"version"`
	// Notes describe degraded parts of the applied state, such as arms
	// whose cluster has not arrived and answer 503.
	Notes []string `json:"notes,omitempty"`
	// Types holds one entry per subscribed resource type, in ADS order.
	Types []TypeStatus `json:"types"`
}

// TypeStatus is the state of one resource type.
type TypeStatus struct {
	// Type is the metric label: cds, eds, lds, rds or ecds.
	Type    string `json:"type"`
	TypeURL string `json:"type_url"`
	// Version is the last ACKed version_info.
	Version string `json:"version"`
	// Resources are the names of the accepted resources.
	Resources []string `json:"resources"`
	// Missing are requested names whose does-not-exist timer expired;
	// "*" is a wildcard subscription that was never answered.
	Missing []string `json:"missing,omitempty"`
	// LastNack is the error of the last NACK, cleared by the next ACK.
	LastNack string `json:"last_nack,omitempty"`
}

// Status returns the client's current state. It is safe to call from any
// goroutine.
func (c *Client) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// publish copies the loop's state into c.status.
func (c *Client) publish() {
	s := Status{
		Server:    c.opts.Server,
		Connected: c.connected,
		Synced:    c.synced,
		Version:   c.appliedVersion,
		Notes:     slices.Clone(c.notes),
	}
	for k, st := range c.types {
		s.Types = append(s.Types, TypeStatus{
			Type:      kind(k).String(),
			TypeURL:   kindURLs[k],
			Version:   st.version,
			Resources: c.view.names(kind(k)),
			Missing:   slices.Sorted(maps.Keys(st.missing)),
			LastNack:  st.lastNack,
		})
	}
	c.mu.Lock()
	c.status = s
	c.mu.Unlock()
	if c.synced && !c.syncedClosed {
		c.syncedClosed = true
		close(c.syncedCh)
	}
}
