package delivery_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/seed2ac2593f/wxpay/internal/delivery"
)

// A merchant whose first answer is a failure gets the notification again
// after the first wait of the schedule.
func ExampleQueue() {
	var calls atomic.Int32
	merchant := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"code":"FAIL","message":"失败"}`)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer merchant.Close()

	schedule, _ := delivery.ParseSchedule("10ms,10ms")
	q := delivery.New(delivery.Config{Schedule: schedule})
	defer q.Close()
	q.Enqueue(delivery.Message{
		ID:        "EV-2018022511223320873",
		EventType: "MALL_TRANSACTION.SUCCESS",
		URL:       merchant.URL + "/wechatpay/notify",
		Build: func(attempt int) (http.Header, []byte, error) {
			// The sandbox signs every attempt afresh here.
			return http.Header{"Wechatpay-Nonce": {fmt.Sprint("nonce-", attempt)}}, []byte(`{"id":"EV-2018022511223320873"}`), nil
		},
	})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rec, err := q.Wait(ctx, "EV-2018022511223320873", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rec.State)
	for _, a := range rec.Attempts {
		line := fmt.Sprintf("attempt %d: %d", a.N, a.Status)
		if a.Error != "" {
			line += " (" + a.Error + ")"
		}
		fmt.Println(line)
	}
	// Output:
	// delivered
	// attempt 1: 500 (answered 500: FAIL: 失败)
	// attempt 2: 204
}

func ExampleParseSchedule() {
	s, err := delivery.ParseSchedule("15s,15s,30s,3m")
	fmt.Println(s, err)
	_, err = delivery.ParseSchedule("15s,3")
	fmt.Println(err)
	// Output:
	// [15s 15s 30s 3m0s] <nil>
	// delivery: retry schedule item 2 "3": time: missing unit in duration "3"
}

func ExampleDefaultSchedule() {
	var total time.Duration
	for _, d := range delivery.DefaultSchedule() {
		total += d
	}
	fmt.Println(len(delivery.DefaultSchedule()), "retries over", total)
	// Output: 15 retries over 24h4m0s
}
