package graph

import (
	"context"
	"net/http"
)

const devicesPath = beta + "/directory/authenticationMethodDevices/hardwareOathDevices"

func userOathPath(user string) string {
	return beta + "/users/" + escape(user) + "/authentication/hardwareOathMethods"
}

// ListDevices returns every hardware OATH token of the inventory that matches opts, all pages.
func (c *Client) ListDevices(ctx context.Context, opts ListOptions) ([]Device, error) {
	return all[Device](ctx, c, call{method: http.MethodGet, path: devicesPath, query: opts.values(), idempotent: true, perm: permDevicesRead})
}

// EachDevice calls fn for every device of the inventory that matches opts, page by page.
func (c *Client) EachDevice(ctx context.Context, opts ListOptions, fn func(Device) error) error {
	return each(ctx, c, call{method: http.MethodGet, path: devicesPath, query: opts.values(), idempotent: true, perm: permDevicesRead}, fn)
}

// DevicesBySerial returns the devices with this serial number: none, one, or (after a legacy
// CSV upload next to a Graph one) more.
func (c *Client) DevicesBySerial(ctx context.Context, serial string) ([]Device, error) {
	return c.ListDevices(ctx, ListOptions{Filter: Eq("serialNumber", serial)})
}

// GetDevice returns one device by id.
func (c *Client) GetDevice(ctx context.Context, id string) (*Device, error) {
	var d Device
	if _, err := c.do(ctx, call{method: http.MethodGet, path: devicesPath + "/" + escape(id), idempotent: true, perm: permDevicesRead}, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// CreateDevice creates one token (POST) and returns it as Graph does, its secret null. With
// assignTo set it is assigned to that user in the same call. A POST is never retried unless
// the answer proves it was not applied; on a timeout the error says the outcome is unknown
// (IsOutcomeUnknown), and the caller looks the serial number up before trying again.
func (c *Client) CreateDevice(ctx context.Context, d Device) (*Device, error) {
	perm := permDevicesWrite
	if d.AssignTo != nil {
		perm = permDevicesCreateAssign
	}
	var out Device
	if _, err := c.do(ctx, call{method: http.MethodPost, path: devicesPath, body: d, perm: perm}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateDevice changes an unassigned token's properties.
func (c *Client) UpdateDevice(ctx context.Context, id string, u DeviceUpdate) error {
	_, err := c.do(ctx, call{method: http.MethodPatch, path: devicesPath + "/" + escape(id), body: u, idempotent: true, perm: permDevicesWrite}, nil)
	return err
}

// DeleteDevice deletes an unassigned token from the inventory.
func (c *Client) DeleteDevice(ctx context.Context, id string) error {
	_, err := c.do(ctx, call{method: http.MethodDelete, path: devicesPath + "/" + escape(id), idempotent: true, perm: permDevicesWrite}, nil)
	return err
}

// ListUserOathMethods returns a user's hardware OATH methods (user by id or UPN), each with
// its device.
func (c *Client) ListUserOathMethods(ctx context.Context, user string) ([]HardwareOathMethod, error) {
	return all[HardwareOathMethod](ctx, c, call{method: http.MethodGet, path: userOathPath(user), idempotent: true, perm: permOathRead})
}

// AssignDevice assigns an available token to a user without activating it. It returns the
// new method (its id is what Activate, Deactivate and UnassignDevice take).
func (c *Client) AssignDevice(ctx context.Context, user, deviceID string) (*HardwareOathMethod, error) {
	var m HardwareOathMethod
	body := map[string]any{"device": Ref{ID: deviceID}}
	if _, err := c.do(ctx, call{method: http.MethodPost, path: userOathPath(user), body: body, perm: permOathWrite}, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// Activate activates a token assigned to the user with a code it shows. A wrong code leaves
// the token failedActivation and returns the service's 400. displayName may be empty.
func (c *Client) Activate(ctx context.Context, user, methodID, code, displayName string) error {
	body := map[string]any{"verificationCode": code}
	if displayName != "" {
		body["displayName"] = displayName
	}
	_, err := c.do(ctx, call{method: http.MethodPost, path: userOathPath(user) + "/" + escape(methodID) + "/activate", body: body, perm: permOathWrite}, nil)
	return err
}

// AssignAndActivate assigns a token by device id and activates it in one call.
func (c *Client) AssignAndActivate(ctx context.Context, user, deviceID, code, displayName string) error {
	body := map[string]any{"device": Ref{ID: deviceID}, "verificationCode": code}
	if displayName != "" {
		body["displayName"] = displayName
	}
	_, err := c.do(ctx, call{method: http.MethodPost, path: userOathPath(user) + "/assignAndActivate", body: body, perm: permOathWrite}, nil)
	return err
}

// AssignAndActivateBySerialNumber assigns a token by serial number and activates it in one call:
// what a user does in Security info, and what mfactl does for a token not yet assigned.
func (c *Client) AssignAndActivateBySerialNumber(ctx context.Context, user, serial, code, displayName string) error {
	body := map[string]any{"serialNumber": serial, "verificationCode": code}
	if displayName != "" {
		body["displayName"] = displayName
	}
	_, err := c.do(ctx, call{method: http.MethodPost, path: userOathPath(user) + "/assignAndActivateBySerialNumber", body: body, perm: permOathWrite}, nil)
	return err
}

// Deactivate deactivates a user's token; it stays assigned (status assigned) so the user can
// activate it again. Sending it twice does no harm, so it is retried like a read.
func (c *Client) Deactivate(ctx context.Context, user, methodID string) error {
	_, err := c.do(ctx, call{method: http.MethodPost, path: userOathPath(user) + "/" + escape(methodID) + "/deactivate", idempotent: true, perm: permOathWrite}, nil)
	return err
}

// UnassignDevice removes a token from a user (DELETE of the method); the device returns to
// available and stays in the inventory.
func (c *Client) UnassignDevice(ctx context.Context, user, methodID string) error {
	_, err := c.do(ctx, call{method: http.MethodDelete, path: userOathPath(user) + "/" + escape(methodID), idempotent: true, perm: permOathWrite}, nil)
	return err
}
