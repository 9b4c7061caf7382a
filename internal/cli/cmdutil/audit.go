package cmdutil

import (
	"net"
	"os"
	"os/user"
	"sync"

	"github.com/spf13/cobra"
)

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
