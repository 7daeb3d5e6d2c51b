//go:build tools

// Package tools pins the etcd command as a dependency of this wrapper
// module; the binary is built by testbed/build-binaries.sh.
package tools

import _ "go.etcd.io/etcd/server/v3"
