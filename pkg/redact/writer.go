package redact

import (
	"bytes"
	"io"
	"sync"
)

// maxHold bounds what a Writer keeps back while waiting for the end of a token.
const maxHold = 64 << 10

// Writer passes a stream through Text. A key or URL written in pieces (one Write
// ending inside it) is held back until the token ends — at white space, a quote, an
// angle bracket, a backtick or a backslash, none of which occur inside a key or a URL
// — or until Flush, so no piece escapes unredacted. It is safe for concurrent use.
type Writer struct {
	mu   sync.Mutex
	w    io.Writer
	urls bool
	buf  []byte
}

// NewWriter returns a Writer onto w that removes registered keys and, with urls,
// URL credentials.
func NewWriter(w io.Writer, urls bool) *Writer { return &Writer{w: w, urls: urls} }

// SetURLs turns URL redaction on or off (`config view --reveal` shows RPC URLs in
// full on stdout); keys are always removed.
func (w *Writer) SetURLs(on bool) {
	w.mu.Lock()
	w.urls = on
	w.mu.Unlock()
}

// Write takes all of p; what may be the start of a key or URL is held back.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	cut := lastBoundary(w.buf)
	if len(w.buf)-cut > maxHold {
		// A token this long is no key or URL worth waiting for; cut it where a hex
		// run cannot be split.
		cut = len(w.buf) - 128
		for cut > 0 && isHex(w.buf[cut-1]) {
			cut--
		}
	}
	if cut == 0 {
		return len(p), nil
	}
	err := w.emit(w.buf[:cut])
	w.buf = append(w.buf[:0], w.buf[cut:]...)
	return len(p), err
}

// Flush writes what is held back.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) == 0 {
		return nil
	}
	err := w.emit(w.buf)
	w.buf = w.buf[:0]
	return err
}

func (w *Writer) emit(b []byte) error {
	s := Keys(string(b))
	if w.urls {
		s = URLs(s)
	}
	_, err := io.WriteString(w.w, s)
	return err
}

// lastBoundary is the index just after the last byte that ends every token, 0 when
// there is none.
func lastBoundary(b []byte) int {
	return bytes.LastIndexFunc(b, func(r rune) bool {
		switch r {
		case ' ', '\t', '\n', '\r', '\v', '\f', '"', '\'', '<', '>', '`', '\\':
			return true
		}
		return false
	}) + 1
}
