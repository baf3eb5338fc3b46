package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/riverqueue/river"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/crm"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/rules"
	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// Webhook deliveries (docs/webhooks.md). Each event a webhook wants gets a
// delivery row, written in the event's transaction (Publish). A member's
// deliveries to one webhook form a queue in event order, and only its head
// has a job: a WebhookArgs job sends its delivery, and once it is delivered,
// in the same transaction, inserts the job of the member's next one. So a
// member's later event is never sent before its earlier one is delivered;
// a parked head holds the member's later events until it is redelivered;
// other members' queues, and other webhooks', go on. The job that records a
// delivery and the transaction that adds one take the mall's turn
// (storage.Tx.TakeTurn), so whichever commits second sees the other: a new
// event is never left without a job behind a head just delivered.

// WebhookArgs is the job of one delivery: the event numbered Seq to the
// webhook named Webhook, in the delivery's round (redeliveries).
type WebhookArgs struct {
	Webhook string `json:"webhook"`
	Seq     int64  `json:"seq"`
	Round   int    `json:"round,omitempty"`
}

// Kind is the River job kind.
func (WebhookArgs) Kind() string { return "mallpoints.webhook" }

// InsertOpts makes the job unique by its delivery and round.
func (WebhookArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// Publish writes the deliveries of event ev, just written in tx, to the
// webhooks of its mall that want its type, and inserts the job of each
// that heads its member's queue.
func (o *Outbox) Publish(ctx context.Context, tx *storage.Tx, ev storage.Event) error {
	for _, w := range o.rules.Load().Mall(ev.Mall).Webhooks {
		if !w.Wants(ev.Type) {
			continue
		}
		head, err := tx.AddDelivery(ctx, w.Name, ev)
		if err != nil {
			return err
		}
		if head {
			if err := o.Insert(ctx, tx, WebhookArgs{Webhook: w.Name, Seq: ev.Seq}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Redeliver sends webhook's events numbered above after again (of mall, or
// of every mall when ""), keeping their ids, in order per member; a parked
// delivery among them is tried again. The events are those of the malls
// whose webhooks, in the rules in force, include webhook, of the types it
// wants now. It returns how many deliveries were started, one transaction
// per mall.
func (o *Outbox) Redeliver(ctx context.Context, webhook, mall string, after int64) (int64, error) {
	malls := []string{mall}
	if mall == "" {
		var err error
		if malls, err = o.db.EventMalls(ctx); err != nil {
			return 0, err
		}
	}
	set := o.rules.Load()
	var total int64
	for _, m := range malls {
		i := slices.IndexFunc(set.Mall(m).Webhooks, func(w *rules.Webhook) bool { return w.Name == webhook })
		if i < 0 {
			continue
		}
		err := o.db.InTx(ctx, func(tx *storage.Tx) error {
			n, heads, err := tx.Redeliver(ctx, webhook, m, after, set.Mall(m).Webhooks[i].Events)
			if err != nil {
				return err
			}
			total += n
			for _, h := range heads {
				if err := o.Insert(ctx, tx, WebhookArgs{Webhook: h.Webhook, Seq: h.Seq, Round: h.Round}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// webhookWorker works WebhookArgs jobs with the retries and backoff of the
// syncs; after the last attempt the delivery is parked.
type webhookWorker struct {
	river.WorkerDefaults[WebhookArgs]
	cfg Config
	o   *Outbox
}

// Timeout leaves room to record the attempt after the call.
func (w *webhookWorker) Timeout(*river.Job[WebhookArgs]) time.Duration { return w.cfg.JobTimeout }

// errNoWebhook: the rules in force no longer name the delivery's webhook
// for its mall; the delivery is retried, and parked after a day.
var errNoWebhook = errors.New("the rules in force name no such webhook for this mall")

// Work sends one delivery, if it is still pending and heads its queue.
func (w *webhookWorker) Work(ctx context.Context, job *river.Job[WebhookArgs]) error {
	a, db := job.Args, w.cfg.DB
	d, err := db.Delivery(ctx, a.Webhook, a.Seq)
	if errors.Is(err, storage.ErrNotFound) {
		return river.JobCancel(fmt.Errorf("delivery of %s to %s does not exist", storage.EventID(a.Seq), a.Webhook))
	}
	if err != nil {
		return err
	}
	if d.State != storage.DeliveryPending || d.Round != a.Round {
		return nil // done, or replaced by a redelivery's job
	}
	head, err := db.QueueHead(ctx, a.Webhook, d.Mall, d.OpenID)
	if err != nil {
		return err
	}
	if head.Seq != d.Seq {
		// Only after a redelivery made an earlier event pending again: its
		// job inserts this one's when it is delivered. A parked one holds it.
		if head.State == storage.DeliveryParked {
			return nil
		}
		return river.JobSnooze(time.Second)
	}
	status, sendErr := w.send(ctx, d)
	state, problem := storage.DeliveryDelivered, ""
	if sendErr != nil {
		state, problem = storage.DeliveryPending, sendErr.Error()
		if job.Attempt >= job.MaxAttempts {
			state = storage.DeliveryParked
		}
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err = db.InTx(rctx, func(tx *storage.Tx) error {
		if err := tx.TakeTurn(rctx, d.Mall); err != nil {
			return err
		}
		openid, err := tx.RecordDelivery(rctx, a.Webhook, a.Seq, a.Round, status, problem, state)
		if err != nil || state != storage.DeliveryDelivered {
			return err
		}
		next, err := tx.QueueHead(rctx, a.Webhook, d.Mall, openid)
		if errors.Is(err, storage.ErrNotFound) || (err == nil && next.State != storage.DeliveryPending) {
			return nil
		}
		if err != nil {
			return err
		}
		return w.o.Insert(rctx, tx, WebhookArgs{Webhook: next.Webhook, Seq: next.Seq, Round: next.Round})
	})
	if errors.Is(err, storage.ErrNotFound) {
		return nil // a redelivery started another round meanwhile
	}
	if err != nil {
		return fmt.Errorf("record delivery: %w", err)
	}
	log := w.cfg.Logger.With("webhook", a.Webhook, "event", storage.EventID(a.Seq), "mall", d.Mall,
		"attempt", job.Attempt, "status", status)
	switch state {
	case storage.DeliveryDelivered:
		return nil
	case storage.DeliveryParked:
		log.Warn("outbox: webhook delivery parked; the member's later events wait until it is redelivered", "error", problem)
		return river.JobCancel(fmt.Errorf("parked: %s", problem))
	}
	log.Info("outbox: webhook delivery will be retried", "error", problem)
	return fmt.Errorf("webhook %s, %s: %s", a.Webhook, storage.EventID(a.Seq), problem)
}

// send POSTs delivery d's event to its webhook, signed, and returns the
// answer's status (0 when there was none).
func (w *webhookWorker) send(ctx context.Context, d storage.Delivery) (int, error) {
	var hook *rules.Webhook
	for _, h := range w.cfg.Rules.Load().Mall(d.Mall).Webhooks {
		if h.Name == d.Webhook {
			hook = h
		}
	}
	if hook == nil {
		return 0, errNoWebhook
	}
	if hook.Secrets() == nil {
		return 0, crm.ErrNoSecret
	}
	ev, err := w.cfg.DB.Event(ctx, d.Seq)
	if err != nil {
		return 0, err
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return 0, err
	}
	// The call leaves a third of the job's time to record it.
	_, err = w.cfg.CRM.Post(ctx, hook.URL, hook.Secrets(), w.cfg.JobTimeout*2/3, ev.ID, body)
	if se, ok := errors.AsType[*crm.StatusError](err); ok {
		return se.Status, err
	}
	if err != nil {
		return 0, err
	}
	return 200, nil
}
