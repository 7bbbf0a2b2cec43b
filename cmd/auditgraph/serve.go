package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/auditgraph/auditgraph/auth"
	"github.com/auditgraph/auditgraph/logfile"
	"github.com/auditgraph/auditgraph/migrations"
	"github.com/auditgraph/auditgraph/record"
	"github.com/auditgraph/auditgraph/selfaudit"
	"github.com/auditgraph/auditgraph/server"
	"github.com/auditgraph/auditgraph/store"
	"github.com/auditgraph/auditgraph/subscription"
)

// serveOptions are the settings of serve and dev.
type serveOptions struct {
	databaseURL string
	listen      string
	publicURL   string
	maxIngest   string
	fileGrace   string
	writerEvery string
	retention   string
	tlsCert     string
	tlsKey      string
	acctLimit   string
	addrLimit   string
	loginDelay  string
	addrDelay   string
	loginWindow string
	maxActions  string
	hookTimeout string
	hookRetry   string
	hookPause   string
	pprof       string
	maxConns    string
}

func (o *serveOptions) declare(f *flags) {
	f.env(&o.databaseURL, "database-url", "DATABASE_URL", "", "PostgreSQL connection string")
	f.env(&o.listen, "listen", "AUDITGRAPH_LISTEN", "127.0.0.1:8080", "address to listen on")
	f.env(&o.publicURL, "public-url", "AUDITGRAPH_PUBLIC_URL", "", "base of the absolute URLs the service hands out, and the token issuer; servers sharing a database behind one address share it (default http:// + the listen address)")
	f.env(&o.fileGrace, "file-grace", "AUDITGRAPH_FILE_GRACE", logfile.DefaultGrace.String(), "how long after a minute (an hour) ends the background writer waits before writing its file (digest); a query over an ended minute writes it at once")
	f.env(&o.writerEvery, "writer-interval", "AUDITGRAPH_WRITER_INTERVAL", "5s", "how often the background writer looks for ended minutes and hours")
	f.env(&o.retention, "retention", "AUDITGRAPH_RETENTION", "", "remove whole hours older than this, such as 8760h; empty keeps everything (the only way records leave the append-only store)")
	f.env(&o.tlsCert, "tls-cert", "AUDITGRAPH_TLS_CERT", "", "PEM certificate (chain) file: serve HTTPS (with --tls-key)")
	f.env(&o.tlsKey, "tls-key", "AUDITGRAPH_TLS_KEY", "", "PEM private key file of the certificate")
	f.env(&o.acctLimit, "login-account-threshold", "AUDITGRAPH_LOGIN_ACCOUNT_THRESHOLD", "5", "failed logins for one account (in the window) before it is slowed down")
	f.env(&o.addrLimit, "login-address-threshold", "AUDITGRAPH_LOGIN_ADDRESS_THRESHOLD", "20", "failed logins from one client address (any accounts) before it is slowed down")
	f.env(&o.loginDelay, "login-delay", "AUDITGRAPH_LOGIN_DELAY", "1s", "an account's first delay past its threshold; doubled with each further failure, up to 15m")
	f.env(&o.addrDelay, "address-delay", "AUDITGRAPH_ADDRESS_DELAY", "10s", "an address's first delay past its threshold; doubled with each further failure, up to 1h")
	f.env(&o.loginWindow, "login-window", "AUDITGRAPH_LOGIN_WINDOW", "15m", "how long failed logins are remembered")
	f.env(&o.maxActions, "max-subscriber-actions", "AUDITGRAPH_MAX_SUBSCRIBER_ACTIONS", "500", "subscribers to more actions are refused (above 50 they are warned)")
	f.env(&o.hookTimeout, "webhook-timeout", "AUDITGRAPH_WEBHOOK_TIMEOUT", "10s", "how long a subscriber may take to answer a delivery")
	f.env(&o.hookRetry, "webhook-retry", "AUDITGRAPH_WEBHOOK_RETRY", "1s", "the first wait after a failed delivery; doubled each time (with jitter), up to 5m")
	f.env(&o.hookPause, "webhook-pause-after", "AUDITGRAPH_WEBHOOK_PAUSE_AFTER", "24h", "a subscriber failing this long is paused until resumed")
	f.env(&o.pprof, "pprof", "AUDITGRAPH_PPROF", "", "an address (such as 127.0.0.1:6060) to serve Go's pprof profiles on, for diagnosis; off when empty")
	f.env(&o.maxConns, "db-max-conns", "AUDITGRAPH_DB_MAX_CONNS", strconv.Itoa(defaultMaxConns()), "PostgreSQL connections the server may hold: requests, the background writer, up to 8 subscriber deliveries and the live tail share them")
	f.env(&o.maxIngest, "max-ingest-bytes", "AUDITGRAPH_MAX_INGEST_BYTES", strconv.Itoa(server.DefaultMaxIngestBytes), "largest body of POST /api/1.0/audit-events")
}

func cmdServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var o serveOptions
	f := newFlags("serve", "auditgraph serve [flags]",
		"Serves the API. Applies pending migrations first. Stops on Ctrl-C or SIGTERM, finishing requests under way.",
		getenv, stdout, stderr)
	o.declare(f)
	if _, err := f.parse(args); err != nil {
		return helpOrUsage(err)
	}
	if o.databaseURL == "" {
		return errors.New("serve: DATABASE_URL is not set: set it (or --database-url) to a PostgreSQL connection string, or use `make run` for a private database")
	}
	return serve(ctx, o, stdout, stderr, nil)
}

// serve runs the server until ctx ends. ready, when not nil, is called
// with the base URL once the server listens.
func serve(ctx context.Context, o serveOptions, stdout, stderr io.Writer, ready func(ctx context.Context, st *store.Store, baseURL string) error) error {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	maxIngest, err := strconv.ParseInt(o.maxIngest, 10, 64)
	if err != nil || maxIngest <= 0 {
		return fmt.Errorf("serve: AUDITGRAPH_MAX_INGEST_BYTES is %q; give a positive number of bytes", o.maxIngest)
	}
	grace, err := time.ParseDuration(o.fileGrace)
	if err != nil || grace < 0 {
		return fmt.Errorf("serve: AUDITGRAPH_FILE_GRACE is %q; give a duration such as 60s", o.fileGrace)
	}
	every, err := time.ParseDuration(o.writerEvery)
	if err != nil || every <= 0 {
		return fmt.Errorf("serve: AUDITGRAPH_WRITER_INTERVAL is %q; give a positive duration such as 5s", o.writerEvery)
	}
	acct, addr, err := o.throttles()
	if err != nil {
		return err
	}
	hooks, maxActions, err := o.webhooks()
	if err != nil {
		return err
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return errors.New("serve: set both AUDITGRAPH_TLS_CERT and AUDITGRAPH_TLS_KEY for HTTPS, or neither")
	}
	var retention time.Duration
	if o.retention != "" {
		if retention, err = time.ParseDuration(o.retention); err != nil || retention < 2*time.Hour {
			return fmt.Errorf("serve: AUDITGRAPH_RETENTION is %q; give a duration of at least 2h, such as 8760h, or leave it empty to keep everything", o.retention)
		}
	}
	maxConns, err := strconv.Atoi(o.maxConns)
	if err != nil || maxConns < 2 || maxConns > 1000 {
		return fmt.Errorf("serve: AUDITGRAPH_DB_MAX_CONNS is %q; give a whole number from 2 to 1000", o.maxConns)
	}
	pool, err := store.Open(ctx, o.databaseURL, int32(maxConns))
	if err != nil {
		return err
	}
	defer pool.Close()
	st := store.New(pool)
	applied, err := st.Migrate(ctx, migrations.FS)
	if err != nil {
		return err
	}
	for _, name := range applied {
		log.Info("applied migration", "name", name)
	}

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("serve: listen on %s: %w (set AUDITGRAPH_LISTEN or --listen to a free address)", o.listen, err)
	}
	defer ln.Close()
	base := "http://" + ln.Addr().String()
	if o.tlsCert != "" {
		base = "https://" + ln.Addr().String()
	}
	publicURL := strings.TrimRight(o.publicURL, "/")
	if publicURL == "" {
		publicURL = base
	}
	tokens, err := auth.NewTokens(ctx, st, publicURL, publicURL+"/api")
	if err != nil {
		return err
	}
	secrets, err := st.URLSecrets(ctx, newURLSecret)
	if err != nil {
		return err
	}
	tail := subscription.NewTail(st, log)
	deliverer := subscription.NewDeliverer(st, hooks, fmt.Sprintf("%s/%d", ln.Addr(), os.Getpid()), log)
	logs := logfile.NewService(st, logfile.NewSigner(secrets), tokens, record.SchemaVersion, publicURL)
	audit := selfaudit.New(st)
	defer audit.Wait() // the records of the last downloads, before the pool closes
	handler := server.New(server.Config{PublicURL: publicURL, MaxIngestBytes: maxIngest, AccountThrottle: acct, AddressThrottle: addr,
		MaxSubscriberActions: maxActions, Tail: tail, Audit: audit}, st, tokens, auth.NewHasher(auth.DefaultArgon2, 0), logs, log)

	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      10 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if o.pprof != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		go func() { log.Warn("pprof", "err", http.ListenAndServe(o.pprof, mux)) }()
	}
	errc := make(chan error, 1)
	go func() {
		if o.tlsCert != "" {
			errc <- srv.ServeTLS(ln, o.tlsCert, o.tlsKey)
			return
		}
		errc <- srv.Serve(ln)
	}()
	bgCtx, stopBackground := context.WithCancel(ctx)
	bgDone := make(chan struct{})
	var bg sync.WaitGroup
	for _, loop := range []func(){
		func() { logs.Run(bgCtx, grace, every, retention, log) },
		func() { deliverer.Run(bgCtx, 200*time.Millisecond) },
		func() { tail.Run(bgCtx, 250*time.Millisecond) },
	} {
		bg.Add(1)
		go func() { defer bg.Done(); loop() }()
	}
	go func() { bg.Wait(); close(bgDone) }()
	defer func() { stopBackground(); <-bgDone }()
	log.Info("serving", "url", base, "public_url", publicURL)
	fmt.Fprintf(stdout, "auditgraph: serving on %s\n", base)
	if ready != nil {
		if err := ready(ctx, st, base); err != nil {
			srv.Close()
			return err
		}
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	return nil
}

// throttles reads the login throttle settings.
func (o *serveOptions) throttles() (account, address store.Throttle, err error) {
	window, err1 := time.ParseDuration(o.loginWindow)
	delay, err2 := time.ParseDuration(o.loginDelay)
	addrDelay, err3 := time.ParseDuration(o.addrDelay)
	acct, err4 := strconv.Atoi(o.acctLimit)
	addr, err5 := strconv.Atoi(o.addrLimit)
	if errors.Join(err1, err2, err3, err4, err5) != nil || window <= 0 || delay <= 0 || addrDelay <= 0 || acct < 1 || addr < 1 {
		return account, address, errors.New("serve: the login throttle settings must be positive: AUDITGRAPH_LOGIN_ACCOUNT_THRESHOLD and AUDITGRAPH_LOGIN_ADDRESS_THRESHOLD whole numbers, AUDITGRAPH_LOGIN_DELAY, AUDITGRAPH_ADDRESS_DELAY and AUDITGRAPH_LOGIN_WINDOW durations such as 1s")
	}
	account = store.Throttle{Threshold: acct, Window: window, Delay: delay, MaxDelay: max(delay, 15*time.Minute)}
	address = store.Throttle{Threshold: addr, Window: window, Delay: addrDelay, MaxDelay: max(addrDelay, time.Hour)}
	return account, address, nil
}

// webhooks reads the delivery settings.
func (o *serveOptions) webhooks() (subscription.Options, int, error) {
	timeout, err1 := time.ParseDuration(o.hookTimeout)
	retry, err2 := time.ParseDuration(o.hookRetry)
	pause, err3 := time.ParseDuration(o.hookPause)
	maxActions, err4 := strconv.Atoi(o.maxActions)
	if errors.Join(err1, err2, err3, err4) != nil || timeout <= 0 || retry <= 0 || pause <= 0 || maxActions < 1 {
		return subscription.Options{}, 0, errors.New("serve: AUDITGRAPH_WEBHOOK_TIMEOUT, AUDITGRAPH_WEBHOOK_RETRY and AUDITGRAPH_WEBHOOK_PAUSE_AFTER must be positive durations such as 10s, and AUDITGRAPH_MAX_SUBSCRIBER_ACTIONS a positive whole number")
	}
	return subscription.Options{Timeout: timeout, RetryBase: retry, PauseAfter: pause}, maxActions, nil
}

// defaultMaxConns is four connections a CPU, and at least 8: most of a
// request's time is spent waiting on PostgreSQL, and the background loops
// hold connections too.
func defaultMaxConns() int {
	return max(8, 4*runtime.NumCPU())
}

func newURLSecret() ([]byte, error) {
	b := make([]byte, 32)
	_, err := rand.Read(b)
	return b, err
}

func cmdMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var databaseURL string
	f := newFlags("migrate", "auditgraph migrate [flags]",
		"Applies the migrations the database does not have yet. Running it again is harmless.", getenv, stdout, stderr)
	f.env(&databaseURL, "database-url", "DATABASE_URL", "", "PostgreSQL connection string")
	if _, err := f.parse(args); err != nil {
		return helpOrUsage(err)
	}
	if databaseURL == "" {
		return errors.New("migrate: DATABASE_URL is not set: set it (or --database-url) to a PostgreSQL connection string")
	}
	pool, err := store.Open(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	applied, err := store.New(pool).Migrate(ctx, migrations.FS)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "migrate: the database is up to date")
	}
	for _, name := range applied {
		fmt.Fprintln(stdout, "migrate: applied", name)
	}
	return nil
}
