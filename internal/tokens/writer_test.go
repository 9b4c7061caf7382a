package tokens

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestCSVWriter(t *testing.T) {
	var b bytes.Buffer
	w := NewCSVWriter(&b)
	secret := []byte("Hello!\xde\xad\xbe\xef")
	toks := []Token{
		{UPN: "a@contoso.com", Serial: "0012345", Secret: secret, Period: 30, Manufacturer: "Contoso", Model: "HW 1"},
		{UPN: "b@contoso.com", Serial: "2", Secret: []byte{1, 2, 3, 4, 5}, Period: 60, Manufacturer: "Con,toso", Model: `say "hi"`},
	}
	for _, tok := range toks {
		if err := w.Write(tok); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "upn,serial number,secret key,time interval,manufacturer,model\n" +
		"a@contoso.com,0012345,JBSWY3DPEHPK3PXP,30,Contoso,HW 1\n" +
		"b@contoso.com,2,AEBAGBAF,60,\"Con,toso\",\"say \"\"hi\"\"\"\n"
	if b.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", b.String(), want)
	}

	// The output reads back as the same tokens.
	cr, err := NewCSVReader(&b, CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		rec, err := cr.Next()
		if errors.Is(err, io.EOF) {
			if i != len(toks) {
				t.Errorf("read back %d rows, want %d", i, len(toks))
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got, exp := rec.Token, toks[i]
		if got.UPN != exp.UPN || got.Serial != exp.Serial || !bytes.Equal(got.Secret, exp.Secret) ||
			got.Period != exp.Period || got.Manufacturer != exp.Manufacturer || got.Model != exp.Model {
			t.Errorf("row %d read back as %+v, want %+v", i, got, exp)
		}
	}
}

func TestCSVWriterEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := NewCSVWriter(&b).Flush(); err != nil {
		t.Fatal(err)
	}
	if want := "upn,serial number,secret key,time interval,manufacturer,model\n"; b.String() != want {
		t.Errorf("output %q, want %q", b.String(), want)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestCSVWriterError(t *testing.T) {
	w := NewCSVWriter(failWriter{})
	_ = w.Write(Token{Serial: "1", Secret: []byte{1}})
	if err := w.Flush(); err == nil {
		t.Error("Flush succeeded on a failing writer")
	}
}
