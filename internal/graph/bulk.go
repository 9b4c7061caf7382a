package graph

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// CreateResult is the outcome of one device of CreateDevices.
type CreateResult struct {
	Index  int     // position of the device in the input
	Device *Device // the device as Graph created it; nil when Err is set
	// Bulk says the device was created by a bulk PATCH rather than its own POST.
	Bulk bool
	Err  error
}

// ErrNotInBulkResponse is the outcome of a device the bulk PATCH succeeded for but did not
// return: it may or may not exist now, so the caller looks its serial number up.
var ErrNotInBulkResponse = errors.New("graph: the bulk create answered without this device; its outcome is unknown")

// CreateDevices creates devices (their SecretKey set, AssignTo optional) and returns one result
// per device, in input order.
//
// The devices are sent in chunks of Options.BulkSize as Graph's bulk create: a PATCH of the
// collection with {"@context":"#$delta","value":[...]}, up to Options.Parallel chunks at a
// time. Graph's beta API documents the bulk call but not how it refuses it, nor per-item
// errors, so:
//   - a chunk refused with 400, 405 or 501 is sent again as one POST per device (up to
//     Parallel at a time); after a 405 or 501 the client stops trying bulk for good. A 400
//     may come from one bad device in the chunk: the per-device POSTs then say which;
//   - a chunk that fails otherwise (403, a timeout, a 500 after the retries) gives its error to
//     each of its devices; IsOutcomeUnknown tells the devices that may have been created;
//   - a device a successful chunk does not return gets ErrNotInBulkResponse.
//
// Nothing is sent twice that may have been applied, so a failed run is finished by running
// the caller's import again after looking the serial numbers up.
func (c *Client) CreateDevices(ctx context.Context, devices []Device) []CreateResult {
	res := make([]CreateResult, len(devices))
	for i := range res {
		res[i].Index = i
	}
	var chunks [][]int
	for start := 0; start < len(devices); start += c.bulkSize {
		idx := make([]int, 0, c.bulkSize)
		for i := start; i < min(start+c.bulkSize, len(devices)); i++ {
			idx = append(idx, i)
		}
		chunks = append(chunks, idx)
	}
	var (
		mu       sync.Mutex
		fallback []int
	)
	c.pool(len(chunks), func(k int) {
		idx := chunks[k]
		if c.bulkRefused.Load() {
			mu.Lock()
			fallback = append(fallback, idx...)
			mu.Unlock()
			return
		}
		refused := c.createChunk(ctx, devices, idx, res)
		if refused {
			mu.Lock()
			fallback = append(fallback, idx...)
			mu.Unlock()
		}
	})
	c.pool(len(fallback), func(k int) {
		i := fallback[k]
		d, err := c.CreateDevice(ctx, devices[i])
		res[i] = CreateResult{Index: i, Device: d, Err: err}
	})
	return res
}

// pool runs fn(0..n-1) with at most Parallel running at once.
func (c *Client) pool(n int, fn func(int)) {
	sem := make(chan struct{}, c.parallel)
	var wg sync.WaitGroup
	for k := 0; k < n; k++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(k)
		}()
	}
	wg.Wait()
}

type bulkItem struct {
	ContentID string `json:"@contentId"`
	Device
}

// createChunk sends one bulk PATCH and fills the results of its devices. It reports whether
// the service refused the bulk call, so the chunk is to be sent one device at a time.
func (c *Client) createChunk(ctx context.Context, devices []Device, idx []int, res []CreateResult) (refused bool) {
	items := make([]bulkItem, len(idx))
	for k, i := range idx {
		items[k] = bulkItem{ContentID: strconv.Itoa(k + 1), Device: devices[i]}
	}
	body := map[string]any{"@context": "#$delta", "value": items}
	var out struct {
		Value []json.RawMessage `json:"value"`
	}
	_, err := c.do(ctx, call{method: http.MethodPatch, path: devicesPath, body: body, perm: permDevicesWrite}, &out)
	if err != nil {
		if e, ok := asError(err); ok && !e.OutcomeUnknown {
			switch e.StatusCode {
			case http.StatusMethodNotAllowed, http.StatusNotImplemented:
				c.bulkRefused.Store(true)
				return true
			case http.StatusBadRequest:
				return true
			}
		}
		for _, i := range idx {
			res[i] = CreateResult{Index: i, Bulk: true, Err: err}
		}
		return false
	}
	// The items come back as hardwareOathAuthenticationMethod wrappers with a device, or (as
	// the single create does) as bare devices. They are matched by serial number, which is
	// unique in the inventory; the documentation promises no order.
	created := map[string]*Device{}
	for _, raw := range out.Value {
		var w struct {
			Device *Device `json:"device"`
		}
		var d Device
		if json.Unmarshal(raw, &w) == nil && w.Device != nil {
			d = *w.Device
		} else if json.Unmarshal(raw, &d) != nil {
			continue
		}
		created[strings.ToLower(d.SerialNumber)] = &d
	}
	for _, i := range idx {
		if d, ok := created[strings.ToLower(devices[i].SerialNumber)]; ok {
			res[i] = CreateResult{Index: i, Device: d, Bulk: true}
		} else {
			res[i] = CreateResult{Index: i, Bulk: true, Err: ErrNotInBulkResponse}
		}
	}
	return false
}
