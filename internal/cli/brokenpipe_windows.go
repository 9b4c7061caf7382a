package cli

import (
	"errors"
	"syscall"
)

// errorNoData is ERROR_NO_DATA, "the pipe is being closed" (not in package syscall).
const errorNoData = syscall.Errno(232)

// isBrokenPipe reports whether err is a write to a pipe whose reader has gone: Windows says
// "the pipe is being closed" (ERROR_NO_DATA) or "the pipe has been ended".
func isBrokenPipe(err error) bool {
	return errors.Is(err, errorNoData) || errors.Is(err, syscall.ERROR_BROKEN_PIPE) || errors.Is(err, syscall.EPIPE)
}
