//go:build !race

package main

// revokeTrials is how many revokes TestE2ECluster measures (30 under the
// race detector, see e2e_cluster_race_test.go).
const revokeTrials = 100
