//go:build unix && !linux

package main

const mapNoReserve = 0
