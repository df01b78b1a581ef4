package ui

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
)

// JSONList writes, item by item, the JSON object WriteJSON would write for a value
// whose last field is a list: a scan of a million jobs prints them as they arrive
// instead of holding them all, and the bytes are the same as WriteJSON's.
type JSONList struct {
	w    *bufio.Writer
	item bytes.Buffer
	enc  *json.Encoder
	n    int
}

// StartJSONList writes head — the object with its last field an empty list, which
// must marshal as [] — up to that list, and returns the writer for its items.
func (o *IO) StartJSONList(head any) (*JSONList, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(head); err != nil {
		return nil, err
	}
	const tail = "[]\n}\n"
	if !bytes.HasSuffix(b.Bytes(), []byte(tail)) {
		return nil, fmt.Errorf("ui: %T does not end with an empty list", head)
	}
	o.jsonStarted = true
	l := &JSONList{w: bufio.NewWriterSize(o.Out, 64<<10)}
	l.enc = json.NewEncoder(&l.item)
	l.enc.SetIndent("    ", "  ")
	l.enc.SetEscapeHTML(false)
	_, err := l.w.Write(b.Bytes()[:b.Len()-len(tail)])
	return l, err
}

// Add writes one item of the list.
func (l *JSONList) Add(v any) error {
	l.item.Reset()
	if err := l.enc.Encode(v); err != nil {
		return err
	}
	if l.n == 0 {
		l.w.WriteString("[\n    ")
	} else {
		l.w.WriteString(",\n    ")
	}
	l.n++
	_, err := l.w.Write(bytes.TrimSuffix(l.item.Bytes(), []byte("\n")))
	return err
}

// Flush hands what has been written so far to the output. Items are buffered (64
// KiB) between flushes; a caller flushes after each batch it read, so a reader sees
// items while the rest are still being read.
func (l *JSONList) Flush() error { return l.w.Flush() }

// Close ends the list and the object and flushes.
func (l *JSONList) Close() error {
	if l.n == 0 {
		l.w.WriteString("[]\n}\n")
	} else {
		l.w.WriteString("\n  ]\n}\n")
	}
	return l.w.Flush()
}

// Fail ends the document after the items written so far with an "error" field — the
// body PrintError writes, {"code","kind","message","fix"} — so stdout stays one valid
// JSON object when a listing fails halfway, and returns err for the caller to return.
// PrintError then reports err on stderr only.
func (l *JSONList) Fail(err error) error {
	if l.n == 0 {
		l.w.WriteString("[],\n")
	} else {
		l.w.WriteString("\n  ],\n")
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("  ", "  ")
	enc.SetEscapeHTML(false)
	if enc.Encode(errorBody(err)) != nil {
		return err
	}
	l.w.WriteString(`  "error": `)
	l.w.Write(b.Bytes())
	l.w.WriteString("}\n")
	_ = l.w.Flush() // a write error stays with stdout; err is what the caller reports
	return err
}
