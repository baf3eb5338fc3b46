package rules

import "math/bits"

// RefundDeduction returns the points one refund deducts from a payment of
// paid fen that earned earned points, after earlier refunds of that payment
// summing refundedBefore fen and this refund of refund fen:
//
//	floor(earned × (refundedBefore + refund) / paid) − floor(earned × refundedBefore / paid)
//
// Deducting the difference of running totals, rather than each refund's own
// share, makes the deductions of any sequence of refunds add up to exactly
// floor(earned × total refunded / paid): three refunds of 100 on 300 that
// earned 10 deduct 3, 3 and 4, and a full refund takes back every point.
//
// Inputs out of range are clamped, never trusted: negative values count as
// 0, refundedBefore as at most paid, and refund as at most what is left of
// paid, since WeChat Pay cannot refund more than was paid. With paid or
// earned not positive nothing is deducted. The products are computed in 128
// bits, so no input overflows.
func RefundDeduction(earned, paid, refundedBefore, refund int64) int64 {
	if earned <= 0 || paid <= 0 {
		return 0
	}
	before := min(max(refundedBefore, 0), paid)
	refund = min(max(refund, 0), paid-before)
	return mulDiv(earned, before+refund, paid) - mulDiv(earned, before, paid)
}

// mulDiv is floor(a × b / c) for 0 ≤ b ≤ c, 0 < c, 0 ≤ a: the quotient is at
// most a, so it fits, and bits.Div64 cannot panic (hi < c follows from it).
func mulDiv(a, b, c int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	q, _ := bits.Div64(hi, lo, uint64(c))
	return int64(q)
}
