package memberstatus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/businesscircle"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

var (
	// errBudgetSpent: the calling merchant's budget of this tenth is
	// spent; the query was not made.
	errBudgetSpent = errors.New("memberstatus: this tenth of a second's query budget is spent")
	// errNoAppID: neither the member nor its mall's rules give an app id,
	// which both queries name.
	errNoAppID = errors.New("memberstatus: no app id for the member: none recorded, and the mall's rules list no app_ids")
	// errNoBrand: the mall's rules give no brand_id, which the
	// pending-points query names.
	errNoBrand = errors.New("memberstatus: the mall's rules give no brand_id")
)

// appID is the mini program a query about m names: the member's own, else
// its mall's main AppID from the rules.
func (s *Service) appID(m storage.Member) string {
	if m.AppID != "" {
		return m.AppID
	}
	if ids := s.cfg.Rules.Load().Mall(m.Mall).AppIDs; len(ids) > 0 {
		return ids[0]
	}
	return ""
}

// WeChat Pay limits a query to 150 calls a second without saying where its
// seconds begin. Counted per second, a budget of 120 could put 240 calls
// into one of WeChat Pay's seconds (120 at the end of one of ours, 120 at
// the start of the next). The budget is counted per tenth of a second
// instead, a tenth of it in each: any second, wherever it begins, overlaps
// at most eleven tenths, so it holds at most 1.1 times the budget (132 for
// the default 120).
const tenth = 100 * time.Millisecond

// tenthOf is the tenth of a second t falls in, since the Unix epoch.
func tenthOf(t time.Time) int64 { return t.UnixMilli() / tenth.Milliseconds() }

// perTenth is the calls a tenth of a second of a budget of perSecond.
func perTenth(perSecond int) int { return perSecond / int(time.Second/tenth) }

// take counts one call of query by the merchant that signs mall's calls,
// under limit calls a second, and returns its client and the sub_mchid to
// name.
func (s *Service) take(ctx context.Context, query, mall string, limit int) (*wxpay.Client, string, error) {
	client, sub, err := s.cfg.Signers.ClientFor(ctx, mall)
	if err != nil {
		s.cfg.OnQuery(query, OutcomeNotSent)
		return nil, "", fmt.Errorf("memberstatus: no client for mall %s: %w", mall, err)
	}
	ok, err := s.cfg.DB.TakeQuery(ctx, client.MchID(), query, tenthOf(time.Now()), perTenth(limit))
	if err != nil {
		return nil, "", err
	}
	if !ok {
		s.cfg.OnQuery(query, OutcomeBudgetSpent)
		return nil, "", errBudgetSpent
	}
	return client, sub, nil
}

// askAuthorization asks WeChat Pay whether m authorised the points
// service, within limit calls a second, and records the answer with the
// ledger (a withdrawal, or its end, is a member event). It returns the
// state answered.
func (s *Service) askAuthorization(ctx context.Context, m storage.Member, limit int) (string, error) {
	appid := s.appID(m)
	if appid == "" {
		s.cfg.OnQuery(QueryAuthorization, OutcomeNotSent)
		return "", errNoAppID
	}
	at := s.cfg.Now()
	client, sub, err := s.take(ctx, QueryAuthorization, m.Mall, limit)
	if err != nil {
		return "", err
	}
	a, _, err := businesscircle.New(client).Businesscircle.UserAuthorizations.Get(ctx, m.OpenID,
		businesscircle.UserAuthorizationQuery{SubMchID: sub, AppID: appid})
	if err != nil {
		s.cfg.OnQuery(QueryAuthorization, OutcomeError)
		s.cfg.Logger.Info("memberstatus: the authorisation query failed", "mall", m.Mall, "error", err)
		return "", err
	}
	state := string(a.AuthorizeState)
	if _, err := s.cfg.Ledger.NoteAuthorization(ctx, m.Mall, m.OpenID, state, at); err != nil {
		return "", err
	}
	s.cfg.OnQuery(QueryAuthorization, OutcomeOK)
	return state, nil
}

// askCommitStatus asks WeChat Pay whether m has payments of today waiting
// for points, within limit calls a second, and records the answer. The
// query needs the mall's brand_id.
func (s *Service) askCommitStatus(ctx context.Context, m storage.Member, limit int) error {
	appid, brand := s.appID(m), s.cfg.Rules.Load().Mall(m.Mall).BrandID
	if appid == "" || brand <= 0 {
		s.cfg.OnQuery(QueryCommitStatus, OutcomeNotSent)
		if brand <= 0 {
			return errNoBrand
		}
		return errNoAppID
	}
	at := s.cfg.Now()
	client, sub, err := s.take(ctx, QueryCommitStatus, m.Mall, limit)
	if err != nil {
		return err
	}
	res, _, err := businesscircle.New(client).Businesscircle.Users.Points.CommitStatus.Get(ctx, m.OpenID,
		businesscircle.CommitStatusQuery{SubMchID: sub, BrandID: brand, AppID: appid})
	if err != nil {
		s.cfg.OnQuery(QueryCommitStatus, OutcomeError)
		s.cfg.Logger.Info("memberstatus: the pending-points query failed", "mall", m.Mall, "error", err)
		return err
	}
	if err := s.cfg.DB.SetCommitStatus(ctx, m.Mall, m.OpenID, string(res.PointsCommitStatus), at); err != nil {
		return err
	}
	s.cfg.OnQuery(QueryCommitStatus, OutcomeOK)
	return nil
}

// Authorization is the authorisation state of member (mall, openid) now,
// for a points sync WeChat Pay refused: asked afresh (appid, the sync's,
// names the mini program), else, when the query cannot be made or fails,
// the last answer if younger than Config.CacheFor. WeChat Pay does not
// document the refusal of a withdrawn member's sync, so its code is not
// trusted: the query says why.
func (s *Service) Authorization(ctx context.Context, mall, openid, appid string) (string, error) {
	m, err := s.cfg.DB.Member(ctx, mall, openid)
	if err != nil {
		return "", err
	}
	if appid != "" {
		m.AppID = appid
	}
	state, err := s.askAuthorization(ctx, m, s.cfg.Budget)
	if err == nil {
		return state, nil
	}
	if fresh(m.AuthorizeCheckedAt, s.cfg.Now(), s.cfg.CacheFor) {
		return m.AuthorizeState, nil
	}
	return "", err
}
