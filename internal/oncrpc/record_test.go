package oncrpc

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// frag builds one fragment: header then data.
func frag(data string, last bool) []byte {
	return append(AppendFragmentHeader(nil, len(data), last), data...)
}

func TestRecordReaderFragments(t *testing.T) {
	var stream []byte
	stream = append(stream, frag("hello", true)...)
	stream = append(stream, frag("ab", false)...)
	stream = append(stream, frag("", false)...) // empty middle fragment
	stream = append(stream, frag("cde", true)...)
	stream = append(stream, frag("", true)...) // empty record
	rr := NewRecordReader(bytes.NewReader(stream), 16)
	for _, want := range []string{"hello", "abcde", ""} {
		got, err := rr.ReadRecord()
		if err != nil || string(got) != want {
			t.Fatalf("ReadRecord = %q, %v; want %q", got, err, want)
		}
	}
	if _, err := rr.ReadRecord(); err != io.EOF {
		t.Fatalf("at end: %v, want io.EOF", err)
	}
}

// oneByteReader hands out one byte per Read, so every header and fragment
// arrives split.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) { return o.r.Read(p[:min(len(p), 1)]) }

func TestRecordReaderSplitReads(t *testing.T) {
	stream := append(frag("spl", false), frag("it!", true)...)
	rr := NewRecordReader(oneByteReader{bytes.NewReader(stream)}, 0)
	got, err := rr.ReadRecord()
	if err != nil || string(got) != "split!" {
		t.Fatalf("ReadRecord = %q, %v", got, err)
	}
}

func TestRecordReaderErrors(t *testing.T) {
	big := AppendFragmentHeader(nil, 0x7fffffff, true) // claims 2 GiB, sends nothing
	tests := []struct {
		name   string
		stream []byte
		max    int
		want   error
	}{
		{"oversize single fragment", big, 1024, ErrRecordTooLarge},
		{"oversize across fragments", append(frag("0123456789", false), frag("0123456789", true)...), 15, ErrRecordTooLarge},
		{"cut in header", []byte{0x80, 0}, 0, io.ErrUnexpectedEOF},
		{"cut in data", frag("abcdef", true)[:7], 0, io.ErrUnexpectedEOF},
		{"cut before last fragment", frag("abc", false), 0, io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rr := NewRecordReader(bytes.NewReader(tc.stream), tc.max)
			if _, err := rr.ReadRecord(); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if cap(rr.buf) > 64<<10 {
				t.Fatalf("reader allocated %d bytes on a header's say-so", cap(rr.buf))
			}
		})
	}
}

func TestRecordReaderGrowsOnlyWithData(t *testing.T) {
	// A 1 MiB limit, a header claiming 1 MiB, then only 10 bytes: the
	// buffer must stay small.
	stream := append(AppendFragmentHeader(nil, 1<<20, true), "0123456789"...)
	rr := NewRecordReader(bytes.NewReader(stream), 1<<20)
	if _, err := rr.ReadRecord(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v", err)
	}
	if cap(rr.buf) > 2*readChunk {
		t.Fatalf("buffer grew to %d bytes", cap(rr.buf))
	}
}

func TestWriteRecordRoundTrip(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 100) // 1600 bytes
	for _, maxFrag := range []int{0, 1, 7, 512, 1600, 5000} {
		var buf bytes.Buffer
		if err := WriteRecord(&buf, data, maxFrag); err != nil {
			t.Fatal(err)
		}
		if maxFrag > 0 && maxFrag < len(data) {
			frags := (len(data) + maxFrag - 1) / maxFrag
			if want := len(data) + 4*frags; buf.Len() != want {
				t.Fatalf("maxFrag %d: %d bytes on the wire, want %d", maxFrag, buf.Len(), want)
			}
		}
		got, err := NewRecordReader(&buf, 4096).ReadRecord()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("maxFrag %d: round trip failed: %v", maxFrag, err)
		}
	}
}
