package main

import (
	"slices"
	"testing"

	"github.com/seed2ac2593f/wxpay/sandbox"

	"github.com/seed2ac2593f/wxpay/mallpoints/cmd/mallpoints-load/loadgen"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/merchants"
	"github.com/seed2ac2593f/wxpay/mallpoints/testkit"
)

func TestMembersPayInTheSubMerchantsThenTheDirectMerchants(t *testing.T) {
	t.Parallel()
	sub := func(id string) loadgen.Mall { return loadgen.Mall{SubMchID: id} }
	direct := func(id string) loadgen.Mall { return loadgen.Mall{MchID: id} }
	for _, c := range []struct {
		name          string
		malls, direct int
		want          []loadgen.Mall
	}{
		{"one mall", 1, 0, nil},
		{"a provider's malls", 2, 0, []loadgen.Mall{sub("1900001001"), sub("1900001002")}},
		{"one mall and a direct merchant", 1, 1, []loadgen.Mall{{}, direct("1900000301")}},
		{"a provider's malls and two direct merchants", 2, 2,
			[]loadgen.Mall{sub("1900001001"), sub("1900001002"), direct("1900000301"), direct("1900000302")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := mallsOf(c.malls, c.direct); !slices.Equal(got, c.want) {
				t.Errorf("mallsOf(%d, %d) = %v, want %v", c.malls, c.direct, got, c.want)
			}
		})
	}
}

// The merchants file the load generator writes is one the service loads:
// the provider owns its sub-merchants, each direct merchant its own mall.
func TestTheMerchantsFileWrittenForTheRunIsOneTheServiceLoads(t *testing.T) {
	t.Parallel()
	k, err := sandbox.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keys := testkit.Keys{Dir: dir + "/keys", MchID: k.MchID, PublicKeyID: k.PublicKeyID, APIv3Key: k.APIv3Key}
	if err := k.WriteDir(keys.Dir); err != nil {
		t.Fatal(err)
	}
	_, file, err := writeMerchants(dir, keys, &options{malls: 3, direct: 2}, "http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	set, err := merchants.Load(file, merchants.Options{BaseURL: "http://127.0.0.1:1/"})
	if err != nil {
		t.Fatal(err)
	}
	for mall, owner := range map[string]string{
		"1900001001": k.MchID, "1900001003": k.MchID, "1900000301": "1900000301", "1900000302": "1900000302",
	} {
		if m := set.Owner(mall); m == nil || m.MchID != owner {
			t.Errorf("mall %s is served by %v, want %s", mall, m, owner)
		}
	}
	if n := len(set.Merchants()); n != 3 {
		t.Errorf("%d merchants, want the provider and two direct merchants", n)
	}
}

func TestParseStatusReadsTheResidentMemoryAndItsPeak(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, status string
		rss, peak    int64
		ok           bool
	}{
		{"both", "Name:\tmallpointsd\nVmHWM:\t   81234 kB\nVmRSS:\t   61000 kB\nThreads:\t9\n", 61000 << 10, 81234 << 10, true},
		{"no peak", "VmRSS:\t 1 kB\n", 0, 0, false},
		{"another unit", "VmRSS:\t 1 MB\nVmHWM:\t 2 kB\n", 0, 0, false},
		{"not a number", "VmRSS:\t x kB\nVmHWM:\t 2 kB\n", 0, 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			rss, peak, err := parseStatus(c.status)
			if (err == nil) != c.ok || rss != c.rss || peak != c.peak {
				t.Errorf("parseStatus = %d, %d, %v; want %d, %d, error %v", rss, peak, err, c.rss, c.peak, !c.ok)
			}
		})
	}
}
