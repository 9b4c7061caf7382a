package graph

import (
	"crypto/rand"
	"encoding/hex"
)

// newRequestID returns a random (version 4) UUID for the client-request-id header. Ten lines
// here rather than a direct dependency on google/uuid for one function.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
