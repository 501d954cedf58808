//go:build race

package main

// revokeTrials is how many revokes TestE2ECluster measures. Under the race
// detector the test process sends its load several times more slowly, so
// it measures 30 to stay within its time budget; without it, 100.
const revokeTrials = 30
