//go:build !race

package bodycodec

const raceEnabled = false
