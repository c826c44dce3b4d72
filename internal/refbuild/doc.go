// Package refbuild implements `driftcar reference build`: it streams a
// training file through sketch.BuildReference with the features of a
// driftcar config and writes the reference profile. It runs on the
// caller's goroutine.
package refbuild
