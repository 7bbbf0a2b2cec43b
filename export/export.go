package export

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/auditgraph/auditgraph/logfile"
)

// Options say what to export and where.
type Options struct {
	URL      string // the service's base URL
	Username string
	Password string
	From, To time.Time // whole hours, To after From
	Out      string
	// Progress receives progress: a bar redrawn in place when Terminal,
	// plain lines otherwise.
	Progress io.Writer
	Terminal bool
	Client   *http.Client
	// Retries is how often a failed request is tried again (default 5),
	// waiting RetryWait, then twice as long each time (default 500ms).
	Retries   int
	RetryWait time.Duration
	// Parallel is how many downloads run at once (default 4).
	Parallel int
}

// Summary counts what an export did.
type Summary struct {
	Hours      int
	Downloaded int // files and digests fetched this run
	Kept       int // already there and verified
	Bytes      int64
	Incomplete []string // hours that are not whole yet
}

// Run downloads every log file and digest of [From, To) into Out and checks
// each against the listing, then verifies the whole folder. A second run
// fetches only what is new. It returns an error unless everything is there
// and verified.
func Run(ctx context.Context, o Options) (Summary, error) {
	var sum Summary
	if !o.From.Equal(o.From.Truncate(time.Hour)) || !o.To.Equal(o.To.Truncate(time.Hour)) || !o.To.After(o.From) {
		return sum, errors.New("export: --from and --to must be whole hours (like 2023-06-12T16:00:00Z), --to after --from")
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 5 * time.Minute}
	}
	if o.Retries == 0 {
		o.Retries = 5
	}
	if o.RetryWait == 0 {
		o.RetryWait = 500 * time.Millisecond
	}
	if o.Parallel <= 0 {
		o.Parallel = 4
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	e := &exporter{o: o, base: strings.TrimRight(o.URL, "/")}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return sum, fmt.Errorf("export: %w", err)
	}
	if err := e.saveKeys(ctx); err != nil {
		return sum, err
	}
	var m Manifest
	_ = readJSON(filepath.Join(o.Out, ManifestName), &m)
	m.Service, m.SchemaVersion = e.base, "1.0"
	total := int(o.To.Sub(o.From) / time.Hour)
	for h := o.From; h.Before(o.To); h = h.Add(time.Hour) {
		l, err := e.list(ctx, h)
		if err != nil {
			return sum, err
		}
		if !l.Complete || len(l.Digests) == 0 {
			sum.Incomplete = append(sum.Incomplete, stamp(h))
		}
		objects := make([]object, 0, len(l.Files)+len(l.Digests))
		for _, f := range l.Files {
			objects = append(objects, object{f.Location, f.SHA256})
		}
		for _, d := range l.Digests {
			objects = append(objects, object{d.Location, d.SHA256})
		}
		if err := e.fetchAll(ctx, objects, &sum); err != nil {
			return sum, err
		}
		sum.Hours++
		if l.Complete && len(l.Digests) > 0 && !slices.Contains(m.Hours, stamp(h)) {
			m.Hours = append(m.Hours, stamp(h))
			slices.Sort(m.Hours)
		}
		e.progress(sum, total, h)
	}
	if e.o.Terminal {
		fmt.Fprintln(o.Progress)
	}
	if err := writeJSON(filepath.Join(o.Out, ManifestName), m); err != nil {
		return sum, err
	}
	if len(sum.Incomplete) > 0 {
		return sum, fmt.Errorf("export: hours not ended or not digested yet: %s; run export again once they have ended",
			strings.Join(sum.Incomplete, ", "))
	}
	if problems := Verify(o.Out, ""); len(problems) > 0 {
		lines := make([]string, len(problems))
		for i, p := range problems {
			lines[i] = p.String()
		}
		return sum, fmt.Errorf("export: the folder does not verify:\n%s", strings.Join(lines, "\n"))
	}
	return sum, nil
}

type exporter struct {
	o    Options
	base string

	mu      sync.Mutex // guards the token, shared by the download workers
	token   string
	expires time.Time
}

type object struct{ location, sha256 string }

func (e *exporter) progress(s Summary, total int, h time.Time) {
	if e.o.Terminal {
		const width = 30
		done := s.Hours * width / total
		fmt.Fprintf(e.o.Progress, "\r[%s%s] %d/%d hours, %d downloaded, %d kept, %.1f MB",
			strings.Repeat("#", done), strings.Repeat(".", width-done), s.Hours, total, s.Downloaded, s.Kept, float64(s.Bytes)/1e6)
		return
	}
	fmt.Fprintf(e.o.Progress, "export: hour %s done (%d/%d): %d downloaded, %d kept so far\n", stamp(h), s.Hours, total, s.Downloaded, s.Kept)
}

// listing is the part of listAuditLogs the exporter reads.
type listing struct {
	Complete bool `json:"complete"`
	Files    []struct {
		Location string `json:"location"`
		SHA256   string `json:"sha256"`
	} `json:"files"`
	Digests []struct {
		Location string `json:"location"`
		SHA256   string `json:"sha256"`
	} `json:"digests"`
}

const listQuery = `query Export($s: String!, $e: String!) { instrumentation { auditLogs {
  listAuditLogs(startDatetime: $s, endDatetime: $e, schemaVersion: "1.0") {
    complete files { location sha256 } digests { location sha256 } } } } }`

func (e *exporter) list(ctx context.Context, h time.Time) (listing, error) {
	body, _ := json.Marshal(map[string]any{"query": listQuery, "variables": map[string]string{"s": stamp(h), "e": stamp(h.Add(time.Hour))}})
	var resp struct {
		Data struct {
			Instrumentation struct {
				AuditLogs struct {
					ListAuditLogs listing `json:"listAuditLogs"`
				} `json:"auditLogs"`
			} `json:"instrumentation"`
		} `json:"data"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	b, err := e.do(ctx, func(tok string) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.base+"/api/graphql", bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		return req, err
	})
	if err != nil {
		return listing{}, fmt.Errorf("export: list hour %s: %w", stamp(h), err)
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		return listing{}, fmt.Errorf("export: list hour %s: the answer is not JSON", stamp(h))
	}
	if len(resp.Errors) > 0 {
		return listing{}, fmt.Errorf("export: list hour %s: %s", stamp(h), resp.Errors[0].Message)
	}
	return resp.Data.Instrumentation.AuditLogs.ListAuditLogs, nil
}

// fetchAll fetches objects, a few at a time.
func (e *exporter) fetchAll(ctx context.Context, objects []object, sum *Summary) error {
	if len(objects) == 0 {
		return nil
	}
	if _, err := e.accessToken(ctx); err != nil { // log in once, before the workers
		return fmt.Errorf("export: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan object)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for w := 0; w < min(e.o.Parallel, len(objects)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for obj := range jobs {
				fetched, n, err := e.fetch(ctx, obj)
				mu.Lock()
				switch {
				case err != nil:
					if firstErr == nil {
						firstErr = err
						cancel()
					}
				case fetched:
					sum.Downloaded++
					sum.Bytes += n
				default:
					sum.Kept++
				}
				mu.Unlock()
			}
		}()
	}
	for _, obj := range objects {
		select {
		case jobs <- obj:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	return firstErr
}

// fetch downloads obj unless the file is already there with its SHA-256.
func (e *exporter) fetch(ctx context.Context, obj object) (bool, int64, error) {
	u, err := url.Parse(obj.location)
	if err != nil {
		return false, 0, fmt.Errorf("export: bad location %q", obj.location)
	}
	path, _ := logfile.Split(u.Path)
	rel, ok := strings.CutPrefix(path, logfile.PathPrefix)
	if !ok || strings.Contains(rel, "..") {
		return false, 0, fmt.Errorf("export: location %q is not under %s", obj.location, logfile.PathPrefix)
	}
	dst := filepath.Join(e.o.Out, filepath.FromSlash(rel))
	if b, err := os.ReadFile(dst); err == nil && logfile.SHA256Hex(b) == obj.sha256 {
		return false, 0, nil
	}
	b, err := e.do(ctx, func(string) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, obj.location, nil)
	})
	if err != nil {
		return false, 0, fmt.Errorf("export: download %s: %w", rel, err)
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != obj.sha256 {
		return false, 0, fmt.Errorf("export: %s: its SHA-256 is not the one the listing gives; the download was discarded", rel)
	}
	if err := writeFile(dst, b); err != nil {
		return false, 0, err
	}
	return true, int64(len(b)), nil
}

func (e *exporter) saveKeys(ctx context.Context) error {
	b, err := e.do(ctx, func(string) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, e.base+"/.well-known/jwks.json", nil)
	})
	if err != nil {
		return fmt.Errorf("export: keys: %w", err)
	}
	var fresh, kept JWKS
	if err := json.Unmarshal(b, &fresh); err != nil {
		return errors.New("export: keys: the answer is not a JWK set")
	}
	_ = readJSON(filepath.Join(e.o.Out, KeysName), &kept)
	for _, k := range fresh.Keys { // old keys stay: older digests need them
		if !slices.ContainsFunc(kept.Keys, func(o JWK) bool { return o.KID == k.KID }) {
			kept.Keys = append(kept.Keys, k)
		}
	}
	return writeJSON(filepath.Join(e.o.Out, KeysName), kept)
}

// errPermanent marks an answer that trying again will not change.
type errPermanent struct{ msg string }

func (e *errPermanent) Error() string { return e.msg }

// do sends the request that mk makes (with a fresh token when needed),
// trying again with backoff on network errors, 429 and 5xx.
func (e *exporter) do(ctx context.Context, mk func(token string) (*http.Request, error)) ([]byte, error) {
	wait := e.o.RetryWait
	var last error
	for attempt := 0; attempt <= e.o.Retries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(wait):
			}
			wait *= 2
		}
		tok, err := e.accessToken(ctx)
		if err != nil {
			var perm *errPermanent
			if errors.As(err, &perm) {
				return nil, err
			}
			last = err
			continue
		}
		req, err := mk(tok)
		if err != nil {
			return nil, err
		}
		resp, err := e.o.Client.Do(req)
		if err != nil {
			last = err
			continue
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case err != nil:
			last = err
		case resp.StatusCode == http.StatusOK:
			return b, nil
		case resp.StatusCode == http.StatusUnauthorized:
			e.mu.Lock()
			e.token = "" // expired or revoked: log in again
			e.mu.Unlock()
			last = fmt.Errorf("%s", resp.Status)
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			last = fmt.Errorf("%s", resp.Status)
		default:
			return nil, fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(b))
		}
	}
	return nil, fmt.Errorf("gave up after %d tries: %w", e.o.Retries+1, last)
}

// accessToken logs in with the password grant, again a few minutes before
// the token expires.
func (e *exporter) accessToken(ctx context.Context) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.token != "" && time.Until(e.expires) > 2*time.Minute {
		return e.token, nil
	}
	form := url.Values{"grant_type": {"password"}, "username": {e.o.Username}, "password": {e.o.Password}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.base+"/api/1.0/oauth2/access_token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", &errPermanent{fmt.Sprintf("bad --url %q", e.base)}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := e.o.Client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var t struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil {
		return "", fmt.Errorf("log in: %s", resp.Status)
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		return "", fmt.Errorf("log in: %s", resp.Status)
	}
	if resp.StatusCode != http.StatusOK || t.AccessToken == "" {
		return "", &errPermanent{fmt.Sprintf("log in as %s: %s: %s", e.o.Username, t.Error, t.Description)}
	}
	e.token, e.expires = t.AccessToken, time.Now().Add(time.Duration(t.ExpiresIn)*time.Second)
	return e.token, nil
}

// writeFile writes b to path through a temporary file and a rename, so that
// an interrupted run never leaves a half file under the real name.
func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	tmp := path + ".partial"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(path, append(b, '\n'))
}
