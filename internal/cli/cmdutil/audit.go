package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"sync"

	"github.com/spf13/cobra"

	"github.com/mfactl/mfactl/internal/store"
)

// Audit records an admin change: who (OS user and host), what (the command path without
// "mfactl", e.g. "tokens assign"), the target, the result ("success" or "failure") and a
// detail that never holds secret material. Commands call it once per change they make.
func (f *Factory) Audit(ctx context.Context, cmd *cobra.Command, target, result, detail string) error {
	db, err := f.Store(ctx)
	if err != nil {
		return err
	}
	host := Host()
	return db.AddAudit(ctx, store.AuditEvent{
		Time:    f.Now(),
		Actor:   Actor(),
		Host:    host.Name,
		Command: CommandName(cmd),
		Target:  target,
		Result:  result,
		Detail:  detail,
	})
}

// CommandName is cmd's path without the program name: "tokens import".
func CommandName(cmd *cobra.Command) string {
	if cmd == nil {
		return ""
	}
	if !cmd.HasParent() {
		return cmd.Name()
	}
	if p := CommandName(cmd.Parent()); p != cmd.Root().Name() {
		return p + " " + cmd.Name()
	}
	return cmd.Name()
}

// Actor is the OS user running mfactl.
func Actor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	for _, env := range []string{"USER", "USERNAME", "LOGNAME"} {
		if v := os.Getenv(env); v != "" {
			return v
		}
	}
	return "unknown"
}

// HostInfo names this machine for audit and auth events (server name and IP).
type HostInfo struct {
	Name string
	IP   string
}

var hostOnce = sync.OnceValue(func() HostInfo {
	var h HostInfo
	h.Name, _ = os.Hostname()
	// The first global unicast address of this machine's interfaces, IPv4 first; nothing is
	// sent anywhere to find it.
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, want4 := range []bool{true, false} {
			for _, a := range addrs {
				ipnet, ok := a.(*net.IPNet)
				if ok && ipnet.IP.IsGlobalUnicast() && (ipnet.IP.To4() != nil) == want4 && h.IP == "" {
					h.IP = ipnet.IP.String()
				}
			}
		}
	}
	if h.IP == "" {
		h.IP = "127.0.0.1"
	}
	return h
})

// Host returns this machine's name and IP address, looked up once.
func Host() HostInfo { return hostOnce() }

// AuditChange records the outcome of a change to one target and returns the error to report:
// opErr, or the failure to record a change that was made. A refusal by the directory (the
// token or user does not exist, a conflict, the method limit) is recorded as a failure, with
// the error message as detail, since attempts matter to whoever reads the audit log; errors
// of the machinery (a busy or broken database, a cancelled run) are not, since recording
// would fail the same way. detail never carries secrets.
func (f *Factory) AuditChange(ctx context.Context, cmd *cobra.Command, target, detail string, opErr error) error {
	ctx = context.WithoutCancel(ctx)
	if opErr != nil {
		if errors.Is(opErr, store.ErrNotFound) || errors.Is(opErr, store.ErrConflict) || errors.Is(opErr, store.ErrLimit) {
			_ = f.Audit(ctx, cmd, target, "failure", opErr.Error())
		}
		return opErr
	}
	if err := f.Audit(ctx, cmd, target, "success", detail); err != nil {
		return fmt.Errorf("the change was made but recording it in the audit log failed: %w", err)
	}
	return nil
}
