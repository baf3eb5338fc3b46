// Package rules decides how many points a mall payment earns and how many a
// refund takes back. It is pure: no database, no clock, no I/O but Load.
//
//	set, err := rules.Load("rules.yaml") // or rules.Default(): a point per full yuan
//	out := set.Evaluate(rules.Payment{MchID: mchid, ShopNumber: "S01", Amount: 12345, TimeEnd: t}, earnedToday)
//	// out.Points, out.EarnPoints, out.NoPointsRemarks go into the points sync;
//	// out.RuleVersion goes onto the ledger entry.
//
// # The rules file
//
// docs/rules.md (at the repository's root) is the complete reference, with
// a typical mall's file and worked examples that the tests run. In brief:
//
//	default:                 # applies to every mall; each key optional
//	  min_amount_fen: 100    # fen; a smaller amount earns nothing (remark below_minimum)
//	  fen_per_point: 100     # the base is floor(amount / fen_per_point)
//	  daily_cap: 500         # points per member per mall per Beijing day; 0 = no cap
//	  # also: per_payment_cap, monthly_cap, first_payment_bonus, categories,
//	  # tiers {window_months, levels}, expiry {policy, years|months, start}
//	  shops:                 # rules for single shops, by shop_number
//	    - {shop_number: S01, multiplier: 1.5}
//	    - {shop_number: S09, excluded: true, remark: 超市商品不参与积分}
//	  promotions:            # time-boxed multipliers, in Beijing time
//	    - {name: 双十一, multiplier: 2, start: 2026-11-11, end: 2026-11-11, shops: [S01]}
//	    - {name: 会员日, multiplier: 2, weekdays: [wed]}   # or month_days, categories, tiers
//	  remarks:               # no_points_remarks per reason, <= 128 bytes of UTF-8
//	    {excluded_shop: …, below_minimum: …, daily_cap_reached: …, no_points: …}
//	malls:                   # one entry per mall (sub_mchid in partner mode)
//	  - mchid: "1900000109"
//	    brand_id: 1001       # 品牌ID, for parking sync
//	    app_ids: [wx1234567890abcdef]
//	    # and any key of the default section, which then replaces the default's
//
// A key a mall sets replaces the default section's value whole (lists are
// not merged: a mall's shops or promotions are all it has); a key it leaves
// out is inherited. The four remarks are inherited one by one. A mall the
// file does not name gets the default section.
//
// # Decisions
//
//   - Points: an excluded shop earns nothing; an amount below the minimum
//     earns nothing; else floor(floor(amount / fen_per_point) × shop or
//     category multiplier × best promotion multiplier × tier multiplier),
//     exact (multipliers are decimals of at most four places, computed as
//     integers, never floats); then the per-payment, daily and monthly caps;
//     then the first-payment bonus, kept apart (EvaluateWith).
//   - Overlapping promotions: the highest multiplier applies; they never
//     compound. Ties go to the first by start, end, name.
//   - Promotion times: start inclusive, end exclusive; a date means the
//     whole Beijing day, so start: 2026-11-11, end: 2026-11-11 is that one day.
//   - The daily cap counts the Beijing day of the payment's time_end, not
//     of its arrival (BeijingDay).
//   - Refunds: RefundDeduction takes back floor(E × R ÷ P) in total.
//   - Version: a hash of the normalised rules (MarshalJSON), so comments,
//     layout, key order and the order of malls, shops and promotions do not
//     change it, and any rule change does (and the order of app_ids, whose
//     first is the mall's main AppID).
package rules
