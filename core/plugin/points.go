package plugin

import (
	"context"
	"io"
	"io/fs"
)

// NameRequest asks the naming extension point for the physical name of a logical stream name.
type NameRequest struct {
	App, Instance string
	// Stream is the logical name the client used (no query); Action is publish, play or record.
	Stream string
	Action Action
	// Path is the physical path, relative to the storage root, that recording and VOD use for
	// the stream: a Namer may rewrite it (FMS's E_FILENAME_TRANSFORM). Its default is
	// APP/INSTANCE/STREAM.flv.
	Path string
}

// Namer is the naming extension point: it maps a logical stream name to its physical path.
// Namers run in config order on the session's goroutine; each sees the previous one's Path.
type Namer interface {
	PhysicalName(ctx context.Context, req *NameRequest) error
}

// Storage is the storage extension point: where media files and other server files are read
// and written. Names are slash-separated, relative, without "." or ".." segments (fs.ValidPath);
// the server checks them before any call. storage.local (a folder) is the default.
type Storage interface {
	// Open opens a file for reading (fs.ErrNotExist when absent).
	Open(ctx context.Context, name string) (fs.File, error)
	// Create opens a file for writing, replacing it; the file appears under name only once
	// Close returns nil (writers write to a temporary name and rename).
	Create(ctx context.Context, name string) (io.WriteCloser, error)
	// Remove deletes a file (no error when absent).
	Remove(ctx context.Context, name string) error
	// List returns the names of the files under dir (non-recursive).
	List(ctx context.Context, dir string) ([]string, error)
}

// SOStore is the sostore extension point: where persistent shared objects live. The server
// calls it from the registry of one app instance, never concurrently for one object. Data is
// the object's whole encoded state; an implementation stores it atomically (a crash leaves
// the previous or the new state, never a torn one).
type SOStore interface {
	// LoadSO returns the stored state of app/instance's object name (fs.ErrNotExist when none).
	LoadSO(ctx context.Context, app, instance, name string) ([]byte, error)
	// SaveSO stores it.
	SaveSO(ctx context.Context, app, instance, name string, data []byte) error
	// DeleteSO removes it (no error when absent).
	DeleteSO(ctx context.Context, app, instance, name string) error
}

// RPCService is the rpc extension point: Go functions that app JavaScript calls as
// application.plugins.NAME.method(args...), which returns a Promise. Call runs on a goroutine of
// its own, never on the app's loop; its result settles the Promise on the loop. Arguments and
// results are the AMF value model's Go values (nil, bool, float64, string, []any,
// map[string]any).
type RPCService interface {
	// RPCName is NAME in application.plugins.NAME.
	RPCName() string
	// RPCMethods lists the methods JS may call.
	RPCMethods() []string
	Call(ctx context.Context, app, method string, args []any) (any, error)
}
