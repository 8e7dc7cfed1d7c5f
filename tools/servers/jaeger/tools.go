//go:build tools

// Package jaeger pins the Jaeger v2 all-in-one (cmd/jaeger) the local stack
// builds from source. Jaeger's module path has no /v2, so its v2.x tags are
// not module versions: v1.76.0 is the tag paired with a v2 release.
package jaeger

import _ "github.com/jaegertracing/jaeger/cmd/jaeger"
