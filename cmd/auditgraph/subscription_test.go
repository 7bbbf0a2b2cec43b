package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/auditgraph/auditgraph/subscription"
	"github.com/coder/websocket"
)

const hookSecret = "a-secret-of-some-length"

// receiver is a real HTTP endpoint that checks signatures and remembers
// what it got, in order.
type receiver struct {
	t        testing.TB
	srv      *httptest.Server
	mu       sync.Mutex
	got      []subscription.Payload
	inFlight map[string]int // per subscriber
	maxIn    int
	down     bool
	delay    time.Duration
	badSigs  int
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{t: t, inFlight: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if err := subscription.Verify(hookSecret, req.Header.Get(subscription.HeaderSignature), req.Header.Get(subscription.HeaderTimestamp), body, time.Now(), 5*time.Minute); err != nil {
		r.mu.Lock()
		r.badSigs++
		r.mu.Unlock()
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var p subscription.Payload
	json.Unmarshal(body, &p)
	r.mu.Lock()
	if r.down {
		r.mu.Unlock()
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	r.inFlight[p.Subscriber]++
	r.maxIn = max(r.maxIn, r.inFlight[p.Subscriber])
	delay := r.delay
	r.mu.Unlock()
	time.Sleep(delay)
	r.mu.Lock()
	r.inFlight[p.Subscriber]--
	r.got = append(r.got, p)
	r.mu.Unlock()
}

func (r *receiver) setDown(down bool) {
	r.mu.Lock()
	r.down = down
	r.mu.Unlock()
}

// distinct returns, for subscriber, the first delivery of each record in
// the order they came, and how many deliveries came in all.
func (r *receiver) distinct(subscriber string) (actions []string, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	for _, p := range r.got {
		if p.Subscriber != subscriber {
			continue
		}
		total++
		var rec struct{ Custom int }
		json.Unmarshal(p.Record, &rec)
		key := p.Action + fmt.Sprint(rec.Custom)
		if !seen[key] {
			seen[key] = true
			actions = append(actions, key)
		}
	}
	return actions, total
}

// mixed makes n records cycling through actions, numbered in "custom".
func mixed(n int, actions ...string) (lines []string, want map[string][]string) {
	want = map[string][]string{}
	for i := 0; i < n; i++ {
		a := actions[i%len(actions)]
		ts := time.Date(2023, 6, 12, 16, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
		lines = append(lines, rec(ts.Format(time.RFC3339), a, fmt.Sprint(i)))
		want[a] = append(want[a], a+fmt.Sprint(i))
	}
	return lines, want
}

func ingestAll(t testing.TB, base, tok string, lines []string, batch int) {
	t.Helper()
	for i := 0; i < len(lines); i += batch {
		end := min(i+batch, len(lines))
		if status, body := post(t, base+"/api/1.0/audit-events", tok, "application/x-ndjson", strings.Join(lines[i:end], "\n")); status != 200 {
			t.Fatalf("ingest: %d %s", status, body)
		}
	}
}

func gqlOK(t testing.TB, base, tok, query string, vars map[string]any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	status, body := post(t, base+"/api/graphql", tok, "application/json", string(b))
	var resp struct {
		Data   map[string]any
		Errors []any
	}
	json.Unmarshal(body, &resp)
	if status != 200 || len(resp.Errors) > 0 {
		t.Fatalf("graphql %s: %d %s", query, status, body)
	}
	return resp.Data
}

// TestWebhookDelivery: 1,000 records of mixed actions deliver exactly the
// subscribed ones to a real receiver, each at least once and in order,
// signed; the subscriber's state is visible in GraphQL.
func TestWebhookDelivery(t *testing.T) {
	env := newEnv(t)
	addUser(t, env, "root", "admin", "root-password")
	srv := startServer(t, env)
	tok := token(t, srv.URL, "root", "root-password")
	rcv := newReceiver(t)
	data := gqlOK(t, srv.URL, tok, `mutation($u: String!) { addSubscriber(input: {name: "funds", url: $u, actions: ["AuthorizeFundsTransfer", "SetAccountNickname"], secret: "`+hookSecret+`"}) { newActions oldActions warnings subscriber { name } } }`, map[string]any{"u": rcv.srv.URL})
	if !strings.Contains(fmt.Sprint(data), "AuthorizeFundsTransfer SetAccountNickname") {
		t.Errorf("addSubscriber: %v", data)
	}
	if out, err := cli(t, env, hookSecret, "subscriber", "add", "logins", "--url", rcv.srv.URL, "--actions", "Login", "--secret-stdin"); err != nil {
		t.Fatalf("subscriber add: %v %s", err, out)
	}
	lines, want := mixed(1000, "AuthorizeFundsTransfer", "Login", "SetAccountNickname", "AddFundsTransfer")
	ingestAll(t, srv.URL, tok, lines, 100)

	wantFunds := interleave(want["AuthorizeFundsTransfer"], want["SetAccountNickname"])
	waitFor(t, 60*time.Second, "every subscribed record", func() bool {
		f, _ := rcv.distinct("funds")
		l, _ := rcv.distinct("logins")
		return len(f) >= len(wantFunds) && len(l) >= len(want["Login"])
	})
	funds, _ := rcv.distinct("funds")
	logins, _ := rcv.distinct("logins")
	if strings.Join(funds, ",") != strings.Join(wantFunds, ",") {
		t.Errorf("funds got %d records, want %d in order: first differences: %v", len(funds), len(wantFunds), firstDiff(funds, wantFunds))
	}
	if strings.Join(logins, ",") != strings.Join(want["Login"], ",") {
		t.Errorf("logins got %d, want %d in order", len(logins), len(want["Login"]))
	}
	if rcv.badSigs > 0 {
		t.Errorf("%d deliveries with bad signatures", rcv.badSigs)
	}
	waitFor(t, 10*time.Second, "an empty backlog", func() bool {
		d := gqlOK(t, srv.URL, tok, `{ instrumentation { auditLogs { subscribers { name backlog deliveredCount paused lastError } } } }`, nil)
		return strings.Contains(fmt.Sprint(d), "backlog:0 deliveredCount:500")
	})

	out, err := cli(t, env, "", "subscriber", "update", "logins", "--actions", "Login,Logout")
	if err != nil || !strings.Contains(out, "old actions: Login\n") || !strings.Contains(out, "new actions: Login,Logout") {
		t.Errorf("subscriber update: %v %s", err, out)
	}
	many := make([]string, 60)
	for i := range many {
		many[i] = fmt.Sprintf("A%d", i)
	}
	errOut, _ := cli(t, env, "", "subscriber", "update", "logins", "--actions", strings.Join(many, ","))
	if !strings.Contains(errOut, "warning: 60 actions") {
		t.Errorf("60 actions: want a warning, got %q", errOut)
	}
	env["AUDITGRAPH_MAX_SUBSCRIBER_ACTIONS"] = "55"
	if _, err := cli(t, env, "", "subscriber", "update", "logins", "--actions", strings.Join(many, ",")); err == nil || !strings.Contains(err.Error(), "at most 55") {
		t.Errorf("above the maximum: got %v, want a refusal", err)
	}
}

func interleave(a, b []string) []string {
	var out []string
	for i := range max(len(a), len(b)) {
		if i < len(a) {
			out = append(out, a[i])
		}
		if i < len(b) {
			out = append(out, b[i])
		}
	}
	return out
}

func firstDiff(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("at %d got %s want %s", i, got[i], want[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d", len(got), len(want))
}

// TestWebhookReceiverDown: a receiver that is down gets everything once it
// is back; one down for too long is paused, shows its error, and resumes
// from where it stopped.
func TestWebhookReceiverDown(t *testing.T) {
	env := newEnv(t)
	env["AUDITGRAPH_WEBHOOK_RETRY"] = "50ms"
	env["AUDITGRAPH_WEBHOOK_PAUSE_AFTER"] = "1s"
	addUser(t, env, "root", "admin", "root-password")
	srv := startServer(t, env)
	tok := token(t, srv.URL, "root", "root-password")
	rcv := newReceiver(t)
	rcv.setDown(true)
	cli(t, env, hookSecret, "subscriber", "add", "ops", "--url", rcv.srv.URL, "--actions", "X", "--secret-stdin")
	lines, want := mixed(100, "X", "Y")
	ingestAll(t, srv.URL, tok, lines, 50)

	stateQ := `{ instrumentation { auditLogs { subscribers { paused backlog lastError } } } }`
	waitFor(t, 20*time.Second, "the subscriber to be paused", func() bool {
		return strings.Contains(fmt.Sprint(gqlOK(t, srv.URL, tok, stateQ, nil)), "paused:true")
	})
	if s := fmt.Sprint(gqlOK(t, srv.URL, tok, stateQ, nil)); !strings.Contains(s, "backlog:50") || !strings.Contains(s, "503") {
		t.Errorf("paused state: %s, want backlog 50 and the 503 as last error", s)
	}
	rcv.setDown(false)
	time.Sleep(300 * time.Millisecond)
	if got, _ := rcv.distinct("ops"); len(got) != 0 {
		t.Errorf("a paused subscriber got %d deliveries", len(got))
	}
	if out, err := cli(t, env, "", "subscriber", "resume", "ops"); err != nil {
		t.Fatalf("resume: %v %s", err, out)
	}
	waitFor(t, 20*time.Second, "everything after the resume", func() bool {
		got, _ := rcv.distinct("ops")
		return len(got) >= len(want["X"])
	})
	if got, _ := rcv.distinct("ops"); strings.Join(got, ",") != strings.Join(want["X"], ",") {
		t.Errorf("after resume: %v", firstDiff(got, want["X"]))
	}
}

// TestWebhookCrashAndTwoServers: the server is killed (SIGKILL) in the
// middle of delivery; after a restart nothing is lost. Two servers share
// the database meanwhile, and never deliver to one subscriber at once.
func TestWebhookCrashAndTwoServers(t *testing.T) {
	env := newEnv(t)
	env["AUDITGRAPH_PUBLIC_URL"] = "http://audit.test"
	env["AUDITGRAPH_WEBHOOK_TIMEOUT"] = "1s" // leases of the killed server end 6s later
	addUser(t, env, "root", "admin", "root-password")
	rcv := newReceiver(t)
	rcv.delay = 5 * time.Millisecond
	cli(t, env, hookSecret, "subscriber", "add", "one", "--url", rcv.srv.URL, "--actions", "X", "--secret-stdin")
	cli(t, env, hookSecret, "subscriber", "add", "two", "--url", rcv.srv.URL, "--actions", "X,Y", "--secret-stdin")

	child := startChildServer(t, env)
	tok := token(t, child.url, "root", "root-password")
	lines, want := mixed(600, "X", "Y", "Z")
	ingestAll(t, child.url, tok, lines, 100)
	waitFor(t, 20*time.Second, "some deliveries", func() bool { _, n := rcv.distinct("two"); return n > 20 })
	child.kill(t)
	delivered, _ := rcv.distinct("two")
	if len(delivered) >= 400 {
		t.Fatalf("all %d delivered before the kill: the test did not kill mid-delivery", len(delivered))
	}
	t.Logf("killed the server after %d of 400 deliveries to two", len(delivered))

	a, b := startServer(t, env), startServer(t, env)
	_ = a
	_ = b
	wantTwo := interleave(want["X"], want["Y"])
	waitFor(t, 90*time.Second, "every record after the restart", func() bool {
		one, _ := rcv.distinct("one")
		two, _ := rcv.distinct("two")
		return len(one) >= len(want["X"]) && len(two) >= len(wantTwo)
	})
	one, n1 := rcv.distinct("one")
	two, n2 := rcv.distinct("two")
	if strings.Join(one, ",") != strings.Join(want["X"], ",") || strings.Join(two, ",") != strings.Join(wantTwo, ",") {
		t.Errorf("after the crash: one %s; two %s", firstDiff(one, want["X"]), firstDiff(two, wantTwo))
	}
	rcv.mu.Lock()
	maxIn := rcv.maxIn
	rcv.mu.Unlock()
	if maxIn > 1 {
		t.Errorf("%d deliveries to one subscriber were in flight at once, want 1", maxIn)
	}
	t.Logf("deliveries: one %d for %d records, two %d for %d (repeats after the kill are allowed: at least once)", n1, len(one), n2, len(two))
}

type childServer struct {
	cmd *exec.Cmd
	url string
}

// startChildServer runs `auditgraph serve` as a child process.
func startChildServer(t *testing.T, env map[string]string) *childServer {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "AUDITGRAPH_TEST_RUN_SERVE=1", "AUDITGRAPH_LISTEN=127.0.0.1:0")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &childServer{cmd: cmd}
	t.Cleanup(func() { c.kill(t) })
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "auditgraph: serving on "); ok {
			c.url = u
			break
		}
	}
	go io.Copy(io.Discard, out)
	if c.url == "" {
		t.Fatal("the child server did not start")
	}
	return c
}

func (c *childServer) kill(t *testing.T) {
	if c.cmd.ProcessState != nil {
		return
	}
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.cmd.Wait()
}

// TestCatalogSessionAndTail: the catalog counts what arrives; a session's
// records come in time order a page at a time; a WebSocket subscription
// gets the records of its actions as they are committed.
func TestCatalogSessionAndTail(t *testing.T) {
	env := newEnv(t)
	addUser(t, env, "root", "admin", "root-password")
	srv := startServer(t, env)
	tok := token(t, srv.URL, "root", "root-password")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/api/graphql", &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	send := func(v any) {
		b, _ := json.Marshal(v)
		if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
			t.Fatal(err)
		}
	}
	read := func() map[string]any {
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("websocket: %v", err)
		}
		var m map[string]any
		json.Unmarshal(b, &m)
		return m
	}
	send(map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + tok}})
	if m := read(); m["type"] != "connection_ack" {
		t.Fatalf("connection_init: %v", m)
	}
	send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": `subscription { auditEvents(actions: ["Login"]) { action object { context { sessionId } } raw } }`}})
	time.Sleep(500 * time.Millisecond) // let the subscription start before the records arrive

	var lines []string
	for i, a := range []string{"Login", "Transfer", "Login", "Logout", "Transfer"} {
		ts := time.Date(2023, 6, 12, 16, 10, 0, 0, time.UTC).Add(time.Duration(10-i) * time.Second) // sent newest first
		lines = append(lines, strings.Replace(rec(ts.Format(time.RFC3339), a, fmt.Sprint(i)), `"sessionId":"s-1"`, `"sessionId":"sess-42"`, 1))
	}
	ingestAll(t, srv.URL, tok, lines, 5)
	for i := 0; i < 2; i++ {
		m := read()
		if m["type"] != "next" || !strings.Contains(fmt.Sprint(m["payload"]), "action:Login") {
			t.Fatalf("live event %d: %v", i, m)
		}
	}

	// The catalog follows within a dispatch round.
	var s string
	waitFor(t, 5*time.Second, "the catalog to count the records", func() bool {
		d := gqlOK(t, srv.URL, tok, `{ instrumentation { auditLogs { auditActions(filter: {namePrefix: "Lo"}) { name category eventType count firstSeen lastSeen } } } }`, nil)
		s = fmt.Sprint(d)
		return strings.Contains(s, "count:2")
	})
	if !strings.Contains(s, "count:2") || !strings.Contains(s, "name:Login") || !strings.Contains(s, "name:Logout") || strings.Contains(s, "Transfer") {
		t.Errorf("auditActions with prefix Lo: %s", s)
	}
	var stamps []string
	var after any
	for page := 0; ; page++ {
		d := gqlOK(t, srv.URL, tok, `query($a: String) { instrumentation { auditLogs { auditSession(sessionId: "sess-42", first: 2, after: $a) {
			edges { cursor node { timestamp action tags object { type outcome { type } actor { identifier { value } } context { sessionId } } raw } }
			pageInfo { hasNextPage endCursor } } } } }`, map[string]any{"a": after})
		conn := d["instrumentation"].(map[string]any)["auditLogs"].(map[string]any)["auditSession"].(map[string]any)
		for _, e := range conn["edges"].([]any) {
			n := e.(map[string]any)["node"].(map[string]any)
			stamps = append(stamps, n["timestamp"].(string))
			if n["raw"].(map[string]any)["custom"] == nil {
				t.Errorf("raw lacks the unknown field: %v", n["raw"])
			}
		}
		info := conn["pageInfo"].(map[string]any)
		if info["hasNextPage"] != true {
			break
		}
		after = info["endCursor"]
		if page > 5 {
			t.Fatal("too many pages")
		}
	}
	if len(stamps) != 5 || !sortedStrings(stamps) {
		t.Errorf("session records: %v, want 5 in time order", stamps)
	}
}

func sortedStrings(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i] < s[i-1] {
			return false
		}
	}
	return true
}
