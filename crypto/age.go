package crypto

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
)

// age's STREAM payload: 64 KiB chunks, each followed by a 16-byte tag.
const (
	ageChunk = 64 << 10
	ageTag   = 16
)

// Encrypt starts an age encryption to r: what is written to the returned
// WriteCloser is encrypted and written to dst. Close must be called, and its
// error checked, or the blob is truncated and will not open. Use it for
// blobs too large for memory; Seal is simpler for packs.
func Encrypt(dst io.Writer, r age.Recipient) (io.WriteCloser, error) {
	w, err := age.Encrypt(dst, r)
	if err != nil {
		return nil, fmt.Errorf("crypto: encrypt: %w", err)
	}
	return w, nil
}

// Decrypt opens an age stream from src with id. It fails at once with
// ErrWrongKey when the blob was not encrypted to id, or with ErrTampered when
// the header does not authenticate. Reads from the returned Reader then fail
// with ErrTampered when a chunk does not authenticate or the blob is
// truncated or extended. Plaintext is authenticated chunk by chunk: do not
// treat it as complete before Read returns io.EOF. An error reading src is
// returned as is (wrapped), not as ErrTampered.
func Decrypt(src io.Reader, id age.Identity) (io.Reader, error) {
	er := &errReader{r: src}
	r, err := age.Decrypt(er, id)
	if err != nil {
		return nil, ageError(err, er)
	}
	return &plainReader{r: r, src: er}, nil
}

// Seal encrypts a whole blob in memory to r. The result is allocated once,
// at its exact size: the header plus 16 bytes per started 64 KiB chunk.
func Seal(plaintext []byte, r age.Recipient) ([]byte, error) {
	var w appendWriter
	ew, err := age.Encrypt(&w, r) // writes the header and nonce to w
	if err != nil {
		return nil, fmt.Errorf("crypto: encrypt: %w", err)
	}
	chunks := max(1, (len(plaintext)+ageChunk-1)/ageChunk)
	w.b = append(make([]byte, 0, len(w.b)+len(plaintext)+chunks*ageTag), w.b...)
	if _, err := ew.Write(plaintext); err != nil {
		return nil, fmt.Errorf("crypto: encrypt: %w", err)
	}
	if err := ew.Close(); err != nil {
		return nil, fmt.Errorf("crypto: encrypt: %w", err)
	}
	return w.b, nil
}

// Open decrypts and authenticates a whole blob in memory, with the errors of
// Decrypt. The result is a fresh slice of exactly the plaintext's size;
// ciphertext is not modified.
func Open(ciphertext []byte, id age.Identity) ([]byte, error) {
	return openInto(ciphertext, id, nil)
}

// OpenInPlace is Open writing the plaintext over the start of ciphertext,
// whose storage the result shares (no second blob-sized buffer: a restore
// holds one per pack in flight). On error ciphertext's contents are
// undefined.
//
// It relies on how age's DecryptReaderAt works: it copies each encrypted
// chunk into a buffer of its own before decrypting it, and writes
// plaintext chunk i (at 64 KiB × i) only after reading encrypted chunk i,
// which starts later (after the header, 64 KiB + 16 bytes × i); so no byte
// is overwritten before it is read. Were that ever to change, the
// ciphertext read would be damaged and fail to authenticate: an error,
// never wrong plaintext (TestOpenInPlace would fail).
func OpenInPlace(ciphertext []byte, id age.Identity) ([]byte, error) {
	return openInto(ciphertext, id, ciphertext[:0])
}

// openInto decrypts into dst's storage when its capacity is enough (the
// result is then dst[:n]), else into a fresh slice.
func openInto(ciphertext []byte, id age.Identity, dst []byte) ([]byte, error) {
	src := &errReader{} // bytes.Reader does not fail; ageError wants one
	ra, n, err := age.DecryptReaderAt(bytes.NewReader(ciphertext), int64(len(ciphertext)), id)
	if err != nil {
		return nil, ageError(err, src)
	}
	// n < len(ciphertext): age authenticated the size.
	out := dst[:0]
	if int64(cap(out)) < n {
		out = make([]byte, n)
	}
	out = out[:n]
	if m, err := ra.ReadAt(out, 0); err != nil && err != io.EOF {
		return nil, ageError(err, src)
	} else if m != len(out) {
		return nil, ErrTampered
	}
	return out, nil
}

type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// errReader remembers the first error of src other than io.EOF, so that an
// I/O failure is not reported as tampering.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

type plainReader struct {
	r   io.Reader
	src *errReader
}

func (p *plainReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if err != nil && err != io.EOF {
		err = ageError(err, p.src)
	}
	return n, err
}

// ageError maps an error of age to ErrWrongKey or ErrTampered, keeping
// age's words as detail, unless src itself failed.
func ageError(err error, src *errReader) error {
	if src.err != nil {
		return fmt.Errorf("crypto: reading blob: %w", src.err)
	}
	var noMatch *age.NoIdentityMatchError
	if errors.As(err, &noMatch) {
		return ErrWrongKey
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w (truncated)", ErrTampered)
	}
	return fmt.Errorf("%w (%v)", ErrTampered, err)
}
