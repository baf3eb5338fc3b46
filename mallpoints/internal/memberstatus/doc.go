// Package memberstatus answers what a mall's mini-program backend asks of
// a member (GET /api/members/{mall}/{openid}/status): its balance, tier,
// points expiring within 30 days and last sync from the ledger, and two
// states only WeChat Pay knows, asked with the business-circle queries:
// whether the member authorised the points service (商圈会员积分服务授权查询)
// and whether it has payments of today waiting for points
// (商圈会员待积分状态查询). WeChat Pay sends no notification when a member
// withdraws the authorisation, so the query is the only way to notice it.
//
//	svc, err := memberstatus.New(memberstatus.Config{DB: db, Ledger: l, Signers: signers, Rules: current})
//	defer svc.Close()
//	st, err := svc.Lookup(ctx, mall, openid) // at most Config.Wait for WeChat Pay
//
// Both answers are kept on the member's row, shared by every replica, and
// used for Config.CacheFor (the pending-points answer only within its
// Beijing day). A lookup whose answers are older starts the queries and
// waits for them at most Config.Wait; past it, it answers what is kept,
// with its checked_at, and the queries go on to fill the cache.
//
// WeChat Pay limits the authorisation query to 150 calls a second per
// calling merchant, whatever the mall: a provider's thousand malls share
// one limit. Calls are counted per calling merchant, query and tenth of a
// second in the database (storage.TakeQuery), so every replica shares one
// budget, Config.Budget a second (120 by default) taken a tenth at a time:
// whichever second WeChat Pay counts holds at most eleven tenths, 132
// calls, with room below 150 for clocks a fraction of a second apart.
// Lookups may take all of it; the periodic re-check (Recheck) stops at
// half, so lookups always have the rest. A call beyond the budget is not
// made: the lookup answers what is kept.
//
// The re-check keeps the authorisation of members active in the last 30
// days (a payment or an activation) current: each is asked at most once per
// Config.RecheckInterval (7 days by default), the oldest check first. A
// DEAUTHORIZED answer is a withdrawal, which the ledger records with a
// member event; from then on the member's payments earn nothing, until an
// activation or an AUTHORIZED answer.
package memberstatus
