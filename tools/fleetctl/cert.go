package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/shingle-storage/shingle/fleetd/pki"
	"github.com/urfave/cli/v2"
)

// certCommand is fleetctl cert: the cluster CA and the certificates of
// fleetd servers, agents and operators, made offline in a directory.
func certCommand() *cli.Command {
	dir := &cli.StringFlag{Name: "dir", Required: true, Usage: "directory of the CA and certificates (ca.pem, ca-key.pem, NAME.pem, NAME-key.pem)"}
	return &cli.Command{
		Name:  "cert",
		Usage: "make the cluster CA and the certificates of servers, agents and operators (offline)",
		Description: `Every component of a fleet talks mutual TLS with certificates signed by the
cluster CA; a certificate's role (fleetd, agent or operator, in its subject's
OU) is what the servers authorize calls by. These commands need no fleet: run
them where the CA key is kept, and copy each certificate and key to its
holder. Keys are written readable by their owner only; keep ca-key.pem off
the servers.

   fleetctl cert ca --dir /secure/shingle-pki
   fleetctl cert issue --dir /secure/shingle-pki --role fleetd --host fleetd-1.example.net --host 10.20.0.11 fleetd-1
   fleetctl cert issue --dir /secure/shingle-pki --role agent --host 10.20.3.7 CZ20310ABC
   fleetctl cert issue --dir /secure/shingle-pki --role operator alice`,
		Subcommands: []*cli.Command{
			{
				Name:   "ca",
				Usage:  "make the cluster CA in --dir, unless it holds one",
				Flags:  []cli.Flag{dir},
				Action: certCA,
			},
			{
				Name:      "issue",
				Usage:     "issue a certificate and key for NAME (a fleetd server id, a host id, a person)",
				ArgsUsage: "NAME",
				Flags: []cli.Flag{dir,
					&cli.StringFlag{Name: "role", Required: true, Usage: "fleetd (a fleetd server), agent (a storage host) or operator (fleetctl)"},
					&cli.StringSliceFlag{Name: "host", Usage: "DNS name or IP address the holder serves on (repeatable); needed for fleetd and agent, whose certificates servers present"},
					&cli.DurationFlag{Name: "valid", Value: pki.DefaultValidity, Usage: "how long the certificate is valid"},
					&cli.BoolFlag{Name: "force", Usage: "issue a new certificate and key even if NAME has one in --dir"},
				},
				Action: certIssue,
			},
		},
	}
}

func certCA(c *cli.Context) error {
	d := pki.Dir(c.String("dir"))
	keyFile := filepath.Join(c.String("dir"), "ca-key.pem")
	_, certErr := os.Stat(d.CAFile())
	_, keyErr := os.Stat(keyFile)
	switch {
	case certErr == nil && keyErr == nil:
		if _, err := pki.LoadCA(d.CAFile(), keyFile); err != nil {
			return fmt.Errorf("the CA in %s: %w", c.String("dir"), err)
		}
		fmt.Fprintf(c.App.Writer, "the CA in %s is kept: %s\n", c.String("dir"), d.CAFile())
		return nil
	case certErr == nil || keyErr == nil:
		// Half a CA: never make a new one over it, which would orphan
		// every certificate the fleet has.
		missing := keyFile
		if certErr != nil {
			missing = d.CAFile()
		}
		return fmt.Errorf("%s holds half a CA: %s is missing; put it back (a CA key kept offline, say), or use another --dir for a new CA", c.String("dir"), missing)
	}
	if _, err := d.EnsureCA(); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "made the cluster CA: %s, and its key %s\n", d.CAFile(), keyFile)
	return nil
}

// certName is what a certificate's NAME may be: a host id, a server id, a
// person's name, and nothing the directory's own files are called.
var certName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

func certIssue(c *cli.Context) error {
	name, err := oneArg(c, "NAME")
	if err != nil {
		return err
	}
	if !certName.MatchString(name) || name == "ca" || strings.HasSuffix(name, "-key") {
		return usageErrorf("NAME %q: use letters, digits, '.', '_' and '-', not starting with a punctuation mark; \"ca\" and names ending in \"-key\" are the directory's own", name)
	}
	role := pki.Role(c.String("role"))
	switch role {
	case pki.RoleNode, pki.RoleAgent:
		if len(c.StringSlice("host")) == 0 {
			return usageErrorf("--role %s: its certificate is presented by a server; give --host with each name and address it is reached by", role)
		}
	case pki.RoleOperator:
	default:
		return usageErrorf("--role %q: use fleetd, agent or operator", role)
	}
	if c.Duration("valid") <= 0 {
		return usageErrorf("--valid %v: give a positive duration, such as 17520h", c.Duration("valid"))
	}
	d := pki.Dir(c.String("dir"))
	ca, err := pki.LoadCA(d.CAFile(), filepath.Join(c.String("dir"), "ca-key.pem"))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no CA in %s: make one with fleetctl cert ca --dir %s", c.String("dir"), c.String("dir"))
	}
	if err != nil {
		return err
	}
	f := d.Files(name)
	for _, p := range []string{f.Cert, f.Key} {
		if _, err := os.Stat(p); err == nil && !c.Bool("force") {
			return fmt.Errorf("%s has a certificate already (%s); give --force to issue a new one", name, p)
		}
	}
	if end := time.Now().Add(c.Duration("valid")); end.After(ca.Cert.NotAfter) {
		return usageErrorf("--valid %v: the certificate would outlive the CA, which expires %s", c.Duration("valid"), ca.Cert.NotAfter.UTC().Format("2006-01-02"))
	}
	pair, err := ca.Issue(pki.Request{Name: name, Role: role, Hosts: c.StringSlice("host"), Validity: c.Duration("valid")})
	if err != nil {
		return err
	}
	if err := pair.Write(f.Cert, f.Key); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "issued %s (role %s, valid until %s): %s and %s\n", name, role,
		time.Now().Add(c.Duration("valid")).UTC().Format("2006-01-02"), f.Cert, f.Key)
	return nil
}
