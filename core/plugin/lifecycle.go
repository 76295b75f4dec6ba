package plugin

import (
	"context"

	"github.com/rs/zerolog"
)

// Provisioner is implemented by a module that prepares itself once its config is decoded
// (defaults, files, clients). An error stops the server's start, naming the module.
type Provisioner interface {
	Provision(ctx Context) error
}

// Validator is implemented by a module that checks its provisioned config; an error stops the
// server's start.
type Validator interface {
	Validate() error
}

// Starter is implemented by a module with goroutines or connections to start once every module
// is valid; an error stops the server's start (the modules started before are stopped).
type Starter interface {
	Start() error
}

// Stopper is implemented by a module that must release what it holds (flush a queue, close
// files) when the server stops; it is called once, after the listeners have drained.
type Stopper interface {
	Stop() error
}

// Context is what a module gets at provisioning: where it runs and how it logs.
type Context struct {
	// Ctx ends when the server stops.
	Ctx context.Context
	// Log is the module's own logger (module=ID).
	Log zerolog.Logger
	// DataDir is the server's persistent state folder (-data), AppsDir its apps folder.
	DataDir, AppsDir string
	// ConfigDir is the folder of the -config file, against which a module resolves the
	// relative paths of its table ("" without a file: the working directory).
	ConfigDir string
}
