package parking_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/riverqueue/river"

	"github.com/seed2ac2593f/wxpay/businesscircle"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/parking"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
	"github.com/seed2ac2593f/wxpay/mallpoints/testkit/pgtest"
)

// jobs keeps the jobs inserted.
type jobs []river.JobArgs

func (j *jobs) Insert(_ context.Context, _ *storage.Tx, args river.JobArgs) error {
	*j = append(*j, args)
	return nil
}

func TestAParkingIsRecordedWithItsJobOncePerIdempotencyKey(t *testing.T) {
	t.Parallel()
	dsns := map[string]func(t *testing.T) string{"sqlite": func(t *testing.T) string { return filepath.Join(t.TempDir(), "parking.db") }}
	if base, ok := pgtest.Optional(t); ok {
		dsns["postgres"] = func(t *testing.T) string { return pgtest.NewDatabase(t, base, "parking_test") }
	}
	set, err := rules.Parse([]byte("malls:\n  - mchid: \"1900000109\"\n    app_ids: [wx1234567890abcdef]\n"))
	if err != nil {
		t.Fatal(err)
	}
	for name, dsn := range dsns {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, err := storage.Open(ctx, dsn(t))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			var q jobs
			s := parking.New(db, rules.NewCurrent(set), &q)
			in := parking.Event{Mall: "1900000109", OpenID: "oCar", PlateNumber: "粤B12345", State: "IN",
				Time: "2026-12-01T10:00:00+08:00", IdempotencyKey: "gate-1"}
			p, created, err := s.Park(ctx, in)
			if err != nil || !created {
				t.Fatal(created, err)
			}
			if p.AppID != "wx1234567890abcdef" {
				t.Errorf("app id %q, want the mall's first in the rules", p.AppID)
			}
			again, created, err := s.Park(ctx, in)
			if err != nil || created || again.ID != p.ID {
				t.Errorf("the same key again: %+v, created %v, %v; want the first parking", again, created, err)
			}
			if len(q) != 1 || q[0] != (parking.Args{SyncID: p.SyncID}) {
				t.Errorf("jobs %v, want one for sync %d", q, p.SyncID)
			}
			in.IdempotencyKey, in.State = "gate-2", "PARKED"
			_, _, err = s.Park(ctx, in)
			if ve, ok := errors.AsType[*businesscircle.ValidationError](err); !ok || ve.Field != "state" {
				t.Errorf("a bad state: %v, want a ValidationError naming state", err)
			}
			if list, err := db.Parkings(ctx, nil, 0, 10); err != nil || len(list) != 1 || len(q) != 1 {
				t.Errorf("after the refusal: %d parkings, %d jobs, %v; want nothing more written", len(list), len(q), err)
			}
		})
	}
}

func TestTheRequestNamesTheSubMerchantAndTheBrandOfTheRulesInForce(t *testing.T) {
	t.Parallel()
	p := storage.Parking{Mall: "1900000110", AppID: "wx1234567890abcdef", OpenID: "oCar", PlateNumber: "粤B12345",
		State: "OUT", Time: "2026-12-01T12:00:00+08:00"}
	got := parking.Request(p, 1001, "1900000110")
	want := businesscircle.ParkingRequest{SubMchID: "1900000110", BrandID: 1001, AppID: p.AppID, OpenID: p.OpenID,
		PlateNumber: p.PlateNumber, State: businesscircle.ParkingState("OUT"), Time: p.Time}
	if got != want {
		t.Errorf("request %+v, want %+v", got, want)
	}
}
