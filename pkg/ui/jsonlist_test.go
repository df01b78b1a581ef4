package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/errs"
)

type listItem struct {
	ID   string            `json:"id"`
	Args map[string]string `json:"args"`
	Tags []string          `json:"tags"`
}

type listHead struct {
	ChainID uint64     `json:"chainId"`
	Note    string     `json:"note,omitempty"`
	Items   []listItem `json:"items"`
}

// Streaming a list item by item gives exactly the bytes WriteJSON gives for the
// whole value, with no items, one, or many (HTML characters unescaped, as WriteJSON).
func TestJSONListWritesWhatWriteJSONWrites(t *testing.T) {
	for _, items := range [][]listItem{
		{},
		{{ID: "1", Args: map[string]string{"b": "<2>", "a": "1 & 1"}, Tags: []string{}}},
		{{ID: "1", Args: map[string]string{}}, {ID: "2", Args: map[string]string{"x": "y"}, Tags: []string{"p", "q"}}, {ID: "3"}},
	} {
		var want, got bytes.Buffer
		io := Test(strings.NewReader(""), &want, &bytes.Buffer{})
		if err := io.WriteJSON(listHead{ChainID: 7, Note: "n", Items: items}); err != nil {
			t.Fatal(err)
		}
		io.Out = &got
		l, err := io.StartJSONList(listHead{ChainID: 7, Note: "n", Items: []listItem{}})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if err := l.Add(it); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%d items:\ngot\n%s\nwant\n%s", len(items), got.String(), want.String())
		}
	}
}

func TestJSONListNeedsAnEmptyListLast(t *testing.T) {
	io := Test(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	if _, err := io.StartJSONList(struct {
		Items []int `json:"items"`
		After int   `json:"after"`
	}{Items: []int{}}); err == nil {
		t.Fatal("a list that is not the last field was accepted")
	}
}

// Items reach the writer at each Flush, before the list is closed: a reader of a long
// listing sees the first items while later ones are still being read.
func TestJSONListFlushHandsItemsOver(t *testing.T) {
	var out bytes.Buffer
	io := Test(strings.NewReader(""), &out, &bytes.Buffer{})
	l, err := io.StartJSONList(listHead{ChainID: 7, Items: []listItem{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Add(listItem{ID: "1"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, `"id": "1"`) || strings.Contains(s, "]") {
		t.Fatalf("after one item and a flush the writer holds\n%s", s)
	}
	if err := l.Add(listItem{ID: "2"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, `"id": "2"`) || !strings.HasSuffix(s, "\n  ]\n}\n") {
		t.Fatalf("closed list\n%s", s)
	}
}

// A listing that fails halfway still leaves one JSON object on stdout: the items
// written so far and the error, as PrintError would write it; PrintError then writes
// only to stderr.
func TestJSONListFailEndsTheDocumentWithTheError(t *testing.T) {
	for _, n := range []int{0, 2} {
		var out, errOut bytes.Buffer
		io := Test(strings.NewReader(""), &out, &errOut)
		io.Format = JSON
		l, err := io.StartJSONList(listHead{ChainID: 7, Items: []listItem{}})
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if err := l.Add(listItem{ID: fmt.Sprint(i + 1)}); err != nil {
				t.Fatal(err)
			}
		}
		cause := errs.Failedf("jobs(1001) <on> escrow: connection reset").WithFix("check the RPC")
		if got := l.Fail(cause); got != cause {
			t.Fatalf("Fail returned %v, want the error it was given", got)
		}
		io.PrintError(cause)
		var doc struct {
			ChainID int        `json:"chainId"`
			Items   []listItem `json:"items"`
			Error   ErrorBody  `json:"error"`
		}
		if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
			t.Fatalf("%d items: stdout is not one JSON object (%v):\n%s", n, err, out.String())
		}
		want := ErrorBody{Code: 1, Kind: "failed", Message: "jobs(1001) <on> escrow: connection reset", Fix: "check the RPC"}
		if len(doc.Items) != n || doc.ChainID != 7 || doc.Error != want {
			t.Errorf("%d items: decoded %+v", n, doc)
		}
		if !strings.Contains(errOut.String(), "X jobs(1001) <on> escrow") {
			t.Errorf("stderr %q, want the error", errOut.String())
		}
	}
}
