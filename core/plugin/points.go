package plugin

import (
	"context"
	"io"
	"io/fs"
	"time"
)

// NameRequest asks the naming extension point for the physical name of a logical stream name.
type NameRequest struct {
	App, Instance string
	// Stream is the logical name the client used (no query); Action is publish, play or record.
	Stream string
	Action Action
	// Path is the physical path, relative to the storage root, that recording and VOD use for
	// the stream: a Namer may rewrite it (FMS's E_FILENAME_TRANSFORM). Its default is
	// APP/streams/INSTANCE/STREAM.flv (DefaultPath); a Path that is not fs.ValidPath (or has a
	// backslash or NUL) refuses the recording.
	Path string
}

// Namer is the naming extension point: it maps a logical stream name to its physical path.
// Namers run in config order on the session's goroutine; each sees the previous one's Path.
type Namer interface {
	PhysicalName(ctx context.Context, req *NameRequest) error
}

// Storage is the storage extension point: where media files and other server files are read
// and written. Names are slash-separated, relative, without "." or ".." segments (fs.ValidPath),
// without backslashes or NUL; the server checks them before any call, and an implementation
// refuses any other name with an error wrapping fs.ErrInvalid. storage.local (a folder) is the
// default.
type Storage interface {
	// Open opens a file for reading (fs.ErrNotExist when absent).
	Open(ctx context.Context, name string) (fs.File, error)
	// Create opens a file for writing, replacing it; the file appears under name only once
	// Close returns nil (writers write to a temporary name, sync and rename), so a reader sees
	// the previous file or the whole new one. Close must be called; a Write that failed makes
	// Close discard the file and return that error.
	Create(ctx context.Context, name string) (io.WriteCloser, error)
	// OpenFile opens a file for recording: read and written at offsets, created (with the
	// folders on its way) when absent, never truncated by the call. Unlike Create, what is
	// written is under name at once: a recording is readable while it grows and a crash leaves
	// what was written (core/flv relies on that). The caller truncates to overwrite.
	OpenFile(ctx context.Context, name string) (File, error)
	// Remove deletes a file (no error when absent).
	Remove(ctx context.Context, name string) error
	// List returns the names (without dir) of the files directly under dir, sorted; "." is the
	// top. Folders and files still being written are not listed; a missing dir lists nothing.
	List(ctx context.Context, dir string) ([]string, error)
}

// File is a storage file open for recording (Storage.OpenFile). Writes go to explicit offsets:
// a recording rewrites its reserved onMetaData at the start while it appends tags at the end,
// and an append reads the existing file first. One goroutine uses it at a time.
type File interface {
	io.ReaderAt
	io.WriterAt
	// Sync makes what was written durable (fsync).
	Sync() error
	// Stat tells the file's current size and when it was last written (appendWithGap's gap).
	Stat() (fs.FileInfo, error)
	// Truncate cuts (or extends) the file to size: 0 to overwrite, or a damaged tail.
	Truncate(size int64) error
	Close() error
}

// SOStore is the sostore extension point: where persistent shared objects live, by app,
// instance and object name (slash-separated, like "chat/room1"). Data is an object's whole
// encoded state, opaque to the store. The server calls it from the shared-object registry of
// one app instance (possibly on the app's loop: be quick); the saves of one object never
// overlap and arrive in order (a newer state is never overwritten by an older one); each call
// gets a context ending at the module's budget (Budgeted, else DefaultSOStoreBudget). The
// contract:
//   - SaveSO stores data atomically: a crash or a failed call leaves the previous or the new
//     state, never a torn one; once it returns nil, the state survives a crash;
//   - LoadSO returns an error wrapping fs.ErrNotExist when nothing is stored, and one wrapping
//     fs.ErrInvalid for an app, instance or name it cannot hold (the client is refused with
//     SharedObject.BadName); any other error refuses the object (SharedObject.Load.Failed)
//     instead of starting it empty and then overwriting what the store could not read.
//
// With no sostore module, the origin keeps them in the crash-safe files of sostore.file under
// its data folder.
type SOStore interface {
	// LoadSO returns the stored state of app/instance's object name.
	LoadSO(ctx context.Context, app, instance, name string) ([]byte, error)
	// SaveSO stores it.
	SaveSO(ctx context.Context, app, instance, name string, data []byte) error
	// DeleteSO removes it (no error when absent).
	DeleteSO(ctx context.Context, app, instance, name string) error
}

// SOUsage is implemented by an SOStore that can tell how many bytes an app's objects take: the
// app's shared-object disk quota starts from it. Without it, the quota counts only what this
// process writes.
type SOUsage interface {
	SOUsage(ctx context.Context, app string) (int64, error)
}

// DefaultSOStoreBudget is an sostore module's time per call unless it says otherwise.
const DefaultSOStoreBudget = 3 * time.Second

// RPCService is the rpc extension point: Go functions that app JavaScript calls as
// application.plugins.NAME.method(args...), which returns a Promise. Call runs on a goroutine of
// its own, never on the app's loop; its result resolves the Promise on the loop, its error
// rejects it with an Error whose message is the error's text. ctx ends at the module's budget
// (Budgeted, else DefaultRPCBudget) and when the app instance stops; the Promise rejects at the
// budget even if Call has not returned, but Call keeps one of the instance's bounded call slots
// until it does. A panic in Call rejects the Promise and is logged; the server goes on.
//
// Arguments are plain Go values converted from JS on the loop: nil (null, undefined), bool,
// float64, string, time.Time (Date), []byte (ArrayBuffer and typed arrays), []any (arrays) and
// map[string]any (other objects; functions are left out; a cyclic value rejects the call).
// Call may keep them. A result is any of those, nested up to 64 levels and 1,048,576 values in
// all, or another Go integer or float type, []string or map[string]string; anything else
// rejects the call.
type RPCService interface {
	// RPCName is NAME in application.plugins.NAME.
	RPCName() string
	// RPCMethods lists the methods JS may call; it is asked once, when the server starts.
	RPCMethods() []string
	Call(ctx context.Context, call *RPCCall) (any, error)
}

// RPCCall is one call of an RPCService from an app instance.
type RPCCall struct {
	// App and Instance say who calls (the instance is "_definst_" by default).
	App, Instance string
	Method        string
	Args          []any
}

// DefaultRPCBudget is an rpc module's time per call unless it says otherwise.
const DefaultRPCBudget = 10 * time.Second
