package entra

import (
	"context"
	"fmt"
	"strings"

	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/graph"
)

// device is the one device with this serial number.
func (d *Directory) device(ctx context.Context, serial string) (graph.Device, error) {
	devs, err := d.c.DevicesBySerial(ctx, serial)
	if err != nil {
		return graph.Device{}, fmt.Errorf("reading token %s of %s: %w", serial, d.tenant, err)
	}
	switch len(devs) {
	case 0:
		return graph.Device{}, &directory.NotFoundError{Kind: "token", Name: serial}
	case 1:
		return devs[0], nil
	}
	return graph.Device{}, &directory.ConflictError{Msg: fmt.Sprintf("%s holds %d hardware tokens with serial number %s", d.tenant, len(devs), serial)}
}

func owner(dev graph.Device) string {
	if dev.AssignedTo == nil {
		return ""
	}
	return dev.AssignedTo.ID
}

// unassign removes the device from its owner (object id). The method's id is read from the
// owner's methods rather than assumed to be the device's, which Graph does not promise.
func (d *Directory) unassign(ctx context.Context, dev graph.Device, ownerID string) error {
	methodID := dev.ID
	ms, err := d.c.ListUserOathMethods(ctx, ownerID)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.Device != nil && m.Device.ID == dev.ID {
			methodID = m.ID
			break
		}
	}
	return d.c.UnassignDevice(ctx, ownerID, methodID)
}

// AssignToken assigns the token to the user and returns the previous owner's UPN. A token the
// user already holds is left alone; one another user holds is moved only with force: unassigned,
// then assigned (two calls: Graph has no move). Graph enforces the per-user method limit itself,
// so maxMethods is not used.
func (d *Directory) AssignToken(ctx context.Context, serial, upn string, force bool, _ int) (string, error) {
	dev, err := d.device(ctx, serial)
	if err != nil {
		return "", err
	}
	u, err := d.c.GetUser(ctx, upn)
	if graph.IsNotFound(err) {
		return "", &directory.NotFoundError{Kind: "user", Name: upn}
	}
	if err != nil {
		return "", fmt.Errorf("reading user %s of %s: %w", upn, d.tenant, err)
	}
	var previous string
	if id := owner(dev); id != "" {
		if id == u.ID {
			return u.UserPrincipalName, nil
		}
		if previous, err = d.ownerUPN(ctx, id); err != nil {
			return "", err
		}
		if !force {
			return previous, &directory.ConflictError{Msg: fmt.Sprintf("token %s is already assigned to %s", dev.SerialNumber, previous)}
		}
		if err := d.unassign(ctx, dev, id); err != nil {
			return previous, fmt.Errorf("unassigning it from %s: %w", previous, err)
		}
	}
	if _, err := d.c.AssignDevice(ctx, u.ID, dev.ID); err != nil {
		if previous != "" {
			return previous, fmt.Errorf("it was unassigned from %s but not assigned to %s: %w", previous, upn, err)
		}
		return "", err
	}
	return previous, nil
}

// UnassignToken returns the token to the inventory's available stock and returns the previous
// owner's UPN; a token without owner is left alone.
func (d *Directory) UnassignToken(ctx context.Context, serial string) (string, error) {
	dev, err := d.device(ctx, serial)
	if err != nil {
		return "", err
	}
	id := owner(dev)
	if id == "" {
		return "", nil
	}
	previous, err := d.ownerUPN(ctx, id)
	if err != nil {
		return "", err
	}
	return previous, d.unassign(ctx, dev, id)
}

// DeleteTokens deletes unassigned tokens from the inventory. Every serial is looked up first:
// one not found, or one assigned to a user, and nothing is deleted (Entra ID deletes only
// unassigned tokens). Graph has no transactions, so a failure half-way leaves the tokens
// before it deleted; the error names them.
func (d *Directory) DeleteTokens(ctx context.Context, serials ...string) error {
	return d.deleteTokens(ctx, false, serials)
}

// DeleteTokensForce deletes the tokens like DeleteTokens, unassigning the assigned ones first.
func (d *Directory) DeleteTokensForce(ctx context.Context, serials ...string) error {
	return d.deleteTokens(ctx, true, serials)
}

func (d *Directory) deleteTokens(ctx context.Context, force bool, serials []string) error {
	devs := make([]graph.Device, len(serials))
	for i, s := range serials {
		dev, err := d.device(ctx, s)
		if err != nil {
			return err
		}
		if id := owner(dev); id != "" && !force {
			upn, err := d.ownerUPN(ctx, id)
			if err != nil {
				return err
			}
			return &directory.ConflictError{Msg: fmt.Sprintf("token %s is assigned to %s; Microsoft Entra ID deletes only unassigned tokens", dev.SerialNumber, upn)}
		}
		devs[i] = dev
	}
	var done []string
	partial := func(err error) error {
		if len(done) == 0 {
			return err
		}
		return fmt.Errorf("%w (deleted before the failure: %s)", err, strings.Join(done, ", "))
	}
	for _, dev := range devs {
		if id := owner(dev); id != "" {
			if err := d.unassign(ctx, dev, id); err != nil {
				return partial(fmt.Errorf("unassigning token %s: %w", dev.SerialNumber, err))
			}
		}
		if err := d.c.DeleteDevice(ctx, dev.ID); err != nil {
			return partial(fmt.Errorf("deleting token %s: %w", dev.SerialNumber, err))
		}
		done = append(done, dev.SerialNumber)
	}
	return nil
}
