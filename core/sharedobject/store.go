package sharedobject

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fmsgo/fmsgo/core/amf"
)

// ErrBadName refuses a persistent object name that cannot be a path (an empty, "." or ".."
// segment, a folder segment ending in ".fso", or a segment too long for a file name).
var ErrBadName = errors.New("sharedobject: name unusable as a file path")

// CodeBadName answers a Use of a persistent object whose name is refused (fmsgo's own code).
const CodeBadName = "SharedObject.BadName"

// fileMagic starts every object file: "FSO" and the format version (2; files of version 1 are
// still read).
var (
	fileMagic   = [4]byte{'F', 'S', 'O', 2}
	fileMagicV1 = [4]byte{'F', 'S', 'O', 1}
)

// headerLen is magic, CRC-32 (IEEE) of everything after it, version, slot count; headerLenV2 adds
// the history's start version and the tombstone count.
const (
	headerLen   = 16
	headerLenV2 = 24
)

// maxSegment keeps an encoded segment plus ".fso" within common file-name limits (255).
const maxSegment = 200

// Store keeps the persistent shared objects of one app instance under DATA/APP/INSTANCE/. An
// object named "a/b/c" lives in a/b/c.fso, each segment percent-encoded outside [A-Za-z0-9._-].
// Writes are atomic (temporary file in the same folder, fsync, rename, fsync of the folder), so a
// crash leaves either the previous or the new file, never a torn one. Temporary files are named
// "%tmp-…", which no encoded segment can be.
//
// File format 2: "FSO\x02", CRC-32 of the rest, version (u32), slot count (u32), history start
// version (u32), tombstone count (u32), then per slot a u16-length name, the version that last
// changed it (u32) and its AMF0 value (each value encoded on its own, so decoded with fresh
// reference tables), then per tombstone (oldest first) a u16-length name and the version that
// deleted it (u32). Format 1 ("FSO\x01", written before the deleted-slot history existed) has
// neither the two extra header fields, nor slot versions, nor tombstones: its slots load as
// changed at the file's version, with no history before it.
//
// A Store made with NewExternalStore keeps the same encoded objects in an External store (a
// plug-in's) instead of files, with the same ordering of writes.
type Store struct {
	dir string
	ext External // nil: files under dir
	// app, instance and budget address the instance in ext and bound each of its calls.
	app, instance string
	budget        time.Duration

	mu      sync.Mutex        // serialises writes
	written map[string]uint64 // newest update sequence written per object
	seq     atomic.Uint64     // numbers the updates of the objects written through this store
	swept   map[string]bool   // folders cleared of temporary files left by a crash
}

// NewStore returns the store of instance under dataDir/app/instance (created on first write).
func NewStore(dataDir, app, instance string) (*Store, error) {
	dir, err := instanceDir(dataDir, app, instance)
	if err != nil {
		return nil, err
	}
	return &Store{dir: dir, written: map[string]uint64{}, swept: map[string]bool{}}, nil
}

// instanceDir is DATA/APP/INSTANCE, each segment encoded.
func instanceDir(dataDir, app, instance string) (string, error) {
	a, err := encodeSegment(app)
	if err != nil {
		return "", fmt.Errorf("store of %s/%s: app: %w", app, instance, err)
	}
	i, err := encodeSegment(instance)
	if err != nil {
		return "", fmt.Errorf("store of %s/%s: instance: %w", app, instance, err)
	}
	return filepath.Join(dataDir, a, i), nil
}

// Dir is the instance's folder ("" for an external store).
func (s *Store) Dir() string { return s.dir }

// encodeSegment percent-encodes one path segment.
func encodeSegment(seg string) (string, error) {
	if seg == "" || seg == "." || seg == ".." {
		return "", fmt.Errorf("%w: segment %q", ErrBadName, seg)
	}
	var b strings.Builder
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	if b.Len() > maxSegment {
		return "", fmt.Errorf("%w: segment of %d encoded bytes", ErrBadName, b.Len())
	}
	return b.String(), nil
}

// Path returns the file of the named object.
func (s *Store) Path(name string) (string, error) { return objectPath(s.dir, name) }

// objectPath is the file of the named object in an instance's folder dir.
func objectPath(dir, name string) (string, error) {
	segs := strings.Split(name, "/")
	parts := []string{dir}
	for i, seg := range segs {
		e, err := encodeSegment(seg)
		if err != nil {
			return "", fmt.Errorf("shared object %q: %w", name, err)
		}
		if i < len(segs)-1 && strings.HasSuffix(e, ".fso") {
			return "", fmt.Errorf("shared object %q: %w: folder segment %q", name, ErrBadName, seg)
		}
		parts = append(parts, e)
	}
	p := filepath.Join(parts...) + ".fso"
	if len(p) >= maxPath {
		return "", fmt.Errorf("shared object %q: %w: path of %d bytes", name, ErrBadName, len(p))
	}
	return p, nil
}

// maxPath is Linux's PATH_MAX (with its terminating NUL): a longer path cannot be opened.
const maxPath = 4096

// snapshot is an object's state as read from its file.
type snapshot struct {
	version  uint32
	slots    []*slot
	histFrom uint32
	tombs    []tomb
}

// Load reads the named object; a missing file is (nil, nil). A corrupt file is an error: the
// caller logs it and starts empty.
func (s *Store) Load(name string) (*snapshot, error) {
	if s.ext != nil {
		return s.loadExternal(name)
	}
	p, err := s.Path(name)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load shared object %q: %w", name, err)
	}
	snap, err := decodeFile(b)
	if err != nil {
		return nil, fmt.Errorf("load shared object %q from %s: %w", name, p, err)
	}
	return snap, nil
}

var errCorrupt = errors.New("corrupt shared object file")

func decodeFile(b []byte) (*snapshot, error) {
	if len(b) < headerLen || [3]byte(b[:3]) != [3]byte(fileMagic[:3]) {
		return nil, fmt.Errorf("%w: bad header", errCorrupt)
	}
	v2 := b[3] == fileMagic[3]
	if !v2 && b[3] != fileMagicV1[3] || v2 && len(b) < headerLenV2 {
		return nil, fmt.Errorf("%w: bad header", errCorrupt)
	}
	if crc32.ChecksumIEEE(b[8:]) != binary.BigEndian.Uint32(b[4:]) {
		return nil, fmt.Errorf("%w: checksum mismatch", errCorrupt)
	}
	snap := &snapshot{version: binary.BigEndian.Uint32(b[8:])}
	count := binary.BigEndian.Uint32(b[12:])
	if !v2 {
		snap.histFrom = snap.version
		_, err := decodeSlots(snap, b[headerLen:], count, false)
		return snap, err
	}
	snap.histFrom = binary.BigEndian.Uint32(b[16:])
	rest, err := decodeSlots(snap, b[headerLenV2:], count, true)
	if err != nil {
		return nil, err
	}
	if err := decodeTombs(snap, rest, binary.BigEndian.Uint32(b[20:])); err != nil {
		return nil, err
	}
	return snap, nil
}

// decodeSlots reads count slots from p and returns what follows them.
func decodeSlots(snap *snapshot, p []byte, count uint32, versioned bool) ([]byte, error) {
	var d amf.Decoder
	for uint32(len(snap.slots)) < count {
		d.Reset(p)
		key, err := d.String0()
		if err != nil {
			return nil, fmt.Errorf("%w: slot %d: %w", errCorrupt, len(snap.slots), err)
		}
		p = p[d.Offset():]
		ver := snap.version
		if versioned {
			if len(p) < 4 {
				return nil, fmt.Errorf("%w: slot %q: version missing", errCorrupt, key)
			}
			ver, p = binary.BigEndian.Uint32(p), p[4:]
		}
		d.Reset(p) // each value was encoded with fresh reference tables
		v, err := d.DecodeAMF0()
		if err != nil {
			return nil, fmt.Errorf("%w: slot %q: %w", errCorrupt, key, err)
		}
		enc := p[:d.Offset()]
		snap.slots = append(snap.slots, &slot{key: key, value: v, enc0: enc, order: uint64(len(snap.slots)), ver: ver})
		p = p[d.Offset():]
	}
	if !versioned && len(p) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after %d slots", errCorrupt, len(p), count)
	}
	return p, nil
}

func decodeTombs(snap *snapshot, p []byte, count uint32) error {
	var d amf.Decoder
	for len(p) > 0 {
		d.Reset(p)
		key, err := d.String0()
		if err != nil || d.Len() < 4 {
			return fmt.Errorf("%w: deleted slot %d: %v", errCorrupt, len(snap.tombs), err)
		}
		p = p[d.Offset():]
		snap.tombs = append(snap.tombs, tomb{key: key, ver: binary.BigEndian.Uint32(p)})
		p = p[4:]
	}
	if uint32(len(snap.tombs)) != count {
		return fmt.Errorf("%w: %d deleted slots, header says %d", errCorrupt, len(snap.tombs), count)
	}
	return nil
}

// encodeFile lays out the file (format 2) for the slots in order and the tombstones oldest first.
func encodeFile(version uint32, slots []*slot, histFrom uint32, tombs []tomb) []byte {
	n := headerLenV2
	for _, s := range slots {
		n += 6 + s.size()
	}
	for _, t := range tombs {
		n += 6 + len(t.key)
	}
	b := make([]byte, headerLenV2, n)
	copy(b, fileMagic[:])
	binary.BigEndian.PutUint32(b[8:], version)
	binary.BigEndian.PutUint32(b[12:], uint32(len(slots)))
	binary.BigEndian.PutUint32(b[16:], histFrom)
	binary.BigEndian.PutUint32(b[20:], uint32(len(tombs)))
	for _, s := range slots {
		b = binary.BigEndian.AppendUint32(appendKey(b, s.key), s.ver)
		b = append(b, s.enc0...)
	}
	for _, t := range tombs {
		b = binary.BigEndian.AppendUint32(appendKey(b, t.key), t.ver)
	}
	binary.BigEndian.PutUint32(b[4:], crc32.ChecksumIEEE(b[8:]))
	return b
}

// save writes data as the named object's file unless a newer update was already written.
func (s *Store) save(name string, seq uint64, data []byte) error {
	if s.ext != nil {
		return s.saveExternal(name, seq, data)
	}
	p, err := s.Path(name)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.written[name] >= seq {
		return nil
	}
	s.sweep(filepath.Dir(p))
	if err := writeAtomic(p, data); err != nil {
		return fmt.Errorf("save shared object %q: %w", name, err)
	}
	s.written[name] = seq
	return nil
}

// writeAtomic replaces path with data: temporary file, fsync, rename, fsync of the folder.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "%tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

// sweep removes, once per folder, temporary files that a crash left between create and rename
// (s.mu held: no write of this store is in progress).
func (s *Store) sweep(dir string) {
	if s.swept[dir] {
		return
	}
	s.swept[dir] = true
	tmps, _ := filepath.Glob(filepath.Join(dir, "%tmp-*"))
	for _, t := range tmps {
		os.Remove(t)
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
