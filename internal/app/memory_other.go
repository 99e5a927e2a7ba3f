//go:build !linux

package app

// physicalMemory is unknown here: queries get FallbackQueryMemoryLimit.
func physicalMemory() uint64 { return 0 }
