package rules_test

import (
	"testing"

	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
)

// The built-in remarks are synced as they are, so the SDK's own validation
// of the points sync must accept every one of them.
func TestDefaultRemarksPassTheSDKValidation(t *testing.T) {
	t.Parallel()
	for _, remark := range []string{rules.DefaultRemarkExcluded, rules.DefaultRemarkBelowMinimum, rules.DefaultRemarkCapReached, rules.DefaultRemarkNoPoints,
		rules.DefaultRemarkMonthlyCap, rules.DefaultRemarkNotAuthorized} {
		req := businesscircle.PointsNotifyRequest{
			TransactionID:    "1217752501201407033233368018",
			AppID:            "wx1234567890abcdef",
			OpenID:           "oWmnN4xxxxxxxxxxe92NHIGf1xd8",
			PointsUpdateTime: "2026-11-11T12:00:00+08:00",
			NoPointsRemarks:  remark,
		}
		if err := req.Validate(); err != nil {
			t.Errorf("%q: %v", remark, err)
		}
	}
}
