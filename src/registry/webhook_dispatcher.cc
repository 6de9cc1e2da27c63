#include "registry/webhook_dispatcher.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "core/log.h"

namespace cairn::registry {
namespace {

void GlobalCurlInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t DiscardBody(char*, size_t size, size_t nmemb, void*) { return size * nmemb; }

}  // namespace

std::string WebhookSignature(std::string_view secret, std::string_view body) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), md, &md_len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256=";
  for (unsigned int i = 0; i < md_len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

std::chrono::milliseconds WebhookBackoff(const WebhookDispatcherOptions& o, int attempt) {
  int64_t delay = o.backoff_base.count();
  for (int i = 1; i < attempt && delay < o.backoff_cap.count(); ++i) delay *= 2;
  return std::chrono::milliseconds(std::min<int64_t>(delay, o.backoff_cap.count()));
}

// ----------------------------------------------------------------- engine --

struct Transfer {
  store::WebhookDelivery delivery;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string body;
  char error[CURL_ERROR_SIZE] = {};
};

struct WebhookDispatcher::Engine {
  CURLM* multi = nullptr;
  std::map<CURL*, std::unique_ptr<Transfer>> transfers;
  std::map<int64_t, int> per_webhook;  // webhook id -> transfers in flight

  Engine() { multi = curl_multi_init(); }
  ~Engine() {
    AbandonAll();
    curl_multi_cleanup(multi);
  }

  void Release(CURL* easy) {
    auto it = transfers.find(easy);
    if (it == transfers.end()) return;
    curl_multi_remove_handle(multi, easy);
    curl_easy_cleanup(easy);
    curl_slist_free_all(it->second->headers);
    if (--per_webhook[it->second->delivery.webhook_id] <= 0) {
      per_webhook.erase(it->second->delivery.webhook_id);
    }
    transfers.erase(it);
  }

  void AbandonAll() {
    while (!transfers.empty()) Release(transfers.begin()->first);
  }
};

// -------------------------------------------------------------- dispatcher --

namespace {

// Adds one transfer for `d` to `webhook.url`.
Status StartTransfer(CURLM* multi, std::map<CURL*, std::unique_ptr<Transfer>>& transfers,
                     const store::WebhookDelivery& d, const store::Webhook& webhook,
                     const WebhookDispatcherOptions& o) {
  auto t = std::make_unique<Transfer>();
  t->delivery = d;
  t->body = d.payload;
  t->easy = curl_easy_init();
  if (t->easy == nullptr) return Internal("curl_easy_init failed");
  CURL* e = t->easy;
  t->headers = curl_slist_append(t->headers, "Content-Type: application/json");
  t->headers = curl_slist_append(t->headers, ("X-Cairn-Event: " + d.event).c_str());
  t->headers = curl_slist_append(t->headers, ("X-Cairn-Delivery: " + std::to_string(d.id)).c_str());
  t->headers = curl_slist_append(
      t->headers, ("X-Cairn-Signature: " + WebhookSignature(webhook.secret, t->body)).c_str());
  // An empty Expect avoids curl's "100-continue" round trip on larger bodies.
  t->headers = curl_slist_append(t->headers, "Expect:");
  curl_easy_setopt(e, CURLOPT_URL, webhook.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body.data());
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t->body.size()));
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "cairn-webhooks/1");
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(o.request_timeout.count()));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.request_timeout.count()));
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, DiscardBody);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
  if (curl_multi_add_handle(multi, e) != CURLM_OK) {
    curl_slist_free_all(t->headers);
    curl_easy_cleanup(e);
    return Internal("curl_multi_add_handle failed");
  }
  transfers.emplace(e, std::move(t));
  return {};
}

}  // namespace

WebhookDispatcher::WebhookDispatcher(store::RegistryStore& store, const Clock& clock,
                                     WebhookDispatcherOptions options)
    : store_(store), clock_(clock), options_(std::move(options)) {
  GlobalCurlInit();
  engine_ = std::make_unique<Engine>();
}

WebhookDispatcher::~WebhookDispatcher() { Stop(); }

void WebhookDispatcher::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void WebhookDispatcher::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!thread_.joinable()) return;
  stop_ = true;
  curl_multi_wakeup(engine_->multi);
  thread_.join();
  // Abandoned transfers stay pending in the store; they are sent again later.
  engine_->AbandonAll();
}

void WebhookDispatcher::Notify() {
  notified_ = true;
  curl_multi_wakeup(engine_->multi);
}

namespace {

// Records the outcome of one finished transfer.
void Complete(store::RegistryStore& store, const Clock& clock, const WebhookDispatcherOptions& o,
              Transfer& t, CURLcode result) {
  store::WebhookDelivery d = t.delivery;
  long code = 0;
  curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &code);
  int64_t now = clock.NowMillis();
  d.attempts += 1;
  d.last_http_status = static_cast<int>(code);
  if (result == CURLE_OK && code >= 200 && code < 300) {
    d.status = "delivered";
    d.delivered_at = now;
    d.last_error.clear();
  } else {
    if (result != CURLE_OK) {
      d.last_error = t.error[0] != '\0' ? std::string(t.error) : curl_easy_strerror(result);
    } else {
      d.last_error = "HTTP " + std::to_string(code);
    }
    if (d.attempts >= o.max_attempts) {
      d.status = "failed";
    } else {
      d.status = "pending";
      d.next_attempt_at = now + WebhookBackoff(o, d.attempts).count();
    }
  }
  if (auto s = store.RecordDeliveryAttempt(d); !s) {
    CAIRN_LOG_WARN("webhook delivery record failed delivery={} error={}", d.id,
                   s.error().ToString());
  }
}

// Fetches due deliveries and starts their transfers. Returns how many started.
Result<int> EnqueueDue(store::RegistryStore& store, const Clock& clock,
                       const WebhookDispatcherOptions& o, CURLM* multi,
                       std::map<CURL*, std::unique_ptr<Transfer>>& transfers,
                       std::map<int64_t, int>& per_webhook) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<store::WebhookDelivery> due,
                         store.DueDeliveries(clock.NowMillis(), o.batch_size));
  std::map<int64_t, std::optional<store::Webhook>> webhooks;  // this round's lookups
  int started = 0;
  for (const store::WebhookDelivery& d : due) {
    bool in_flight = false;
    for (const auto& [easy, t] : transfers) in_flight = in_flight || t->delivery.id == d.id;
    if (in_flight) continue;
    if (per_webhook[d.webhook_id] >= o.max_in_flight_per_webhook) continue;
    auto it = webhooks.find(d.webhook_id);
    if (it == webhooks.end()) {
      auto w = store.GetWebhook(d.webhook_id);
      if (!w && w.error().code() != ErrorCode::kNotFound) return std::unexpected(w.error());
      it = webhooks.emplace(d.webhook_id, w ? std::optional<store::Webhook>(*w) : std::nullopt)
               .first;
    }
    if (!it->second || !it->second->active) {
      store::WebhookDelivery failed = d;
      failed.status = "failed";
      failed.last_error = "webhook " + std::to_string(d.webhook_id) +
                          (it->second ? " is inactive" : " no longer exists");
      CAIRN_RETURN_IF_ERROR(store.RecordDeliveryAttempt(failed));
      continue;
    }
    CAIRN_RETURN_IF_ERROR(StartTransfer(multi, transfers, d, *it->second, o));
    ++per_webhook[d.webhook_id];
    ++started;
  }
  return started;
}

// Drives transfers, records the finished ones, and waits up to `wait` for
// activity (or a wakeup).
void DriveTransfers(store::RegistryStore& store, const Clock& clock,
                    const WebhookDispatcherOptions& o, CURLM* multi,
                    std::map<CURL*, std::unique_ptr<Transfer>>& transfers,
                    const std::function<void(CURL*)>& release, std::chrono::milliseconds wait) {
  int running = 0;
  curl_multi_perform(multi, &running);
  int queued = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* easy = msg->easy_handle;
    CURLcode result = msg->data.result;
    auto it = transfers.find(easy);
    if (it == transfers.end()) continue;
    Complete(store, clock, o, *it->second, result);
    release(easy);
  }
  curl_multi_poll(multi, nullptr, 0, static_cast<int>(wait.count()), nullptr);
}

}  // namespace

void WebhookDispatcher::Run() {
  Engine& en = *engine_;
  auto release = [&en](CURL* easy) { en.Release(easy); };
  while (!stop_) {
    auto enqueued = EnqueueDue(store_, clock_, options_, en.multi, en.transfers, en.per_webhook);
    if (!enqueued) {
      CAIRN_LOG_WARN("webhook dispatcher poll failed error={}", enqueued.error().ToString());
    }
    auto next_poll = std::chrono::steady_clock::now() + options_.poll_interval;
    while (!stop_ && !notified_.exchange(false)) {
      auto now = std::chrono::steady_clock::now();
      if (now >= next_poll) break;
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_poll - now);
      DriveTransfers(store_, clock_, options_, en.multi, en.transfers, release,
                     std::max(wait, std::chrono::milliseconds(1)));
    }
  }
}

Result<int> WebhookDispatcher::DeliverDueNow() {
  Engine& en = *engine_;
  auto release = [&en](CURL* easy) { en.Release(easy); };
  CAIRN_ASSIGN_OR_RETURN(
      int started, EnqueueDue(store_, clock_, options_, en.multi, en.transfers, en.per_webhook));
  while (!en.transfers.empty()) {
    DriveTransfers(store_, clock_, options_, en.multi, en.transfers, release,
                   std::chrono::milliseconds(50));
  }
  return started;
}

}  // namespace cairn::registry
