//go:build tools

// Package opa pins the OPA server version the local stack builds from source.
// OPA and Jaeger live in separate modules so that neither's dependency graph
// can force a version on the other (they disagree on github.com/gobwas/glob).
package opa

import _ "github.com/open-policy-agent/opa"
