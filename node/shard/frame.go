package shard

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// A message is uvarint(len(header)) ‖ header ‖ body, where the header is
// one CBOR map and the body, if any, has the length the header states.

// maxLenBytes bounds the uvarint prefix: 64-bit values take at most 10.
const maxLenBytes = binary.MaxVarintLen64

// writeMsg writes one message. body may be nil.
func writeMsg(w io.Writer, header, body []byte) error {
	buf := make([]byte, 0, maxLenBytes+len(header))
	buf = binary.AppendUvarint(buf, uint64(len(header)))
	buf = append(buf, header...)
	if _, err := w.Write(buf); err != nil {
		return err
	}
	if len(body) > 0 {
		if _, err := w.Write(body); err != nil {
			return err
		}
	}
	return nil
}

// errNoMessage: the stream ended before a message began.
var errNoMessage = errors.New("stream ended before a message")

// readHeader reads a length prefix and the header it announces. The prefix
// must be a minimal uvarint of 1..max. A stream that ends before the first
// byte gives errNoMessage; one cut short inside the header,
// io.ErrUnexpectedEOF; a bad prefix, a *refusal with ErrBadRequest. Other
// errors are the reader's (ErrStalled, a context error, a reset).
func readHeader(r *bufio.Reader, max int) ([]byte, error) {
	var n uint64
	for i := 0; ; i++ {
		if i == maxLenBytes {
			return nil, refuse(ErrBadRequest, "header length prefix too long")
		}
		b, err := r.ReadByte()
		if err != nil {
			if err == io.EOF {
				if i == 0 {
					return nil, errNoMessage
				}
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if i > 0 && b == 0 {
			return nil, refuse(ErrBadRequest, "header length prefix is not a minimal uvarint")
		}
		n |= uint64(b&0x7f) << (7 * i)
		if n > uint64(max) {
			return nil, refuse(ErrBadRequest, fmt.Sprintf("header longer than %d bytes", max))
		}
		if b < 0x80 {
			break
		}
	}
	if n == 0 {
		return nil, refuse(ErrBadRequest, "empty header")
	}
	h := make([]byte, n)
	if _, err := io.ReadFull(r, h); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return h, nil
}
