package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// errUsage is returned after a usage message was printed.
var errUsage = errors.New("usage")

func exitCode(err error) int {
	if err == errUsage {
		return 2
	}
	return 1
}

const usage = `auditgraph: the audit-log service

Usage:
  auditgraph serve                  serve the API (applies pending migrations first)
  auditgraph dev                    serve for a local trial (what make run does): with no
                                    DATABASE_URL, on a private PostgreSQL cluster it starts,
                                    with a demo user and sample records
  auditgraph migrate                apply pending database migrations
  auditgraph user add NAME --role auditor|writer|admin --password-stdin
                                    create a user, reading the password from standard input
  auditgraph user list|disable NAME|enable NAME|delete NAME|passwd NAME --password-stdin
  auditgraph settings set password-grant on|off
  auditgraph keys rotate            a new signing key; old ones verify until their tokens expire
  auditgraph subscriber add NAME --url URL --actions A,B,... --secret-stdin
  auditgraph subscriber update NAME --actions ... | list | remove NAME | resume NAME
  auditgraph export --url URL --username U (--from T --to T | --last-hour) --out DIR
                                    download and check every log file and digest of whole hours
  auditgraph verify DIR             check an export offline

Run "auditgraph COMMAND --help" for the flags and environment variables of a command.
`

// run is the whole program; main only calls it, so that tests can too.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	cmd, rest := args[1], args[2:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, getenv, stdout, stderr)
	case "dev":
		return cmdDev(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return cmdMigrate(ctx, rest, getenv, stdout, stderr)
	case "user":
		return cmdUser(ctx, rest, getenv, stdin, stdout, stderr)
	case "export":
		return cmdExport(ctx, rest, getenv, stdin, stdout, stderr)
	case "verify":
		return cmdVerify(ctx, rest, getenv, stdout, stderr)
	case "settings":
		return cmdSettings(ctx, rest, getenv, stdout, stderr)
	case "keys":
		return cmdKeys(ctx, rest, getenv, stdout, stderr)
	case "subscriber":
		return cmdSubscriber(ctx, rest, getenv, stdin, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "auditgraph: unknown command %q\n\n%s", cmd, usage)
	return errUsage
}

// setting is a flag whose default comes from an environment variable.
type setting struct {
	name, env, def, usage string
	value                 *string
}

// flags is a command's flag set with environment defaults: a flag given
// wins over its variable, which wins over the built-in default.
type flags struct {
	fs       *flag.FlagSet
	settings []setting
	getenv   func(string) string
	stdout   io.Writer
}

func newFlags(name, synopsis, about string, getenv func(string) string, stdout, stderr io.Writer) *flags {
	f := &flags{fs: flag.NewFlagSet(name, flag.ContinueOnError), getenv: getenv, stdout: stdout}
	f.fs.SetOutput(stderr)
	f.fs.Usage = func() {
		out := f.fs.Output()
		fmt.Fprintf(out, "Usage: %s\n\n%s\n", synopsis, about)
		if len(f.settings) > 0 || hasFlags(f.fs) {
			fmt.Fprintf(out, "\nFlags:\n")
			f.fs.PrintDefaults()
		}
	}
	return f
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// env declares a string flag backed by an environment variable. The help
// names the variable but never prints its value, which may hold a password.
func (f *flags) env(dst *string, name, env, def, usage string) {
	u := usage + " (env " + env
	if def != "" {
		u += ", default " + def
	}
	f.fs.StringVar(dst, name, "", u+")")
	f.settings = append(f.settings, setting{name: name, env: env, def: def, usage: usage, value: dst})
}

// parse reads args, taking positional arguments from among the flags, and
// fills unset flags from the environment, then from defaults.
func (f *flags) parse(args []string) ([]string, error) {
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			f.fs.SetOutput(f.stdout) // asked for: help is the output
			f.fs.Usage()
			return nil, flag.ErrHelp
		}
		if a == "--" {
			break
		}
	}
	var positional []string
	for {
		if err := f.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, flag.ErrHelp
			}
			return nil, errUsage
		}
		if f.fs.NArg() == 0 {
			break
		}
		positional = append(positional, f.fs.Arg(0))
		args = f.fs.Args()[1:]
	}
	set := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	for _, s := range f.settings {
		if set[s.name] {
			continue
		}
		if v := f.getenv(s.env); v != "" {
			*s.value = v
		} else {
			*s.value = s.def
		}
	}
	return positional, nil
}

// helpOrUsage turns the outcome of parse into the command's result: --help
// is a success.
func helpOrUsage(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

func trimPassword(b []byte) string {
	s := string(b)
	s = strings.TrimSuffix(s, "\n")
	return strings.TrimSuffix(s, "\r")
}
