package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
)

// manifest is the content of a manifest blob: the blobs of a file, in
// order. It is JSON, so it can be read by hand.
type manifest struct {
	Format  string   `json:"format"` // "shingle-manifest"
	Version int      `json:"version"`
	Size    int64    `json:"size"`
	SHA256  string   `json:"sha256"`
	Blobs   []string `json:"blobs"`
}

const manifestFormat = "shingle-manifest"

// putWorkers is how many blobs of a file are written at once.
const putWorkers = 8

// PutFile stores everything r yields. Data up to MaxBlob is one blob;
// larger data is split into blobs of MaxBlob, written several at a time,
// plus a manifest blob listing them, whose locator (marked Manifest) is
// returned. progress, if not nil, is called with the bytes stored so far.
// A PutFile that fails (reading r, storing a blob, or cancelled) deletes
// the blobs it had stored before it returns; its error lists any it could
// not.
func (c *Client) PutFile(ctx context.Context, r io.Reader, progress func(done int64)) (Locator, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type piece struct {
		i    int
		data []byte
	}
	pieces := make(chan piece)
	var (
		mu     sync.Mutex
		locs   []string
		done   int64
		putErr error
	)
	fail := func(err error) {
		mu.Lock()
		if putErr == nil {
			putErr = err
		}
		mu.Unlock()
		cancel()
	}
	var wg sync.WaitGroup
	for range putWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range pieces {
				l, err := c.Put(ctx, p.data)
				if err != nil {
					fail(fmt.Errorf("client: blob %d of the file: %w", p.i, err))
					continue
				}
				mu.Lock()
				for len(locs) <= p.i {
					locs = append(locs, "")
				}
				locs[p.i] = l.String()
				done += int64(len(p.data))
				if progress != nil {
					progress(done)
				}
				mu.Unlock()
			}
		}()
	}
	sum := sha256.New()
	var size int64
	n := 0
	var first []byte
	var readErr error
	for ctx.Err() == nil {
		buf := make([]byte, MaxBlob)
		m, err := io.ReadFull(r, buf)
		if m > 0 {
			sum.Write(buf[:m])
			size += int64(m)
			if n == 0 {
				first = buf[:m]
			} else {
				if n == 1 {
					pieces <- piece{0, first}
				}
				pieces <- piece{n, buf[:m]}
			}
			n++
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			readErr = fmt.Errorf("client: reading the file: %w", err)
			cancel()
			break
		}
	}
	close(pieces)
	wg.Wait()
	for _, err := range []error{readErr, putErr, ctx.Err()} {
		if err != nil {
			return Locator{}, c.abandon(ctx, locs, err)
		}
	}
	if n <= 1 {
		l, err := c.Put(ctx, first)
		if err == nil && progress != nil {
			progress(int64(len(first)))
		}
		return l, err
	}
	b, err := json.Marshal(manifest{Format: manifestFormat, Version: 1, Size: size, SHA256: hex.EncodeToString(sum.Sum(nil)), Blobs: locs})
	if err != nil {
		return Locator{}, err
	}
	if len(b) > MaxBlob {
		return Locator{}, fmt.Errorf("client: the file's manifest (%d blobs) is over %d bytes; store files of at most about 200 GiB", n, MaxBlob)
	}
	l, err := c.Put(ctx, b)
	if err != nil {
		return Locator{}, c.abandon(ctx, locs, fmt.Errorf("client: the file's manifest: %w", err))
	}
	l.Manifest = true
	return l, nil
}

// abandonTimeout bounds the time a failed PutFile spends deleting the
// blobs it stored.
const abandonTimeout = time.Minute

// abandon deletes the blobs a PutFile that failed with err had stored
// (locs, with "" for those it had not), so that no blob outlives a put
// that returned no locator, and returns err, adding the locators of the
// blobs it could not delete. It deletes even if ctx is cancelled (a put
// interrupted by its caller), for at most abandonTimeout, and gives up at
// once if the fleet cannot be reached.
//
// A blob whose put was cut short by the failure is not among locs, and
// may have been stored without this client knowing its locator: its
// replicas' extents keep it until their volume is encoded.
func (c *Client) abandon(ctx context.Context, locs []string, err error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abandonTimeout)
	defer cancel()
	todo := make(chan string)
	var (
		mu   sync.Mutex
		left []string
		wg   sync.WaitGroup
	)
	for range putWorkers {
		wg.Go(func() {
			for s := range todo {
				l, derr := ParseLocator(s)
				if derr == nil && ctx.Err() == nil {
					derr = c.Delete(ctx, l)
				}
				if derr == nil || errors.Is(derr, ErrNotFound) {
					continue
				}
				if errors.Is(derr, ErrFleetUnreachable) || errors.Is(derr, ErrNoLeader) {
					cancel()
				}
				mu.Lock()
				left = append(left, s)
				mu.Unlock()
			}
		})
	}
	for _, s := range locs {
		if s != "" {
			todo <- s
		}
	}
	close(todo)
	wg.Wait()
	if len(left) == 0 {
		return err
	}
	slices.Sort(left)
	list := strings.Join(left[:min(len(left), 10)], " ")
	if len(left) > 10 {
		list += fmt.Sprintf(" and %d more", len(left)-10)
	}
	return fmt.Errorf("%w; %d blobs of the file were stored and could not be deleted, delete them with fleetctl rm: %s", err, len(left), list)
}

// GetFile writes to w what PutFile stored under l: one blob, or the
// blobs a manifest lists, in order, checking the file's SHA-256 at the
// end. progress, if not nil, is called with the bytes written so far and
// the file's size.
func (c *Client) GetFile(ctx context.Context, l Locator, w io.Writer, progress func(done, total int64)) error {
	b, err := c.Get(ctx, l)
	if err != nil {
		return err
	}
	if !l.Manifest {
		if progress != nil {
			progress(int64(len(b)), int64(len(b)))
		}
		_, err := w.Write(b)
		return err
	}
	m, err := decodeManifest(l, b)
	if err != nil {
		return err
	}
	sum := sha256.New()
	var done int64
	for i, s := range m.Blobs {
		bl, err := ParseLocator(s)
		if err != nil {
			return fmt.Errorf("client: manifest %s, blob %d: %w", l, i, err)
		}
		data, err := c.Get(ctx, bl)
		if err != nil {
			return fmt.Errorf("client: manifest %s, blob %d (%s): %w", l, i, s, err)
		}
		sum.Write(data)
		if _, err := w.Write(data); err != nil {
			return err
		}
		done += int64(len(data))
		if progress != nil {
			progress(done, m.Size)
		}
	}
	if got := hex.EncodeToString(sum.Sum(nil)); done != m.Size || got != m.SHA256 {
		return fmt.Errorf("client: file %s read back as %d bytes with SHA-256 %s; the manifest says %d bytes, %s", l, done, got, m.Size, m.SHA256)
	}
	return nil
}

// decodeManifest decodes the manifest blob b that l names.
func decodeManifest(l Locator, b []byte) (manifest, error) {
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil || m.Format != manifestFormat || m.Version != 1 {
		return m, fmt.Errorf("client: %s is not a manifest this client reads (format %q, version %d, %v)", l, m.Format, m.Version, err)
	}
	return m, nil
}

// DeleteFile deletes what PutFile stored under l: one blob, or the blobs
// a manifest lists and then the manifest itself, so a deletion cut short
// can be run again. progress, if not nil, is called with the blobs
// deleted so far and their number.
func (c *Client) DeleteFile(ctx context.Context, l Locator, progress func(done, total int)) error {
	if !l.Manifest {
		return c.Delete(ctx, l)
	}
	b, err := c.Get(ctx, l)
	if err != nil {
		return err
	}
	m, err := decodeManifest(l, b)
	if err != nil {
		return err
	}
	for i, s := range m.Blobs {
		bl, err := ParseLocator(s)
		if err != nil {
			return fmt.Errorf("client: manifest %s, blob %d: %w", l, i, err)
		}
		// A blob already gone is one an earlier attempt deleted.
		if err := c.Delete(ctx, bl); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("client: manifest %s, blob %d (%s): %w; run the deletion again to finish it", l, i, s, err)
		}
		if progress != nil {
			progress(i+1, len(m.Blobs)+1)
		}
	}
	if err := c.Delete(ctx, l); err != nil {
		return err
	}
	if progress != nil {
		progress(len(m.Blobs)+1, len(m.Blobs)+1)
	}
	return nil
}
