package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// layout is where everything of one development cluster lives under its
// directory:
//
//	cluster.json        the ports and topology chosen on the first run
//	env                 the environment for fleetctl (source it)
//	bin/                fleetd, fleetctl and agent, built from this checkout
//	pki/                the cluster CA and every certificate
//	fleet-N/            fleetd server N's data directory and fleetd.log
//	<host>/             a storage host: its agent.log and drives/ (the
//	                    emulated drives and their cluster id)
//	join-token          a join token for agents (renewed every run)
type layout string

func (l layout) path(parts ...string) string {
	return filepath.Join(append([]string{string(l)}, parts...)...)
}

func (l layout) bin(name string) string   { return l.path("bin", name) }
func (l layout) nodeDir(id string) string { return l.path(id) }
func (l layout) nodeLog(id string) string { return l.path(id, "fleetd.log") }
func (l layout) configFile() string       { return l.path("cluster.json") }
func (l layout) envFile() string          { return l.path("env") }
func (l layout) pkiDir() string           { return l.path("pki") }
func (l layout) joinTokenFile() string    { return l.path("join-token") }
func (l layout) hostDir(id string) string { return l.path(id) }
func (l layout) agentLog(id string) string {
	return l.path(id, "agent.log")
}
func (l layout) drivesDir(id string) string { return l.path(id, "drives") }

// node is one fleetd server of the development cluster.
type node struct {
	ID   string `json:"id"`
	API  string `json:"api"`
	Raft string `json:"raft"`
}

// config is what the first run chose and later runs reuse: Raft keeps its
// members' addresses, so a cluster must come back on the same ports.
type config struct {
	Nodes    []node   `json:"nodes"`
	Topology topology `json:"topology"`
	// ClusterID is written in the labels of the agents' drives.
	ClusterID string `json:"cluster_id,omitempty"`
	// Agents are the storage hosts whose agents have been run, kept so
	// that every later run starts them again with the same drives.
	Agents []agent `json:"agents,omitempty"`
}

// loadConfig reads cluster.json; ok is false if this is the first run.
func (l layout) loadConfig() (cfg config, ok bool, err error) {
	data, err := os.ReadFile(l.configFile())
	if errors.Is(err, fs.ErrNotExist) {
		return config{}, false, nil
	}
	if err != nil {
		return config{}, false, err
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return config{}, false, fmt.Errorf("%s is damaged (%v); remove the directory to start a new cluster", l.configFile(), err)
	}
	return cfg, true, nil
}

// saveConfig writes cluster.json.
func (l layout) saveConfig(cfg config) error {
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(l.configFile(), append(data, '\n'), 0o644)
}
