//go:build tools

// Package tools pins the oauth2-proxy command as a dependency of this wrapper
// module; the binary is built by testbed/build-binaries.sh.
package tools

import _ "github.com/oauth2-proxy/oauth2-proxy/v7"
