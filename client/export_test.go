package client

import "github.com/shingle-storage/shingle/api/fleet/v1/fleetv1connect"

// WrapFleet makes c call fleetd through what wrap returns for each of its
// fleetd clients, so that a test can stand between a client and fleetd.
func WrapFleet(c *Client, wrap func(fleetv1connect.VolumeServiceClient) fleetv1connect.VolumeServiceClient) {
	for i, f := range c.fleet {
		c.fleet[i] = wrap(f)
	}
}
