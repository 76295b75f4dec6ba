package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the body under the secret.
const SignatureHeader = "X-Fmsgo-Signature"

// failureLogEvery is how often a URL's failed deliveries are logged, as a count.
const failureLogEvery = 10 * time.Second

// target is one URL and the goroutine that delivers to it. Its fields below the counters are
// owned by that goroutine.
type target struct {
	m      *Module
	url    string
	logURL string // without credentials or secret-looking query values
	q      chan []byte
	// full is signalled (without blocking) by a sender that found q full: a lingering target
	// then posts at once instead of at the end of batch_wait.
	full chan struct{}

	delivered, failed, posts atomic.Uint64

	batch      [][]byte
	body       bytes.Buffer
	unreported uint64 // failed events not logged yet
	lastLog    time.Time
	lastErr    error
	lastPost   time.Time // when the last POST ended
	timer      *time.Timer
}

func newTarget(m *Module, u string) *target {
	return &target{m: m, url: u, logURL: redactURL(u), q: make(chan []byte, m.BatchMax), full: make(chan struct{}, 1)}
}

// run delivers batches until Stop and the queue is empty.
func (t *target) run() {
	defer t.m.wg.Done()
	for t.collect() {
		t.send()
	}
	t.reportFailures(true)
}

// collect waits for the next event and takes what else is queued, up to batch_max; false once
// stopped with nothing left.
func (t *target) collect() bool {
	t.batch = t.batch[:0]
	select {
	case b := <-t.q:
		t.batch = append(t.batch, b)
	case <-t.m.stopC:
		select {
		case b := <-t.q:
			t.batch = append(t.batch, b)
		default:
			return false
		}
	}
	for len(t.batch) < t.m.BatchMax {
		select {
		case b := <-t.q:
			t.batch = append(t.batch, b)
		default:
			t.linger()
			return true
		}
	}
	return true
}

// linger fills the batch further while the last POST ended less than batch_wait ago: sparse
// events go out at once, a burst in few POSTs. It sleeps on the timer alone and then takes what
// was queued meanwhile: waiting on the queue too would wake this goroutine for every event of a
// busy server (a wake-up costs more than the event), unless a sender finds the queue full.
func (t *target) linger() {
	wait := t.m.BatchWait - time.Since(t.lastPost)
	if wait <= 0 || len(t.batch) >= t.m.BatchMax {
		return
	}
	if t.timer == nil {
		t.timer = time.NewTimer(wait)
	} else {
		t.timer.Reset(wait)
	}
	select {
	case <-t.timer.C:
	case <-t.full:
		t.timer.Stop()
	case <-t.m.stopC:
		t.timer.Stop()
	}
	for len(t.batch) < t.m.BatchMax {
		select {
		case b := <-t.q:
			t.batch = append(t.batch, b)
		default:
			return
		}
	}
}

// send posts the batch as one JSON array, retrying what may succeed later.
func (t *target) send() {
	t.body.Reset()
	t.body.WriteByte('[')
	for i, b := range t.batch {
		if i > 0 {
			t.body.WriteByte(',')
		}
		t.body.Write(b)
	}
	t.body.WriteByte(']')
	n := uint64(len(t.batch))
	for attempt := 1; ; attempt++ {
		retry, err := t.post(t.body.Bytes())
		if err == nil {
			t.delivered.Add(n)
			return
		}
		t.lastErr = err
		if !retry || attempt >= t.m.Attempts || t.stopping() || !t.wait(backoff(t.m.Backoff, attempt)) {
			break
		}
	}
	t.failed.Add(n)
	t.unreported += n
	t.reportFailures(false)
}

// post makes one POST; retry says whether the failure may pass.
func (t *target) post(body []byte) (retry bool, err error) {
	t.posts.Add(1)
	req, err := http.NewRequestWithContext(t.m.ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "fmsgo-webhook")
	if len(t.m.secret) > 0 {
		req.Header.Set(SignatureHeader, Sign(t.m.secret, body))
	}
	resp, err := t.m.client.Do(req)
	defer func() { t.lastPost = time.Now() }()
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) { // its text repeats the URL, query included: keep only the cause
			err = ue.Err
		}
		return true, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // so that the connection is reused
	resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return false, nil
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500:
		return true, fmt.Errorf("answered %d", c)
	default:
		return false, fmt.Errorf("answered %d (not retried)", c)
	}
}

// Sign returns the X-Fmsgo-Signature value of body: "sha256=" and the hex HMAC-SHA256 of the
// body under secret. A receiver recomputes it over the raw body and compares with
// hmac.Equal.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func backoff(first time.Duration, attempt int) time.Duration {
	d := first
	for i := 1; i < attempt && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// wait sleeps d before a retry; false if the module stops meanwhile (no more retries then).
func (t *target) wait(d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-t.m.stopC:
		return false
	case <-t.m.ctx.Done():
		return false
	}
}

func (t *target) stopping() bool {
	select {
	case <-t.m.stopC:
		return true
	default:
		return false
	}
}

// reportFailures logs the failed events as one count per failureLogEvery (at once for the
// first, and at the end).
func (t *target) reportFailures(final bool) {
	if t.unreported == 0 || (!final && time.Since(t.lastLog) < failureLogEvery) {
		return
	}
	t.m.log.Warn().Str("url", t.logURL).AnErr("last_error", t.lastErr).Uint64("events_failed", t.unreported).
		Uint64("events_failed_total", t.failed.Load()).Msg("webhook: events not delivered")
	t.unreported, t.lastLog = 0, time.Now()
}
