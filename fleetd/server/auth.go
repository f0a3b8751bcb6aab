package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/shingle-storage/shingle/api/fleet/v1/fleetv1connect"
	"github.com/shingle-storage/shingle/fleetd/pki"
)

// Caller is who made a call, from the certificate it presented.
type Caller struct {
	// Name is the certificate's common name.
	Name string
	// Role is the certificate's role.
	Role pki.Role
}

// callerKey is the context key of the Caller.
type callerKey struct{}

// callerOf returns the caller authenticated for ctx's request.
func callerOf(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}

// allowedRoles says which roles may call each service. fleetd servers may
// call everything, because they relay calls to the leader.
func allowedRoles(path string) []pki.Role {
	switch {
	case strings.HasPrefix(path, "/"+fleetv1connect.ForwardServiceName+"/"):
		return []pki.Role{pki.RoleNode}
	case strings.HasPrefix(path, "/"+fleetv1connect.AgentServiceName+"/"):
		return []pki.Role{pki.RoleNode, pki.RoleAgent}
	case strings.HasPrefix(path, "/"+fleetv1connect.ClusterServiceName+"/"),
		strings.HasPrefix(path, "/"+fleetv1connect.FleetServiceName+"/"),
		strings.HasPrefix(path, "/"+fleetv1connect.TokenServiceName+"/"),
		strings.HasPrefix(path, "/"+fleetv1connect.VolumeServiceName+"/"):
		return []pki.Role{pki.RoleNode, pki.RoleOperator}
	}
	// Metrics and anything else: any certificate the CA signed.
	return []pki.Role{pki.RoleNode, pki.RoleOperator, pki.RoleAgent}
}

// authorize wraps the API handler: it refuses a call whose certificate's
// role may not make it, and puts the Caller in the request's context. TLS
// has already verified the certificate against the cluster CA.
func authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			deny(w, "a client certificate signed by the cluster CA is required")
			return
		}
		cert := r.TLS.PeerCertificates[0]
		c := Caller{Name: cert.Subject.CommonName, Role: pki.RoleOf(cert)}
		if allowed := allowedRoles(r.URL.Path); !slices.Contains(allowed, c.Role) {
			deny(w, fmt.Sprintf("certificate %q has role %q; %s needs one of %v", c.Name, c.Role, r.URL.Path, allowed))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)))
	})
}

// deny answers 403 with a Connect error body; gRPC clients map the status
// to PermissionDenied too.
func deny(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusForbidden)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": "permission_denied", "message": msg})
}
