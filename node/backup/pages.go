package backup

import (
	"io"
	"sync"
)

// Chunk data between the readers and the packer lives in fixed 64 KiB pages
// from a per-run pool. Every page fits every use, so once the pool is warm a
// backup allocates almost nothing and the Go heap neither grows to twice
// what is in flight between collections nor fragments into odd-sized
// holes, as it does with chunk-sized buffers (1 to 8 MiB, all different).
const pageSize = 64 << 10

type page = [pageSize]byte

// pagePool hands out pages; the run's semaphore bounds how many are in use.
// Safe for concurrent use. It dies with the run.
type pagePool struct {
	mu   sync.Mutex
	free []*page
}

func (pp *pagePool) get() *page {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if n := len(pp.free); n > 0 {
		p := pp.free[n-1]
		pp.free = pp.free[:n-1]
		return p
	}
	return new(page)
}

// release returns d's pages; d must not be used afterwards.
func (pp *pagePool) release(d *chunkData) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	pp.free = append(pp.free, d.pages...)
	d.pages, d.n = nil, 0
}

// chunkData is n bytes spread over pages, all full but the last.
type chunkData struct {
	pages []*page
	n     int
}

func pagesFor(n int) int { return (n + pageSize - 1) / pageSize }

// copyIn copies b into new pages.
func (pp *pagePool) copyIn(b []byte) chunkData {
	d := chunkData{pages: make([]*page, 0, pagesFor(len(b))), n: len(b)}
	for len(b) > 0 {
		p := pp.get()
		b = b[copy(p[:], b):]
		d.pages = append(d.pages, p)
	}
	return d
}

// segment returns the bytes of page i.
func (d *chunkData) segment(i int) []byte {
	if i == len(d.pages)-1 {
		return d.pages[i][:d.n-i*pageSize]
	}
	return d.pages[i][:]
}

// writeTo writes the bytes to w.
func (d *chunkData) writeTo(w io.Writer) error {
	for i := range d.pages {
		if _, err := w.Write(d.segment(i)); err != nil {
			return err
		}
	}
	return nil
}

// pageWriter appends what is written to it to pages.
type pageWriter struct {
	pp *pagePool
	d  chunkData
}

func (w *pageWriter) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		off := w.d.n % pageSize
		if off == 0 {
			w.d.pages = append(w.d.pages, w.pp.get())
		}
		k := copy(w.d.pages[len(w.d.pages)-1][off:], b)
		w.d.n += k
		b = b[k:]
	}
	return n, nil
}
