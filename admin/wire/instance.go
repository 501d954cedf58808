package wire

import "time"

// Instance is one live sdproxy instance, as GET /admin/v1/instances lists
// it.
type Instance struct {
	ID string `json:"instance_id"`
	// DataAddress is the data listener's address as bound (host:port).
	DataAddress string `json:"data_address"`
	// AdminAddress is the admin API's advertised base URL.
	AdminAddress string    `json:"admin_address"`
	Version      string    `json:"version"`
	Started      time.Time `json:"started"`
	// Self marks the instance that answered.
	Self bool `json:"self"`
}
