//go:build tools

// Package tools pins the external-dns command as a dependency of this wrapper
// module; the binary is built by testbed/build-binaries.sh.
package tools

import _ "sigs.k8s.io/external-dns"
