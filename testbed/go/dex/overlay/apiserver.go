// Package apiserver replaces Dex's gRPC management API in the testbed build
// (build-binaries.sh lays it over server/apiserver with `go build -overlay`).
//
// Why: Dex master (the only Dex with the OAuth2 client_credentials grant)
// builds server/apiserver against github.com/dexidp/dex/api/v2 at the same
// commit, through a replace directive that only applies inside Dex's own
// repository. The Go module proxy serves that module at v2.4.0 only, which
// lacks the newer messages (sessions, identities, MFA), so the package does
// not compile from the proxy. The testbed never enables the gRPC API (its
// Dex config has no `grpc` section), so every call answers Unimplemented; the
// HTTP side (discovery, keys, token endpoint, login) is Dex's own code.
package apiserver

import (
	"log/slog"

	"github.com/dexidp/dex/api/v2"
	"github.com/dexidp/dex/server/backchannel"
	"github.com/dexidp/dex/server/connectors"
	"github.com/dexidp/dex/server/discovery"
	"github.com/dexidp/dex/storage"
)

type unavailable struct {
	api.UnimplementedDexServer
}

// NewAPI has the signature of Dex's own constructor, which cmd/dex calls
// only when the config enables gRPC.
func NewAPI(_ storage.Storage, _ *slog.Logger, _ string, _ *connectors.Cache, _ *discovery.Handler, _ *backchannel.Notifier) api.DexServer {
	return unavailable{}
}
