package logfile

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func gunzip(t *testing.T, b []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gzip.NewReader: got error %v, want nil", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("reading gzip: got error %v, want nil", err)
	}
	if err := zr.Close(); err != nil {
		t.Fatalf("closing gzip: got error %v, want nil", err)
	}
	return string(out)
}

func encode(bodies [][]byte) ([]byte, error) {
	var buf bytes.Buffer
	err := Encode(&buf, slices.Values(bodies))
	return buf.Bytes(), err
}

func TestEncode(t *testing.T) {
	tests := []struct {
		name   string
		bodies []string
		want   string
	}{
		{"none", nil, ""},
		{"one", []string{`{"a":1}`}, "{\"a\":1}\n"},
		{"three", []string{`{"a":1}`, `{"b":"x y"}`, `{"c":[1,2]}`}, "{\"a\":1}\n{\"b\":\"x y\"}\n{\"c\":[1,2]}\n"},
		{"unicode kept", []string{`{"n":"café \u00e9"}`}, "{\"n\":\"café \\u00e9\"}\n"},
		{"large", []string{strings.Repeat(`{"k":"`+strings.Repeat("v", 1000)+`"}`, 1), strings.Repeat("x", 200000)}, `{"k":"` + strings.Repeat("v", 1000) + "\"}\n" + strings.Repeat("x", 200000) + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var bodies [][]byte
			for _, b := range tt.bodies {
				bodies = append(bodies, []byte(b))
			}
			out, err := encode(bodies)
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if len(out) < 2 || out[0] != 0x1f || out[1] != 0x8b {
				t.Fatalf("got %x..., want gzip magic 1f8b", out[:min(len(out), 4)])
			}
			got := gunzip(t, out)
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if len(tt.bodies) > 0 {
				if joined := strings.Join(tt.bodies, "\n") + "\n"; got != joined {
					t.Errorf("got %q, want bodies joined by newlines %q", got, joined)
				}
			}
		})
	}

	t.Run("deterministic", func(t *testing.T) {
		bodies := [][]byte{[]byte(`{"a":1}`), []byte(`{"b":2}`)}
		a, err1 := encode(bodies)
		b, err2 := encode(bodies)
		if err1 != nil || err2 != nil {
			t.Fatalf("got errors %v, %v, want nil", err1, err2)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("got different bytes for the same bodies: %x and %x", a, b)
		}
	})
}

var minute = time.Date(2023, 6, 12, 16, 30, 0, 0, time.UTC)

func TestNameAndPath(t *testing.T) {
	plus2 := time.FixedZone("+02:00", 2*60*60)
	minus530 := time.FixedZone("-05:30", -(5*60+30)*60)
	tests := []struct {
		version  string
		minute   time.Time
		part     int
		wantName string
		wantPath string
	}{
		{"1.0", minute, 2, "20230612T1630Z-2.jsonl.gz", "/api/1.0/logs/1.0/2023/06/12/16/20230612T1630Z-2.jsonl.gz"},
		{"1.0", minute, 1, "20230612T1630Z-1.jsonl.gz", "/api/1.0/logs/1.0/2023/06/12/16/20230612T1630Z-1.jsonl.gz"},
		{"1.0", time.Date(2023, 1, 2, 3, 4, 0, 0, time.UTC), 10, "20230102T0304Z-10.jsonl.gz", "/api/1.0/logs/1.0/2023/01/02/03/20230102T0304Z-10.jsonl.gz"},
		{"1.0", time.Date(2024, 12, 31, 23, 59, 0, 0, time.UTC), 123, "20241231T2359Z-123.jsonl.gz", "/api/1.0/logs/1.0/2024/12/31/23/20241231T2359Z-123.jsonl.gz"},
		{"1.0", time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), 1, "20000101T0000Z-1.jsonl.gz", "/api/1.0/logs/1.0/2000/01/01/00/20000101T0000Z-1.jsonl.gz"},
		{"2.0", minute, 1, "20230612T1630Z-1.jsonl.gz", "/api/1.0/logs/2.0/2023/06/12/16/20230612T1630Z-1.jsonl.gz"},
		// Minutes in other zones are filed by their UTC minute.
		{"1.0", time.Date(2023, 6, 12, 18, 30, 0, 0, plus2), 2, "20230612T1630Z-2.jsonl.gz", "/api/1.0/logs/1.0/2023/06/12/16/20230612T1630Z-2.jsonl.gz"},
		{"1.0", time.Date(2023, 6, 12, 19, 0, 0, 0, minus530), 1, "20230613T0030Z-1.jsonl.gz", "/api/1.0/logs/1.0/2023/06/13/00/20230613T0030Z-1.jsonl.gz"},
	}
	for _, tt := range tests {
		t.Run(tt.wantPath, func(t *testing.T) {
			if got := Name(tt.minute, tt.part); got != tt.wantName {
				t.Errorf("Name: got %v, want %v", got, tt.wantName)
			}
			if got := Path(tt.version, tt.minute, tt.part); got != tt.wantPath {
				t.Errorf("Path: got %v, want %v", got, tt.wantPath)
			}
			if got := path.Base(Path(tt.version, tt.minute, tt.part)); got != tt.wantName {
				t.Errorf("base of Path: got %v, want %v", got, tt.wantName)
			}
		})
	}
}

func TestParsePathRoundTrip(t *testing.T) {
	tests := []struct {
		version string
		minute  time.Time
		part    int
	}{
		{"1.0", minute, 1},
		{"1.0", minute, 2},
		{"1.0", minute, 99999},
		{"2.0", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), 1},
		{"1.0", time.Date(2023, 12, 31, 23, 59, 0, 0, time.UTC), 7},
		{"1.0", time.Date(1999, 1, 1, 0, 1, 0, 0, time.UTC), 1},
	}
	for _, tt := range tests {
		p := Path(tt.version, tt.minute, tt.part)
		t.Run(p, func(t *testing.T) {
			v, m, n, ok := ParsePath(p)
			if !ok {
				t.Fatalf("got ok false, want true")
			}
			if v != tt.version {
				t.Errorf("got version %v, want %v", v, tt.version)
			}
			if !m.Equal(tt.minute) {
				t.Errorf("got minute %v, want %v", m, tt.minute)
			}
			if m.Location() != time.UTC {
				t.Errorf("got minute location %v, want UTC", m.Location())
			}
			if n != tt.part {
				t.Errorf("got part %v, want %v", n, tt.part)
			}
			if got := Path(v, m, n); got != p {
				t.Errorf("Path of what ParsePath read: got %v, want %v", got, p)
			}
		})
	}
}

func TestParsePathRejects(t *testing.T) {
	good := "/api/1.0/logs/1.0/2023/06/12/16/20230612T1630Z-2.jsonl.gz"
	if _, _, _, ok := ParsePath(good); !ok {
		t.Fatalf("test bug: %s must parse", good)
	}
	tests := []struct {
		name string
		path string
	}{
		{"empty", ""},
		{"prefix only", "/api/1.0/logs/"},
		{"wrong hour folder", "/api/1.0/logs/1.0/2023/06/12/17/20230612T1630Z-2.jsonl.gz"},
		{"hour folder one digit", "/api/1.0/logs/1.0/2023/06/12/6/20230612T0630Z-2.jsonl.gz"},
		{"wrong day folder", "/api/1.0/logs/1.0/2023/06/13/16/20230612T1630Z-2.jsonl.gz"},
		{"wrong month folder", "/api/1.0/logs/1.0/2023/6/12/16/20230612T1630Z-2.jsonl.gz"},
		{"wrong year folder", "/api/1.0/logs/1.0/2022/06/12/16/20230612T1630Z-2.jsonl.gz"},
		{"no hour folder", "/api/1.0/logs/1.0/2023/06/12/20230612T1630Z-2.jsonl.gz"},
		{"no folders", "/api/1.0/logs/1.0/20230612T1630Z-2.jsonl.gz"},
		{"extra folder", "/api/1.0/logs/1.0/2023/06/12/16/30/20230612T1630Z-2.jsonl.gz"},
		{"part 0", "/api/1.0/logs/1.0/2023/06/12/16/20230612T1630Z-0.jsonl.gz"},
		{"part 01", "/api/1.0/logs/1.0/2023/06/12/16/20230612T1630Z-01.jsonl.gz"},
		{"part -1", "/api/1.0/logs/1.0/2023/06/12/16/20230612T1630Z--1.jsonl.gz"},
		{"part +1", "/api/1.0/logs/1.0/2023/06/12/16/20230612T1630Z-+1.jsonl.gz"},
		{"part x", "/api/1.0/logs/1.0/2023/06/12/16/20230612T1630Z-x.jsonl.gz"},
		{"part too big", "/api/1.0/logs/1.0/2023/06/12/16/20230612T1630Z-99999999999999999999.jsonl.gz"},
		{"no part", "/api/1.0/logs/1.0/2023/06/12/16/20230612T1630Z.jsonl.gz"},
		{"empty part", "/api/1.0/logs/1.0/2023/06/12/16/20230612T1630Z-.jsonl.gz"},
		{"suffix .jsonl", "/api/1.0/logs/1.0/2023/06/12/16/20230612T1630Z-2.jsonl"},
		{"suffix .json.gz", "/api/1.0/logs/1.0/2023/06/12/16/20230612T1630Z-2.json.gz"},
		{"suffix .gz", "/api/1.0/logs/1.0/2023/06/12/16/20230612T1630Z-2.gz"},
		{"suffix upper case", "/api/1.0/logs/1.0/2023/06/12/16/20230612T1630Z-2.JSONL.GZ"},
		{"suffix extra", "/api/1.0/logs/1.0/2023/06/12/16/20230612T1630Z-2.jsonl.gz.tmp"},
		{"trailing slash", good + "/"},
		{"query", good + "?x=1"},
		{"no version", "/api/1.0/logs/2023/06/12/16/20230612T1630Z-2.jsonl.gz"},
		{"empty version", "/api/1.0/logs//2023/06/12/16/20230612T1630Z-2.jsonl.gz"},
		{"other prefix", "/api/2.0/logs/1.0/2023/06/12/16/20230612T1630Z-2.jsonl.gz"},
		{"no leading slash", "api/1.0/logs/1.0/2023/06/12/16/20230612T1630Z-2.jsonl.gz"},
		{"double slash", "/api/1.0/logs/1.0/2023/06//12/16/20230612T1630Z-2.jsonl.gz"},
		{"stamp with seconds", "/api/1.0/logs/1.0/2023/06/12/16/20230612T163000Z-2.jsonl.gz"},
		{"stamp without Z", "/api/1.0/logs/1.0/2023/06/12/16/20230612T1630-2.jsonl.gz"},
		{"stamp lower case", "/api/1.0/logs/1.0/2023/06/12/16/20230612t1630z-2.jsonl.gz"},
		{"stamp bad minute", "/api/1.0/logs/1.0/2023/06/12/16/20230612T1660Z-2.jsonl.gz"},
		{"stamp bad date", "/api/1.0/logs/1.0/2023/02/30/16/20230230T1630Z-2.jsonl.gz"},
		{"stamp garbage", "/api/1.0/logs/1.0/2023/06/12/16/yesterday-2.jsonl.gz"},
		{"file name only", "20230612T1630Z-2.jsonl.gz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, m, n, ok := ParsePath(tt.path)
			if ok {
				t.Errorf("got ok true (%q, %v, %d), want false", v, m, n)
			}
		})
	}
}

var (
	secretA = []byte("secret-a-0123456789abcdef0123456789")
	secretB = []byte("secret-b-fedcba9876543210fedcba9876")
)

// signedParts signs p and splits the location again.
func signedParts(t *testing.T, s *Signer, p string, expires time.Time) (loc, file, sig string) {
	t.Helper()
	loc = s.Sign(p, expires)
	file, sig = Split(loc)
	if file != p {
		t.Fatalf("Split(%q): got path %q, want %q", loc, file, p)
	}
	if sig == "" {
		t.Fatalf("Split(%q): got no signature, want one", loc)
	}
	return loc, file, sig
}

func TestSignerSignSplitVerify(t *testing.T) {
	s := NewSigner([][]byte{secretA})
	p := Path("1.0", minute, 2)
	expires := time.Date(2023, 6, 12, 17, 45, 0, 0, time.UTC)
	loc, file, sig := signedParts(t, s, p, expires)

	if !strings.HasPrefix(loc, PathPrefix) {
		t.Errorf("got location %q, want it under %q", loc, PathPrefix)
	}
	if got, want := path.Base(loc), Name(minute, 2); got != want {
		t.Errorf("got last segment %q, want the file name %q", got, want)
	}
	if got, want := strings.SplitN(sig, ".", 2)[0], strconv.FormatInt(expires.Unix(), 10); got != want {
		t.Errorf("got expiry %q in signature, want %q", got, want)
	}

	tests := []struct {
		name string
		now  time.Time
		want error
	}{
		{"long before", expires.Add(-24 * time.Hour), nil},
		{"one hour before", expires.Add(-time.Hour), nil},
		{"one second before", expires.Add(-time.Second), nil},
		{"at expiry", expires, ErrExpired},
		{"half a second after", expires.Add(500 * time.Millisecond), ErrExpired},
		{"one second after", expires.Add(time.Second), ErrExpired},
		{"a year after", expires.AddDate(1, 0, 0), ErrExpired},
		{"before, in another zone", expires.Add(-time.Minute).In(time.FixedZone("X", 9*3600)), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Verify(file, sig, tt.now); !errors.Is(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// alphabet is base64url's.
const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func TestSignerVerifyTampered(t *testing.T) {
	s := NewSigner([][]byte{secretA})
	p := Path("1.0", minute, 2)
	expires := time.Date(2023, 6, 12, 17, 45, 0, 0, time.UTC)
	now := expires.Add(-30 * time.Minute)
	_, _, sig := signedParts(t, s, p, expires)
	exp, mac, _ := strings.Cut(sig, ".")

	t.Run("each character of the signature", func(t *testing.T) {
		for i := range len(mac) {
			// Move the character half way round the alphabet, so that its
			// high bits change: every position counts.
			j := (strings.IndexByte(alphabet, mac[i]) + 32) % 64
			bad := mac[:i] + alphabet[j:j+1] + mac[i+1:]
			if got := s.Verify(p, exp+"."+bad, now); !errors.Is(got, ErrBadSignature) {
				t.Errorf("character %d changed (%s): got %v, want %v", i, bad, got, ErrBadSignature)
			}
		}
	})

	t.Run("each character of the path", func(t *testing.T) {
		for i := range len(p) {
			c := byte('x')
			if p[i] == c {
				c = 'y'
			}
			bad := p[:i] + string(c) + p[i+1:]
			if got := s.Verify(bad, sig, now); !errors.Is(got, ErrBadSignature) {
				t.Errorf("path %q: got %v, want %v", bad, got, ErrBadSignature)
			}
		}
	})

	tests := []struct {
		name string
		path string
		sig  string
	}{
		{"another minute", Path("1.0", minute.Add(time.Minute), 2), sig},
		{"another hour", Path("1.0", minute.Add(time.Hour), 2), sig},
		{"another part", Path("1.0", minute, 3), sig},
		{"part 1", Path("1.0", minute, 1), sig},
		{"another version", Path("2.0", minute, 2), sig},
		{"path with suffix", p + "x", sig},
		{"expiry one later", p, strconv.FormatInt(expires.Unix()+1, 10) + "." + mac},
		{"expiry one earlier", p, strconv.FormatInt(expires.Unix()-1, 10) + "." + mac},
		{"expiry a year later", p, strconv.FormatInt(expires.AddDate(1, 0, 0).Unix(), 10) + "." + mac},
		{"expiry negative", p, "-" + exp + "." + mac},
		{"expiry not a number", p, "soon." + mac},
		{"expiry missing", p, "." + mac},
		{"expiry too big", p, "99999999999999999999." + mac},
		{"no dot", p, exp + mac},
		{"mac missing", p, exp + "."},
		{"mac truncated", p, exp + "." + mac[:len(mac)-1]},
		{"mac shortened by 4", p, exp + "." + mac[:len(mac)-4]},
		{"mac lengthened", p, exp + "." + mac + "AAAA"},
		{"mac not base64url", p, exp + "." + strings.Repeat("!", len(mac))},
		{"mac standard base64", p, exp + "." + strings.NewReplacer("-", "+", "_", "/").Replace(mac) + "+/"},
		{"mac padded wrong", p, exp + "." + mac + "="},
		{"mac of zeros", p, exp + "." + strings.Repeat("A", len(mac))},
		{"swapped", p, mac + "." + exp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Verify(tt.path, tt.sig, now); !errors.Is(got, ErrBadSignature) {
				t.Errorf("got %v, want %v", got, ErrBadSignature)
			}
		})
	}

	t.Run("another secret", func(t *testing.T) {
		other := NewSigner([][]byte{secretB})
		_, file, otherSig := signedParts(t, other, p, expires)
		if got := s.Verify(file, otherSig, now); !errors.Is(got, ErrBadSignature) {
			t.Errorf("got %v, want %v", got, ErrBadSignature)
		}
		if got := other.Verify(file, sig, now); !errors.Is(got, ErrBadSignature) {
			t.Errorf("got %v, want %v", got, ErrBadSignature)
		}
	})

	t.Run("bad signature after expiry is bad, not expired", func(t *testing.T) {
		bad := exp + "." + strings.Repeat("A", len(mac))
		if got := s.Verify(p, bad, expires.Add(time.Hour)); !errors.Is(got, ErrBadSignature) {
			t.Errorf("got %v, want %v", got, ErrBadSignature)
		}
	})

	t.Run("location of another path, spliced", func(t *testing.T) {
		other := s.Sign(Path("1.0", minute, 1), expires)
		_, otherSig := Split(other)
		if got := s.Verify(p, otherSig, now); !errors.Is(got, ErrBadSignature) {
			t.Errorf("got %v, want %v", got, ErrBadSignature)
		}
	})
}

// TestSignerVerifyNonCanonical documents a known bug: Verify decodes the
// expiry with strconv.ParseInt and the MAC with the non-strict
// base64.RawURLEncoding, so signature segments that differ from the one
// Sign wrote, in their text, still verify.
func TestSignerVerifyNonCanonical(t *testing.T) {
	s := NewSigner([][]byte{secretA})
	p := Path("1.0", minute, 2)
	expires := time.Date(2023, 6, 12, 17, 45, 0, 0, time.UTC)
	now := expires.Add(-30 * time.Minute)
	_, _, sig := signedParts(t, s, p, expires)
	exp, mac, _ := strings.Cut(sig, ".")
	// A 32-byte MAC takes 43 characters; the last one carries 2 unused
	// bits, which a non-strict decoder ignores.
	last := strings.IndexByte(alphabet, mac[len(mac)-1])
	tests := []struct {
		name string
		sig  string
	}{
		{"last character's unused bits changed", exp + "." + mac[:len(mac)-1] + alphabet[last^1:last^1+1]},
		{"expiry with a plus sign", "+" + exp + "." + mac},
		{"expiry with a leading zero", "0" + exp + "." + mac},
		{"newline inside the mac", exp + "." + mac[:10] + "\n" + mac[10:]},
		{"carriage return inside the mac", exp + "." + mac[:10] + "\r" + mac[10:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.Verify(p, tt.sig, now)
			if got == nil {
				t.Fatalf("Verify(%q) got nil, want %v: a signature that is not the one Sign wrote is accepted", tt.sig, ErrBadSignature)
			}
			if !errors.Is(got, ErrBadSignature) {
				t.Errorf("got %v, want %v", got, ErrBadSignature)
			}
		})
	}
}

func TestSignerRotation(t *testing.T) {
	newSecret, oldSecret := secretA, secretB
	old := NewSigner([][]byte{oldSecret})
	rotated := NewSigner([][]byte{newSecret, oldSecret})
	onlyNew := NewSigner([][]byte{newSecret})
	p := Path("1.0", minute, 1)
	expires := time.Date(2023, 6, 12, 17, 0, 0, 0, time.UTC)
	now := expires.Add(-time.Minute)

	_, file, oldSig := signedParts(t, old, p, expires)
	if got := rotated.Verify(file, oldSig, now); got != nil {
		t.Errorf("rotated verifies old signature: got %v, want nil", got)
	}
	if got := rotated.Verify(file, oldSig, expires); !errors.Is(got, ErrExpired) {
		t.Errorf("rotated verifies old expired signature: got %v, want %v", got, ErrExpired)
	}
	if got := onlyNew.Verify(file, oldSig, now); !errors.Is(got, ErrBadSignature) {
		t.Errorf("new-only verifies old signature: got %v, want %v", got, ErrBadSignature)
	}

	_, file, newSig := signedParts(t, rotated, p, expires)
	if got := onlyNew.Verify(file, newSig, now); got != nil {
		t.Errorf("rotated signs with the new secret: got %v from a new-only signer, want nil", got)
	}
	if got := old.Verify(file, newSig, now); !errors.Is(got, ErrBadSignature) {
		t.Errorf("rotated signs with the new secret: got %v from an old-only signer, want %v", got, ErrBadSignature)
	}
	if got := rotated.Verify(file, newSig, now); got != nil {
		t.Errorf("rotated verifies its own signature: got %v, want nil", got)
	}
	if newSig == oldSig {
		t.Errorf("got the same signature %q from both secrets", newSig)
	}
}

func TestSplitUnsigned(t *testing.T) {
	s := NewSigner([][]byte{secretA})
	now := time.Date(2023, 6, 12, 17, 0, 0, 0, time.UTC)
	tests := []string{
		Path("1.0", minute, 2),
		"/api/1.0/logs/",
		"/api/1.0/logs/sig.123",
		"/api/1.0/logs/sig.",
		"/somewhere/else",
		"",
	}
	for _, p := range tests {
		t.Run(p, func(t *testing.T) {
			file, sig := Split(p)
			if file != p {
				t.Errorf("got path %q, want %q", file, p)
			}
			if sig != "" {
				t.Errorf("got signature %q, want %q", sig, "")
			}
			if got := s.Verify(file, sig, now); !errors.Is(got, ErrUnsigned) {
				t.Errorf("got %v, want %v", got, ErrUnsigned)
			}
		})
	}
}

func TestSignedLocationHasNoQuerySeparators(t *testing.T) {
	secrets := [][]byte{secretA, secretB, []byte(""), []byte("?&=#"), bytes.Repeat([]byte{0xff}, 64)}
	expiries := []time.Time{
		time.Unix(0, 0),
		time.Date(2023, 6, 12, 17, 45, 0, 0, time.UTC),
		time.Date(2099, 12, 31, 23, 59, 59, 0, time.UTC),
	}
	for _, secret := range secrets {
		s := NewSigner([][]byte{secret})
		for _, exp := range expiries {
			for m := range 60 {
				for _, part := range []int{1, 2, 17} {
					p := Path("1.0", minute.Add(time.Duration(m)*time.Minute), part)
					loc := s.Sign(p, exp)
					if strings.ContainsAny(loc, "&?") {
						t.Fatalf("got location %q, want no '&' or '?'", loc)
					}
					if strings.ContainsAny(loc, "#% +=\\\"'") {
						t.Fatalf("got location %q, want only path-safe characters", loc)
					}
					if file, sig := Split(loc); file != p || sig == "" {
						t.Fatalf("Split(%q): got (%q, %q), want (%q, a signature)", loc, file, sig, p)
					}
				}
			}
		}
	}
}

func FuzzSplitPath(f *testing.F) {
	s := NewSigner([][]byte{secretA, secretB})
	expires := time.Date(2023, 6, 12, 17, 45, 0, 0, time.UTC)
	now := expires.Add(-time.Minute)
	p := Path("1.0", minute, 2)
	f.Add(p)
	f.Add(s.Sign(p, expires))
	f.Add(NewSigner([][]byte{secretB}).Sign(Path("1.0", minute, 1), expires))
	f.Add("/api/1.0/logs/sig./")
	f.Add("/api/1.0/logs/sig.1.2/3")
	f.Add("/api/1.0/logs/1.0/2023/06/12/16/20230612T1630Z-01.jsonl.gz")
	f.Add("/api/1.0/logs/1.0/2023/06/12/17/20230612T1630Z-2.jsonl.gz")
	f.Add("/api/1.0/logs/")
	f.Add("")
	f.Add("garbage")
	f.Fuzz(func(t *testing.T, p string) {
		file, sig := Split(p)
		if !strings.HasPrefix(p, PathPrefix+"sig.") && (file != p || sig != "") {
			t.Errorf("Split(%q): got (%q, %q), want the input back without a signature", p, file, sig)
		}
		err := s.Verify(file, sig, now)
		if sig == "" && !errors.Is(err, ErrUnsigned) {
			t.Errorf("Verify of an unsigned path: got %v, want %v", err, ErrUnsigned)
		}
		if err != nil && !errors.Is(err, ErrUnsigned) && !errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrExpired) {
			t.Errorf("Verify: got unexpected error %v", err)
		}
		for _, q := range []string{p, file} {
			v, m, n, ok := ParsePath(q)
			if !ok {
				continue
			}
			if got := Path(v, m, n); got != q {
				t.Errorf("ParsePath(%q) = %q, %v, %d: Path gives %q, want the input", q, v, m, n, got)
			}
			if n < 1 {
				t.Errorf("ParsePath(%q): got part %d, want >= 1", q, n)
			}
			if m.Second() != 0 || m.Nanosecond() != 0 || m.Location() != time.UTC {
				t.Errorf("ParsePath(%q): got minute %v, want a whole UTC minute", q, m)
			}
			// A file's path, once signed, splits back and verifies.
			loc := s.Sign(q, expires)
			if f2, sig2 := Split(loc); f2 != q || s.Verify(f2, sig2, now) != nil {
				t.Errorf("Sign(%q) = %q: Split gives (%q, %q), want the path back, verifying", q, loc, f2, sig2)
			}
		}
	})
}
