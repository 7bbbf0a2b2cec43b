// Package logfile defines the log files the service hands out: their
// content (gzip-compressed JSON Lines), their paths, and the signatures that
// let a plain `curl -o` download them for a limited time.
package logfile

import (
	"compress/gzip"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"
	"strings"
	"time"
)

// Encode writes bodies to w, one per line, as gzip-compressed JSON Lines.
// It holds no body past its line, so a minute of any size is written in
// constant memory.
func Encode(w io.Writer, bodies iter.Seq[[]byte]) error {
	zw := gzip.NewWriter(w)
	for b := range bodies {
		if _, err := zw.Write(b); err != nil {
			return fmt.Errorf("logfile: encode: %w", err)
		}
		if _, err := zw.Write(newline); err != nil {
			return fmt.Errorf("logfile: encode: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("logfile: encode: %w", err)
	}
	return nil
}

var newline = []byte{'\n'}

// PathPrefix is where log files are served.
const PathPrefix = "/api/1.0/logs/"

// Name is the file name of part of minute, for example
// 20230612T1630Z-1.jsonl.gz: it says what it holds even out of its folder.
func Name(minute time.Time, part int) string {
	return fmt.Sprintf("%s-%d.jsonl.gz", minute.UTC().Format("20060102T1504Z"), part)
}

// Path is the path, below the service's public URL, of part of minute:
// PathPrefix, the schema version, the hour's folders, and Name.
func Path(schemaVersion string, minute time.Time, part int) string {
	return PathPrefix + schemaVersion + "/" + minute.UTC().Format("2006/01/02/15") + "/" + Name(minute, part)
}

// ParsePath reads a path made by Path. ok is false for any other path.
func ParsePath(p string) (schemaVersion string, minute time.Time, part int, ok bool) {
	rest, found := strings.CutPrefix(p, PathPrefix)
	if !found {
		return "", time.Time{}, 0, false
	}
	v, rest, found := strings.Cut(rest, "/")
	if !found || v == "" {
		return "", time.Time{}, 0, false
	}
	i := strings.LastIndexByte(rest, '/')
	if i < 0 {
		return "", time.Time{}, 0, false
	}
	name := rest[i+1:]
	stem, found := strings.CutSuffix(name, ".jsonl.gz")
	if !found {
		return "", time.Time{}, 0, false
	}
	stamp, num, found := strings.Cut(stem, "-")
	if !found {
		return "", time.Time{}, 0, false
	}
	m, err := time.Parse("20060102T1504Z", stamp)
	if err != nil {
		return "", time.Time{}, 0, false
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || strconv.Itoa(n) != num {
		return "", time.Time{}, 0, false
	}
	if Path(v, m, n) != p {
		return "", time.Time{}, 0, false
	}
	return v, m, n, true
}

// Errors of Signer.Verify.
var (
	ErrUnsigned     = errors.New("the location carries no signature")
	ErrBadSignature = errors.New("the location's signature is not valid")
	ErrExpired      = errors.New("the location has expired; list the logs again for a fresh one")
)

// signedPrefix starts the path segment that carries a location's expiry
// and signature: sig.<unix expiry>.<base64url HMAC>. Kept in the path, not
// the query, a location holds no & or ?, so it survives JSON escaping and
// pastes unquoted into any shell, and curl -O saves it under its file name.
const signedPrefix = "sig."

// Signer signs locations with the newest of its secrets and accepts the
// signatures of all of them.
type Signer struct {
	secrets [][]byte
}

// NewSigner returns a Signer over secrets, newest first.
func NewSigner(secrets [][]byte) *Signer {
	return &Signer{secrets: secrets}
}

func mac(secret []byte, path string, expires int64) []byte {
	h := hmac.New(sha256.New, secret)
	fmt.Fprintf(h, "GET\n%s\n%d", path, expires)
	return h.Sum(nil)
}

// Sign returns the signed form of path (a path made by Path), which
// downloads without credentials until expires.
func (s *Signer) Sign(path string, expires time.Time) string {
	e := expires.Unix()
	sig := base64.RawURLEncoding.EncodeToString(mac(s.secrets[0], path, e))
	return PathPrefix + signedPrefix + strconv.FormatInt(e, 10) + "." + sig + "/" + strings.TrimPrefix(path, PathPrefix)
}

// Split separates a request path into the file's path and the signature
// segment, which is empty when the path is not signed.
func Split(p string) (path, signature string) {
	rest, ok := strings.CutPrefix(p, PathPrefix+signedPrefix)
	if !ok {
		return p, ""
	}
	sig, file, ok := strings.Cut(rest, "/")
	if !ok || sig == "" {
		return p, ""
	}
	return PathPrefix + file, sig
}

// Verify checks signature (from Split) for path at time now.
func (s *Signer) Verify(path, signature string, now time.Time) error {
	if signature == "" {
		return ErrUnsigned
	}
	es, sigs, ok := strings.Cut(signature, ".")
	if !ok {
		return ErrBadSignature
	}
	e, err := strconv.ParseInt(es, 10, 64)
	if err != nil || strconv.FormatInt(e, 10) != es {
		return ErrBadSignature // only the form Sign writes: no sign, no leading zeros
	}
	sig, err := base64.RawURLEncoding.DecodeString(sigs)
	if err != nil || base64.RawURLEncoding.EncodeToString(sig) != sigs {
		return ErrBadSignature // no stray bits, no line breaks
	}
	for _, secret := range s.secrets {
		if hmac.Equal(sig, mac(secret, path, e)) {
			if now.Unix() >= e {
				return ErrExpired
			}
			return nil
		}
	}
	return ErrBadSignature
}
