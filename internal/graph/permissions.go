package graph

// What each call needs, least privilege first, named in a 403 so the operator knows what to
// grant. Application and delegated permissions have the same names; a delegated caller also
// needs the role.
var (
	permDevicesRead  = permission{"Policy.Read.All", "Authentication Policy Administrator"}
	permDevicesWrite = permission{"Policy.ReadWrite.AuthenticationMethod", "Authentication Policy Administrator"}
	// Creating a token and assigning it in one call needs both halves.
	permDevicesCreateAssign = permission{"Policy.ReadWrite.AuthenticationMethod and UserAuthenticationMethod.ReadWrite.All", "Authentication Administrator"}
	permOathRead            = permission{"UserAuthMethod-HardwareOATH.Read.All (or UserAuthenticationMethod.Read.All)", "Authentication Administrator"}
	permOathWrite           = permission{"UserAuthMethod-HardwareOATH.ReadWrite.All (or UserAuthenticationMethod.ReadWrite.All)", "Authentication Administrator (Privileged Authentication Administrator for admins)"}
	permUsersRead           = permission{"User.Read.All", "Directory Readers"}
	permUsersEnable         = permission{"User.EnableDisableAccount.All and User.Read.All", "User Administrator (Privileged Authentication Administrator for admins)"}
	permMethodsRead         = permission{"UserAuthenticationMethod.Read.All", "Authentication Administrator"}
	permMethodsWrite        = permission{"UserAuthenticationMethod.ReadWrite.All", "Authentication Administrator (Privileged Authentication Administrator for admins)"}
	permRevoke              = permission{"User.RevokeSessions.All", "User Administrator"}
	permAuditLog            = permission{"AuditLog.Read.All", "Reports Reader"}
)
