package main

import (
	"time"

	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/urfave/cli/v2"
	"google.golang.org/protobuf/types/known/durationpb"
)

func tokenCommand() *cli.Command {
	return &cli.Command{
		Name:  "token",
		Usage: "issue join tokens for new hosts",
		Subcommands: []*cli.Command{
			{
				Name:  "create",
				Usage: "issue a join token; its secret is printed once and cannot be shown again",
				Description: `Prints the token ("<id>.<secret>") that a host's agent presents when it
first registers. The fleet keeps only the secret's hash.`,
				Flags: []cli.Flag{
					outputFlag(),
					&cli.StringFlag{Name: "id", Usage: "the token's public id; default: a random one"},
					&cli.DurationFlag{Name: "ttl", Value: time.Hour, Usage: "how long the token works"},
					&cli.StringFlag{Name: "rack", Usage: "only hosts in this rack may join with it"},
					&cli.UintFlag{Name: "max-uses", Usage: "how many hosts may join with it; 0 means any number until it expires"},
				},
				Action: tokenCreate,
			},
		},
	}
}

func tokenCreate(c *cli.Context) error {
	f, p, err := setup(c)
	if err != nil {
		return err
	}
	req := &fleetv1.CreateTokenRequest{
		Id: c.String("id"), Ttl: durationpb.New(c.Duration("ttl")), Rack: c.String("rack"), MaxUses: uint32(c.Uint("max-uses")),
	}
	res, _, err := callWrite(c.Context, f, req, func(s *clients) rpc[fleetv1.CreateTokenRequest, fleetv1.CreateTokenResponse] {
		return s.token.CreateToken
	})
	if err != nil {
		return err
	}
	return p.message(res, func(t *table) {
		t.pair("token", res.GetToken())
		t.pair("id", res.GetId())
		t.pair("expires", res.GetExpiresAt().AsTime().Local().Format(time.DateTime))
	})
}
