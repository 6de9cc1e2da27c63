#pragma once
// WebhookDispatcher: sends the registry's webhook outbox (store rows created
// in each mutation's transaction, see store/registry_store.h) to the
// subscribers, off the request path.
//
// A background thread polls RegistryStore::DueDeliveries every
// poll_interval (or at once after Notify()), and POSTs each due delivery's
// payload to its webhook's URL with libcurl's multi interface, so every
// transfer runs concurrently: a slow or hanging receiver delays only its own
// deliveries (at most max_in_flight_per_webhook of them are in flight per
// webhook; the others wait their turn). Each request carries
//   Content-Type: application/json
//   X-Cairn-Event: <event name>
//   X-Cairn-Delivery: <delivery id>
//   X-Cairn-Signature: sha256=<hex HMAC-SHA256(webhook secret, body)>
// and has request_timeout (5 s) to complete. A 2xx answer delivers it;
// anything else (other status, refused connection, timeout) is retried after
// backoff_base * 2^(attempt-1), capped at backoff_cap, until max_attempts
// (8) attempts, after which the delivery is "failed". Every attempt is
// recorded with RecordDeliveryAttempt (attempts, last_http_status: 0 when
// there was no answer, last_error, next_attempt_at, delivered_at). A
// delivery whose webhook no longer exists or is inactive is marked "failed"
// without sending.
//
// Delivery is at least once: a delivery in flight when the dispatcher stops
// (or the process dies) stays pending and is sent again later, so receivers
// should de-duplicate on X-Cairn-Delivery.
//
// Time: due times and recorded times come from the injected Clock (tests
// use FakeClock and DeliverDueNow() to run rounds without sleeping); the
// poll interval and the HTTP timeout are real time.
//
// Thread safety: Start/Stop/Notify may be called from any thread. Stop()
// returns promptly (it abandons transfers in flight) and is idempotent;
// the destructor stops. DeliverDueNow() must not be called while started.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "core/clock.h"
#include "core/error.h"
#include "store/registry_store.h"

namespace cairn::registry {

struct WebhookDispatcherOptions {
  int max_attempts = 8;
  std::chrono::milliseconds backoff_base{1000};
  std::chrono::milliseconds backoff_cap{std::chrono::minutes(5)};
  std::chrono::milliseconds request_timeout{5000};
  std::chrono::milliseconds poll_interval{1000};
  int batch_size = 256;  // deliveries fetched per poll
  int max_in_flight_per_webhook = 4;
};

// "sha256=" + lowercase hex HMAC-SHA256 of `body` keyed by `secret`.
std::string WebhookSignature(std::string_view secret, std::string_view body);

// The delay before the retry that follows failed attempt `attempt` (1-based):
// base * 2^(attempt-1), at most cap.
std::chrono::milliseconds WebhookBackoff(const WebhookDispatcherOptions& o, int attempt);

class WebhookDispatcher {
 public:
  WebhookDispatcher(store::RegistryStore& store, const Clock& clock,
                    WebhookDispatcherOptions options = {});
  ~WebhookDispatcher();
  WebhookDispatcher(const WebhookDispatcher&) = delete;
  WebhookDispatcher& operator=(const WebhookDispatcher&) = delete;

  // Starts the background thread (no-op when started).
  void Start();
  // Stops it; transfers in flight are abandoned and stay pending.
  void Stop();
  // Wakes the thread to poll now (call after a mutation that emitted events).
  void Notify();

  // One synchronous round on the caller's thread: fetches the deliveries
  // due now, sends them all concurrently, records each outcome, and returns
  // how many were attempted. Store errors pass through.
  Result<int> DeliverDueNow();

 private:
  struct Engine;  // curl multi state, owned by whichever thread runs rounds

  void Run();

  store::RegistryStore& store_;
  const Clock& clock_;
  WebhookDispatcherOptions options_;
  std::unique_ptr<Engine> engine_;
  std::mutex mu_;  // guards thread_ start/stop
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> notified_{false};
};

}  // namespace cairn::registry
