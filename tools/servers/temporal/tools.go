//go:build tools

// Package temporal pins the Temporal server version the cluster stack builds from
// source: the server itself (cmd/server) and its SQL schema tool (cmd/tools/sql),
// whose PostgreSQL schemas ship inside the same module. It lives in a module of its
// own, beside opa/ and jaeger/, so that its large dependency graph can force no
// version on theirs.
package temporal

import (
	_ "go.temporal.io/server/cmd/server"
	_ "go.temporal.io/server/cmd/tools/sql"
)
