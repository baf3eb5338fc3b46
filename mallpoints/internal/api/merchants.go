package api

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// merchantView is a merchant in force, without its keys.
type merchantView struct {
	MchID     string   `json:"mchid"`
	Name      string   `json:"name,omitempty"`
	Mode      string   `json:"mode"`
	SubMchIDs []string `json:"sub_mchids,omitempty"`
}

// mallView is a mall the merchants list or whose notifications arrived.
type mallView struct {
	Mall string `json:"mall"`
	Name string `json:"name,omitempty"` // the merchants file's name, else merchant_name
	// Merchant signs the mall's syncs: the one the file lists it under,
	// else the one whose URL received its notifications.
	Merchant string `json:"merchant"`
	// Listed is false for a mall the merchants file lists nowhere: its
	// notifications are taken and synced by Merchant, and flagged; list it
	// in that merchant's sub_mchids.
	Listed    bool       `json:"listed"`
	FirstSeen *time.Time `json:"first_seen,omitempty"` // its first notification; none yet: absent
}

// merchants lists the merchants in force and every mall they list or whose
// notifications arrived, by mchid.
func (a *API) merchants(w http.ResponseWriter, r *http.Request) {
	set := a.merch.Load()
	recorded, err := a.db.Malls(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var list []merchantView
	for _, m := range set.Merchants() {
		list = append(list, merchantView{MchID: m.MchID, Name: m.Name, Mode: string(m.Mode), SubMchIDs: m.SubMchIDs})
	}
	malls := map[string]*mallView{}
	for _, mall := range set.Malls() {
		malls[mall] = &mallView{Mall: mall, Name: set.Name(mall), Merchant: set.Owner(mall).MchID, Listed: true}
	}
	for _, rec := range recorded {
		v := malls[rec.MchID]
		if v == nil {
			v = &mallView{Mall: rec.MchID, Merchant: rec.Merchant}
			if o := set.Owner(rec.MchID); o != nil { // the flags' one merchant serves every mall
				v.Merchant, v.Listed = o.MchID, true
			}
			malls[rec.MchID] = v
		}
		if v.Name == "" {
			v.Name = rec.Name
		}
		v.FirstSeen = &rec.FirstSeen
	}
	out := make([]*mallView, 0, len(malls))
	for _, v := range malls {
		out = append(out, v)
	}
	slices.SortFunc(out, func(x, y *mallView) int { return strings.Compare(x.Mall, y.Mall) })
	writeJSON(w, http.StatusOK, map[string]any{"merchants": list, "malls": out})
}
