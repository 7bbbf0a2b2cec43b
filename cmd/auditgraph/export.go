package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/auditgraph/auditgraph/export"
)

func cmdExport(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	var o export.Options
	var from, to string
	var lastHour bool
	f := newFlags("export", "auditgraph export --url URL --username U (--from T --to T | --last-hour) --out DIR",
		"Downloads every log file and digest of [from, to) (whole hours, RFC 3339) into DIR/<schemaVersion>/YYYY/MM/DD/HH/,\n"+
			"checks each SHA-256 against the listing, and verifies the folder. A second run fetches only what is new.\n"+
			"The password comes from AUDITGRAPH_PASSWORD, else from the first line of standard input.\n"+
			"--last-hour exports the hour that ended last, for cron. Exits 0 only when everything is there and verified.",
		getenv, stdout, stderr)
	f.env(&o.URL, "url", "AUDITGRAPH_URL", "", "the service's base URL, like https://audit.example.com")
	f.env(&o.Username, "username", "AUDITGRAPH_USERNAME", "", "the user to log in as (role auditor or admin)")
	f.fs.StringVar(&from, "from", "", "first hour, like 2023-06-12T16:00:00Z")
	f.fs.StringVar(&to, "to", "", "end of the range (exclusive), a whole hour")
	f.fs.BoolVar(&lastHour, "last-hour", false, "export the last ended hour instead of --from/--to")
	f.fs.StringVar(&o.Out, "out", "", "the export folder")
	if _, err := f.parse(args); err != nil {
		return helpOrUsage(err)
	}
	switch {
	case o.URL == "":
		return errors.New("export: give --url, the service's base URL")
	case o.Username == "":
		return errors.New("export: give --username")
	case o.Out == "":
		return errors.New("export: give --out, the folder to export into")
	case lastHour && (from != "" || to != ""):
		return errors.New("export: give either --last-hour or --from and --to, not both")
	case lastHour:
		o.To = time.Now().UTC().Truncate(time.Hour)
		o.From = o.To.Add(-time.Hour)
	default:
		var err error
		if o.From, err = parseHour("--from", from); err != nil {
			return err
		}
		if o.To, err = parseHour("--to", to); err != nil {
			return err
		}
	}
	o.Password = getenv("AUDITGRAPH_PASSWORD")
	if o.Password == "" {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && err != io.EOF {
			return fmt.Errorf("export: read password: %w", err)
		}
		o.Password = trimPassword([]byte(line))
		if o.Password == "" {
			return errors.New("export: no password: set AUDITGRAPH_PASSWORD or send it on standard input")
		}
	}
	o.Progress, o.Terminal = stderr, isTerminal(stderr)
	sum, err := export.Run(ctx, o)
	fmt.Fprintf(stdout, "export: %d hours, %d files downloaded (%.1f MB), %d already there and verified\n",
		sum.Hours, sum.Downloaded, float64(sum.Bytes)/1e6, sum.Kept)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "export: %s verified\n", o.Out)
	return nil
}

func parseHour(flag, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil || !t.Equal(t.Truncate(time.Hour)) {
		return time.Time{}, fmt.Errorf("export: %s %q is not a whole hour in RFC 3339, like 2023-06-12T16:00:00Z", flag, s)
	}
	return t.UTC(), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func cmdVerify(_ context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var keys string
	f := newFlags("verify", "auditgraph verify [--keys FILE] DIR",
		"Checks an export offline: every file against its digest, every digest's signature and its link to the one\n"+
			"before it, no hour missing inside the range, no file missing or extra. Prints each problem on its own line,\n"+
			"naming the path, and exits 1 on any. --keys pins the public keys (a JWK set, as served at\n"+
			"/.well-known/jwks.json) instead of trusting the export's own keys.json.",
		getenv, stdout, stderr)
	f.fs.StringVar(&keys, "keys", "", "a JWK set file with the service's public keys")
	pos, err := f.parse(args)
	if err != nil {
		return helpOrUsage(err)
	}
	if len(pos) != 1 {
		return errors.New("verify: give the export folder: auditgraph verify DIR")
	}
	problems := export.Verify(pos[0], keys)
	for _, p := range problems {
		fmt.Fprintln(stdout, p)
	}
	if len(problems) > 0 {
		return fmt.Errorf("verify: %d problems in %s", len(problems), pos[0])
	}
	fmt.Fprintf(stdout, "verify: %s is intact\n", strings.TrimRight(pos[0], "/"))
	return nil
}
