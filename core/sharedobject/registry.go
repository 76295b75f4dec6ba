package sharedobject

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fmsgo/fmsgo/core/rtmpmsg"
	"github.com/rs/zerolog"
)

// Status codes sent to clients in Status events (level "error"). LimitExceeded is fmsgo's own:
// FMS has no public code for it.
const (
	CodeFlushSuccess   = "SharedObject.Flush.Success"
	CodeFlushFailed    = "SharedObject.Flush.Failed"
	CodeBadPersistence = "SharedObject.BadPersistence"
	CodeNoReadAccess   = "SharedObject.NoReadAccess"
	CodeNoWriteAccess  = "SharedObject.NoWriteAccess"
	CodeLimitExceeded  = "SharedObject.LimitExceeded"
)

// Errors returned to server-side callers, for errors.Is.
var (
	ErrLimit          = errors.New("sharedobject: limit exceeded")
	ErrBadPersistence = errors.New("sharedobject: persistence differs from the existing object's")
	ErrClosed         = errors.New("sharedobject: object closed")
	ErrNotSubscribed  = errors.New("sharedobject: client has not used this object")
)

// Limits bound one instance's shared objects (app.json "sharedObjects").
type Limits struct {
	MaxSlots   int // slots per object
	MaxBytes   int // AMF0 bytes of slot names and values per object
	MaxObjects int // objects loaded at once in the instance
}

// DefaultLimits are app.json's defaults.
func DefaultLimits() Limits {
	return Limits{MaxSlots: 10000, MaxBytes: 16 << 20, MaxObjects: 1000}
}

// Subscriber is a client's side of a subscription. Send must not block (queue the message or
// drop the client): it is called with the registry's lock held (but for a Use refused before the
// object is looked up) so that every subscriber sees
// updates in the same order. msg and its event bodies are shared by many subscribers and must
// not be modified; amf3 says whether to write it as type 16 (true) or 19. Subscribers are map
// keys: use pointer types.
type Subscriber interface {
	Send(msg *rtmpmsg.SharedObjectMessage, amf3 bool)
}

// SyncItem is one entry of the list that OnSync receives, as FMS's onSync list: a slot name,
// what a client did to it ("change", "delete", or "reject" for a write refused for lack of access
// or room), and the slot's value before (amf.Undefined{} if it did not exist). Clients cannot
// clear an object, and fmsgo has no proxied objects, so "clear" and "success" do not occur.
type SyncItem struct {
	Name     string
	Code     string
	OldValue any
}

// Config wires a registry into its app instance. Hooks run on the goroutine that called the
// registry method that triggered them, after the registry's lock is released, in order; they may
// call back into the registry. The engine calls Handle from the instance loop, so hooks run there.
type Config struct {
	Limits Limits
	// Store persists persistent objects (an instance's files, NewStore, or a plug-in's store,
	// NewExternalStore); nil keeps them in memory only.
	Store *Store
	// StoreErr, set when the instance has a data folder but no store could be made for it (its
	// name is too long for the file system), refuses every persistent object with ErrBadName
	// instead of keeping it in memory while answering success.
	StoreErr error
	// ClientPersistence lets clients use any persistent object (app.json
	// persistentSharedObjects). Without it a client's persistent Use is refused with
	// SharedObject.BadPersistence unless the server opened that object with Get(name, true).
	ClientPersistence bool
	// Quota is the app's disk budget, shared by its instances' registries; nil: unlimited.
	Quota *DiskQuota
	// FlushDelay is the longest a change to a persistent object waits before it is written
	// (default 1 s).
	FlushDelay time.Duration
	// Access decides whether clientID may read (Use) or write (RequestChange, RequestRemove) the
	// object at path (its name); nil allows everything. It is called with the registry's lock
	// held for writes, so it must not block or call back into the registry (the engine plugs in
	// the client's readAccess/writeAccess prefix lists).
	Access func(clientID, path string, write bool) bool
	// OnSync receives the slots that clients changed, after each update.
	OnSync func(so *Object, list []SyncItem)
	// OnMessage receives each SendMessage from a client (after it went to the subscribers).
	OnMessage func(so *Object, clientID, method string, args []any)
	Logger    zerolog.Logger
}

// Registry holds the shared objects of one app instance. Ownership: one mutex per registry
// guards all its objects, so any goroutine (the instance loop, a connection, the flush timer) may
// call in; it is held only for non-blocking work (slot updates, encoding, handing messages to
// subscribers' non-blocking Send), which keeps every subscriber's view in one order. File I/O and
// the OnSync/OnMessage hooks run outside it.
type Registry struct {
	cfg Config
	seq atomic.Uint64 // numbers updates when there is no store (nextSeq)

	mu      sync.Mutex
	objects map[string]*Object
	bySub   map[Subscriber]map[*Object]struct{}
	dirty   map[*Object]struct{}
	timer   *time.Timer
	drops   uint64 // persistent objects dropped from memory: invalidates loads done meanwhile
	after   []func()
	// afterAutoFlush lets tests await the debounced flush.
	afterAutoFlush func(error)
	closed         bool
	serverPersist  map[string]bool // names the server opened as persistent: clients may use them
	encMu          sync.Mutex      // guards encoded (a refusal's Send comes before mu is taken)
	encoded        [2]encodedMsg   // by encoding (AMF0, AMF3): see Encoded
}

// encodedMsg is a message and its wire encoding.
type encodedMsg struct {
	msg  *rtmpmsg.SharedObjectMessage
	data []byte
}

// Encoded returns msg's wire encoding (rtmpmsg.AppendSharedObject) for a subscriber's Send. The
// registry hands one message to all subscribers of an update in turn, so it is encoded once per
// update and encoding instead of once per subscriber. Its lock is the registry's own and is
// uncontended (the subscribers of an update are sent to in turn). The bytes are shared and must
// not be modified.
func (r *Registry) Encoded(msg *rtmpmsg.SharedObjectMessage, amf3 bool) []byte {
	r.encMu.Lock()
	defer r.encMu.Unlock()
	e := &r.encoded[encIndex(amf3)]
	if e.msg != msg { // the cached message is kept alive, so another cannot have its address
		e.msg, e.data = msg, rtmpmsg.AppendSharedObject(nil, msg, amf3)
	}
	return e.data
}

// New returns an empty registry.
func New(cfg Config) *Registry {
	if cfg.Limits == (Limits{}) {
		cfg.Limits = DefaultLimits()
	}
	if cfg.FlushDelay <= 0 {
		cfg.FlushDelay = time.Second
	}
	return &Registry{
		cfg:     cfg,
		objects: map[string]*Object{},
		bySub:   map[Subscriber]map[*Object]struct{}{},
		dirty:   map[*Object]struct{}{},

		serverPersist: map[string]bool{},
	}
}

// unlock releases the lock, then runs the hooks queued while it was held.
func (r *Registry) unlock() {
	after := r.after
	r.after = nil
	r.mu.Unlock()
	for _, f := range after {
		f()
	}
}

// Get returns the object of that name, creating it (or loading it from the store) if needed, and
// marks it held by the server until Close.
func (r *Registry) Get(name string, persistent bool) (*Object, error) {
	o, err := r.acquire(name, persistent)
	if err != nil {
		return nil, err
	}
	o.serverHeld = true
	if persistent {
		r.serverPersist[name] = true
	}
	r.unlock()
	return o, nil
}

// clientMayPersist reports whether a client may use the persistent object name: the app
// consented to client persistence, or the server opened that object as persistent.
func (r *Registry) clientMayPersist(name string) bool {
	if r.cfg.ClientPersistence {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.serverPersist[name]
}

// acquire returns the object with the lock held, loading a persistent object outside the lock
// first. On error the lock is not held.
func (r *Registry) acquire(name string, persistent bool) (*Object, error) {
	for {
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return nil, fmt.Errorf("shared object %q: registry: %w", name, ErrClosed)
		}
		if o := r.objects[name]; o != nil {
			if o.persistent != persistent {
				r.mu.Unlock()
				return nil, fmt.Errorf("shared object %q: %w", name, ErrBadPersistence)
			}
			return o, nil
		}
		if len(r.objects) >= r.cfg.Limits.MaxObjects {
			r.mu.Unlock()
			return nil, fmt.Errorf("shared object %q: more than %d objects: %w", name, r.cfg.Limits.MaxObjects, ErrLimit)
		}
		if persistent && r.cfg.StoreErr != nil {
			r.mu.Unlock()
			return nil, fmt.Errorf("shared object %q: %w", name, r.cfg.StoreErr)
		}
		if !persistent || r.cfg.Store == nil {
			return r.create(name, persistent, nil), nil
		}
		if err := r.cfg.Store.check(name); err != nil {
			r.mu.Unlock()
			return nil, err
		}
		drops := r.drops
		r.mu.Unlock()
		snap, err := r.load(name)
		if err != nil {
			return nil, err
		}
		r.mu.Lock()
		if r.objects[name] == nil && r.drops == drops && !r.closed && len(r.objects) < r.cfg.Limits.MaxObjects {
			return r.create(name, true, snap), nil
		}
		r.mu.Unlock() // the picture changed while loading: look again
	}
}

// load reads a persistent object from the store. A name the store refuses, or an external
// store that failed, is an error (the object is refused); an unreadable file or corrupt data is
// logged and the object starts empty.
func (r *Registry) load(name string) (*snapshot, error) {
	snap, err := r.cfg.Store.Load(name)
	if errors.Is(err, ErrBadName) || errors.Is(err, ErrStoreFailed) {
		r.cfg.Logger.Error().Err(err).Str("so", name).Msg("shared object refused: its store could not load it")
		return nil, err
	}
	if err != nil {
		r.cfg.Logger.Error().Err(err).Str("so", name).Msg("shared object file unreadable; starting empty")
		return nil, nil
	}
	return snap, nil
}

func (r *Registry) create(name string, persistent bool, snap *snapshot) *Object {
	o := newObject(r, name, persistent)
	if snap != nil {
		o.restore(snap)
	}
	r.objects[name] = o
	return o
}

// Disconnect releases every object sub used: call it when a client leaves.
func (r *Registry) Disconnect(sub Subscriber) {
	r.mu.Lock()
	for o := range r.bySub[sub] {
		o.unsubscribe(sub)
	}
	delete(r.bySub, sub)
	r.unlock()
}

// maybeDrop removes o from memory when nobody uses it, unless it holds unwritten persistent
// state (it is dropped once written) or has no store to be reloaded from.
func (r *Registry) maybeDrop(o *Object) {
	if len(o.subs) > 0 || o.serverHeld || o.lockDepth > 0 || r.objects[o.name] != o {
		return
	}
	if o.persistent {
		if r.cfg.Store == nil || o.savedSeq != o.seq {
			return
		}
		r.drops++
	}
	o.dropped = true
	delete(r.objects, o.name)
	delete(r.dirty, o)
}

// Len is the number of objects in memory.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.objects)
}

// Close writes every unsaved persistent object and drops all objects; later calls fail with
// ErrClosed. Subscribers are not notified: their connections are going away with the instance.
func (r *Registry) Close() error {
	err := r.Flush()
	r.mu.Lock()
	r.closed = true
	if r.timer != nil {
		r.timer.Stop()
	}
	for _, o := range r.objects {
		o.dropped = true
	}
	clear(r.objects)
	clear(r.bySub)
	r.mu.Unlock()
	return err
}
