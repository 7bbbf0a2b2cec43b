// Package export is the compliance side of the service: it downloads and
// checks every log file and digest of a range of hours into a folder, and
// verifies such a folder offline, so that an auditor can prove that nothing
// was changed, dropped or added after the service signed it.
package export

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/auditgraph/auditgraph/logfile"
)

// ManifestName and KeysName are the export's own files, beside the
// schema-version folders.
const (
	ManifestName = "export.json"
	KeysName     = "keys.json"
)

// Manifest says what an export holds: the hours whose files and digests
// were all downloaded and checked.
type Manifest struct {
	Service       string   `json:"service"`
	SchemaVersion string   `json:"schemaVersion"`
	Hours         []string `json:"hours"`
}

// Problem is one thing wrong with an export, at Path (relative to it).
type Problem struct {
	Path    string
	Message string
}

func (p Problem) String() string { return p.Path + ": " + p.Message }

// JWKS is the key set served at /.well-known/jwks.json.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// JWK is one Ed25519 public key (RFC 8037).
type JWK struct {
	KTY string `json:"kty"`
	CRV string `json:"crv"`
	X   string `json:"x"`
	KID string `json:"kid"`
	ALG string `json:"alg,omitempty"`
	Use string `json:"use,omitempty"`
}

// PublicKeys returns the set's Ed25519 keys by id.
func (s JWKS) PublicKeys() map[string]ed25519.PublicKey {
	keys := map[string]ed25519.PublicKey{}
	for _, k := range s.Keys {
		x, err := base64.RawURLEncoding.DecodeString(k.X)
		if k.KTY == "OKP" && k.CRV == "Ed25519" && err == nil && len(x) == ed25519.PublicKeySize {
			keys[k.KID] = ed25519.PublicKey(x)
		}
	}
	return keys
}

// Verify checks an export offline: every digest's signature (with the keys
// in keysFile, or the export's keys.json when keysFile is ""), every
// digest's link to the one before it, that no hour of the manifest lacks a
// digest, and that the files are exactly the ones the digests list, with
// their SHA-256. It returns every problem found.
func Verify(dir, keysFile string) []Problem {
	var problems []Problem
	bad := func(path, format string, args ...any) {
		problems = append(problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	var m Manifest
	if err := readJSON(filepath.Join(dir, ManifestName), &m); err != nil {
		bad(ManifestName, "cannot be read (%v): is %s an export folder?", err, dir)
		return problems
	}
	if keysFile == "" {
		keysFile = filepath.Join(dir, KeysName)
	}
	var set JWKS
	if err := readJSON(keysFile, &set); err != nil {
		bad(keysFile, "cannot be read: %v", err)
		return problems
	}
	keys := set.PublicKeys()
	if m.SchemaVersion == "" || strings.ContainsAny(m.SchemaVersion, `/\`) {
		bad(ManifestName, "names no valid schemaVersion")
		return problems
	}

	type hourDigests struct {
		parts   map[int]logfile.Digest
		sums    map[int]string
		created map[int]time.Time
	}
	inManifest := map[time.Time]bool{}
	var hours []time.Time
	for _, s := range m.Hours {
		h, err := time.Parse(time.RFC3339, s)
		if err != nil || !h.Equal(h.Truncate(time.Hour)) {
			bad(ManifestName, "hour %q is not a whole hour in RFC 3339", s)
			continue
		}
		h = h.UTC()
		if !inManifest[h] {
			inManifest[h] = true
			hours = append(hours, h)
		}
	}
	sort.Slice(hours, func(i, j int) bool { return hours[i].Before(hours[j]) })
	for i := 1; i < len(hours); i++ {
		for h := hours[i-1].Add(time.Hour); h.Before(hours[i]); h = h.Add(time.Hour) {
			bad(ManifestName, "hour %s is missing inside the exported range %s to %s", stamp(h), stamp(hours[0]), stamp(hours[len(hours)-1].Add(time.Hour)))
		}
	}

	expected := map[string]logfile.DigestFile{} // relative path → what a digest says of it
	all := map[time.Time]*hourDigests{}
	for _, h := range hours {
		hd := &hourDigests{parts: map[int]logfile.Digest{}, sums: map[int]string{}, created: map[int]time.Time{}}
		all[h] = hd
		folder := filepath.Join(m.SchemaVersion, h.Format("2006/01/02/15"))
		names, _ := filepath.Glob(filepath.Join(dir, folder, h.Format("20060102T15Z")+"-digest-*.json"))
		if len(names) == 0 {
			bad(filepath.Join(folder, logfile.DigestName(h, 1)), "missing: hour %s has no digest", stamp(h))
			continue
		}
		for part := 1; part <= len(names); part++ {
			rel := filepath.Join(folder, logfile.DigestName(h, part))
			doc, err := os.ReadFile(filepath.Join(dir, rel))
			if err != nil {
				bad(rel, "missing: the hour has %d digest files, so parts 1 to %d must all be there", len(names), len(names))
				continue
			}
			d, err := logfile.OpenDigest(doc, keys)
			if err != nil {
				bad(rel, "%v", err)
				continue
			}
			if d.Hour != stamp(h) || d.Part != part || d.SchemaVersion != m.SchemaVersion {
				bad(rel, "says it is part %d of hour %s, schema %s", d.Part, d.Hour, d.SchemaVersion)
				continue
			}
			hd.parts[part] = d
			hd.sums[part] = logfile.SHA256Hex(doc)
			hd.created[part], _ = time.Parse(time.RFC3339Nano, d.CreatedAt)
			for _, f := range d.Files {
				if _, dup := expected[f.Path]; dup || !strings.HasPrefix(f.Path, m.SchemaVersion+"/"+h.Format("2006/01/02/15")+"/") {
					bad(rel, "lists %s twice or outside its hour", f.Path)
					continue
				}
				expected[f.Path] = f
			}
		}
	}

	// Links: each part to the part before it; part 1 to a digest of the
	// hour before, when that hour is in the export.
	for _, h := range hours {
		hd := all[h]
		for part, d := range hd.parts {
			rel := filepath.Join(m.SchemaVersion, h.Format("2006/01/02/15"), logfile.DigestName(h, part))
			if part > 1 {
				if d.Previous == nil || d.Previous.Hour != stamp(h) || d.Previous.Part != part-1 ||
					(hd.sums[part-1] != "" && d.Previous.SHA256 != hd.sums[part-1]) {
					bad(rel, "does not link to part %d of its hour", part-1)
				}
				continue
			}
			prev, ok := all[h.Add(-time.Hour)]
			if !ok || len(prev.parts) == 0 {
				continue // the link leaves the export, or the hour before is reported missing
			}
			switch {
			case d.Previous != nil:
				if d.Previous.Hour != stamp(h.Add(-time.Hour)) || prev.sums[d.Previous.Part] != d.Previous.SHA256 {
					bad(rel, "links to a digest of the previous hour that is not the one in the export (hour %s part %d)", d.Previous.Hour, d.Previous.Part)
				}
			case prev.created[1].After(hd.created[1]):
				// The hour before got its digest after this one: nothing to link to then.
			default:
				bad(rel, "does not link to the digest of the previous hour %s, which existed when it was made", stamp(h.Add(-time.Hour)))
			}
		}
	}

	// Files: exactly the listed ones, with their SHA-256 and size.
	for rel, f := range expected {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			bad(rel, "missing: listed in a digest of its hour")
		case err != nil:
			bad(rel, "cannot be read: %v", err)
		case logfile.SHA256Hex(b) != f.SHA256 || int64(len(b)) != f.Bytes:
			bad(rel, "modified: its SHA-256 is not the one its digest lists")
		}
	}
	root := filepath.Join(dir, m.SchemaVersion)
	filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if strings.HasSuffix(rel, ".json") && strings.Contains(rel, "-digest-") {
			return nil // checked above, or outside the manifest's hours
		}
		if strings.HasSuffix(rel, ".partial") {
			bad(rel, "an unfinished download: run export again")
			return nil
		}
		if _, ok := expected[rel]; !ok {
			bad(rel, "extra: no digest of its hour lists it")
		}
		return nil
	})
	sort.Slice(problems, func(i, j int) bool { return problems[i].Path < problems[j].Path })
	return problems
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
