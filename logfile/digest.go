package logfile

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/auditgraph/auditgraph/store"
)

// DigestVersion is the version of the digest document's layout.
const DigestVersion = 1

// Digest is the signed part of a digest document: the files of one hour
// (or, for part 2 and later, the files written after the earlier parts)
// and the digest it links to.
type Digest struct {
	Version       int          `json:"version"`
	SchemaVersion string       `json:"schemaVersion"`
	Hour          string       `json:"hour"`
	Part          int          `json:"part"`
	CreatedAt     string       `json:"createdAt"`
	Previous      *DigestRef   `json:"previous"`
	Files         []DigestFile `json:"files"`
}

// DigestRef names another digest by hour, part and SHA-256 (hex) of its
// whole document.
type DigestRef struct {
	Hour   string `json:"hour"`
	Part   int    `json:"part"`
	SHA256 string `json:"sha256"`
}

// DigestFile is one log file a digest vouches for. Path is relative to an
// export's folder and to PathPrefix.
type DigestFile struct {
	Path        string `json:"path"`
	Minute      string `json:"minute"`
	Part        int    `json:"part"`
	SHA256      string `json:"sha256"`
	RecordCount int    `json:"recordCount"`
	Bytes       int64  `json:"bytes"`
}

// SignedDigest is a digest document as served and exported. The signature
// is over the exact bytes of the digest member.
type SignedDigest struct {
	Digest    json.RawMessage `json:"digest"`
	KeyID     string          `json:"keyId"`
	Algorithm string          `json:"algorithm"`
	Signature string          `json:"signature"`
}

// DigestSigner signs digests with a key whose public half is published
// under its id; *auth.Tokens is one.
type DigestSigner interface {
	Sign(payload []byte) (keyID string, signature []byte)
}

// BuildDigest returns a store.DigestBuilder that writes signed digest
// documents for schemaVersion.
func BuildDigest(schemaVersion string, signer DigestSigner) store.DigestBuilder {
	return func(in store.DigestInput) ([]byte, error) {
		d := Digest{
			Version: DigestVersion, SchemaVersion: schemaVersion,
			Hour: stamp(in.Hour), Part: in.Part, CreatedAt: in.CreatedAt.UTC().Format(time.RFC3339Nano),
			Files: make([]DigestFile, len(in.Files)),
		}
		if p := in.Previous; p != nil {
			d.Previous = &DigestRef{Hour: stamp(p.Hour), Part: p.Part, SHA256: hex.EncodeToString(p.SHA256)}
		}
		for i, f := range in.Files {
			d.Files[i] = DigestFile{
				Path: strings.TrimPrefix(Path(schemaVersion, f.Minute, f.Part), PathPrefix), Minute: stamp(f.Minute),
				Part: f.Part, SHA256: hex.EncodeToString(f.SHA256), RecordCount: f.RecordCount, Bytes: f.ByteSize,
			}
		}
		payload, err := json.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("logfile: digest: %w", err)
		}
		kid, sig := signer.Sign(payload)
		// Compact, so the digest member keeps the exact bytes signed.
		doc, err := json.Marshal(SignedDigest{Digest: payload, KeyID: kid, Algorithm: "Ed25519",
			Signature: base64.StdEncoding.EncodeToString(sig)})
		if err != nil {
			return nil, fmt.Errorf("logfile: digest: %w", err)
		}
		return append(doc, '\n'), nil
	}
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// DigestName is the file name of part of the digest of hour, for example
// 20230612T16Z-digest-1.json.
func DigestName(hour time.Time, part int) string {
	return fmt.Sprintf("%s-digest-%d.json", hour.UTC().Format("20060102T15Z"), part)
}

// DigestPath is the path of a digest below the public URL.
func DigestPath(schemaVersion string, hour time.Time, part int) string {
	return PathPrefix + schemaVersion + "/" + hour.UTC().Format("2006/01/02/15") + "/" + DigestName(hour, part)
}

// ParseDigestPath reads a path made by DigestPath.
func ParseDigestPath(p string) (schemaVersion string, hour time.Time, part int, ok bool) {
	rest, found := strings.CutPrefix(p, PathPrefix)
	if !found {
		return "", time.Time{}, 0, false
	}
	v, rest, found := strings.Cut(rest, "/")
	i := strings.LastIndexByte(rest, '/')
	if !found || v == "" || i < 0 {
		return "", time.Time{}, 0, false
	}
	stem, found := strings.CutSuffix(rest[i+1:], ".json")
	if !found {
		return "", time.Time{}, 0, false
	}
	hs, ps, found := strings.Cut(stem, "-digest-")
	if !found {
		return "", time.Time{}, 0, false
	}
	h, err := time.Parse("20060102T15Z", hs)
	n, err2 := strconv.Atoi(ps)
	if err != nil || err2 != nil || n < 1 || DigestPath(v, h, n) != p {
		return "", time.Time{}, 0, false
	}
	return v, h, n, true
}

// ErrDigestSignature is returned by OpenDigest when the signature does not
// hold under the named key, or the key is unknown.
var ErrDigestSignature = errors.New("the digest's signature does not verify")

// OpenDigest checks a digest document's signature with keys (key id to
// public key) and returns its content.
func OpenDigest(doc []byte, keys map[string]ed25519.PublicKey) (Digest, error) {
	var sd SignedDigest
	if err := json.Unmarshal(doc, &sd); err != nil || len(sd.Digest) == 0 {
		return Digest{}, errors.New("not a digest document")
	}
	key, ok := keys[sd.KeyID]
	if !ok {
		return Digest{}, fmt.Errorf("%w: key %q is not one of the service's keys", ErrDigestSignature, sd.KeyID)
	}
	sig, err := base64.StdEncoding.DecodeString(sd.Signature)
	if err != nil || sd.Algorithm != "Ed25519" || !ed25519.Verify(key, sd.Digest, sig) {
		return Digest{}, ErrDigestSignature
	}
	var d Digest
	if err := json.Unmarshal(sd.Digest, &d); err != nil {
		return Digest{}, errors.New("the digest's content is not valid")
	}
	return d, nil
}

// SHA256Hex is the hex SHA-256 of b, as digests write it.
func SHA256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
