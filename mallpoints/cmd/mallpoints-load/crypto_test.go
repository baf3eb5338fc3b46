package main

import "testing"

func TestTheCryptoBaselineCountsOneSignTwoVerifiesAndOneDecryption(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("makes a 2048-bit key and runs three benchmarks")
	}
	c := measureCrypto()
	if c.sign <= 0 || c.verify <= 0 || c.open <= 0 {
		t.Fatalf("an operation was not measured: %+v", c)
	}
	if c.total() != c.sign+2*c.verify+c.open {
		t.Errorf("total %v is not one sign, two verifies and one open of %+v", c.total(), c)
	}
}
