#include "registry/webhook_dispatcher.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "registry/registry_service.h"
#include "store/metadata_store.h"

namespace cairn::registry {
namespace {

using std::chrono::milliseconds;
using store::Webhook;
using store::WebhookDelivery;

// ------------------------------------------------------------ fake store --
// Only the webhook outbox is implemented: the dispatcher uses nothing else.
class OutboxStore final : public store::RegistryStore {
 public:
  int64_t AddWebhook(std::string url, std::string secret, bool active = true) {
    std::lock_guard<std::mutex> lock(mu_);
    Webhook w;
    w.id = next_webhook_++;
    w.url = std::move(url);
    w.secret = std::move(secret);
    w.active = active;
    webhooks_[w.id] = w;
    return w.id;
  }
  int64_t AddDelivery(int64_t webhook_id, std::string event, std::string payload, int64_t due) {
    std::lock_guard<std::mutex> lock(mu_);
    WebhookDelivery d;
    d.id = next_delivery_++;
    d.webhook_id = webhook_id;
    d.event = std::move(event);
    d.payload = std::move(payload);
    d.next_attempt_at = due;
    d.created_at = due;
    deliveries_[d.id] = d;
    return d.id;
  }
  WebhookDelivery Delivery(int64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    return deliveries_.at(id);
  }
  // Every recorded attempt, in order.
  std::vector<WebhookDelivery> Attempts(int64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<WebhookDelivery> out;
    for (const auto& d : recorded_) {
      if (d.id == id) out.push_back(d);
    }
    return out;
  }

  Result<std::vector<WebhookDelivery>> DueDeliveries(int64_t now, int limit) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<WebhookDelivery> out;
    for (const auto& [id, d] : deliveries_) {
      if (d.status == "pending" && d.next_attempt_at <= now &&
          static_cast<int>(out.size()) < limit) {
        out.push_back(d);
      }
    }
    return out;
  }
  Status RecordDeliveryAttempt(const WebhookDelivery& d) override {
    std::lock_guard<std::mutex> lock(mu_);
    deliveries_[d.id] = d;
    recorded_.push_back(d);
    return {};
  }
  Result<Webhook> GetWebhook(int64_t id) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = webhooks_.find(id);
    if (it == webhooks_.end()) return NotFound("webhook " + std::to_string(id));
    return it->second;
  }

  // ---- unused by the dispatcher
  static std::unexpected<Error> No() { return MakeError(ErrorCode::kUnimplemented, "fake"); }
  Result<store::RegisteredModel> CreateRegisteredModel(const store::RegisteredModel&,
                                                       const store::Actor&) override {
    return No();
  }
  Result<store::RegisteredModel> GetRegisteredModel(const std::string&) override { return No(); }
  Result<store::RegisteredModel> RenameRegisteredModel(const std::string&, const std::string&,
                                                       const store::Actor&) override {
    return No();
  }
  Result<store::RegisteredModel> UpdateRegisteredModel(const std::string&, const std::string&,
                                                       const store::Actor&) override {
    return No();
  }
  Status DeleteRegisteredModel(const std::string&, const store::Actor&) override { return No(); }
  Result<store::RegisteredModelPage> SearchRegisteredModels(const store::RegistryQuery&) override {
    return No();
  }
  Status SetRegisteredModelTag(const std::string&, const store::Tag&,
                               const store::Actor&) override {
    return No();
  }
  Status DeleteRegisteredModelTag(const std::string&, const std::string&,
                                  const store::Actor&) override {
    return No();
  }
  Status SetProtectedTargets(const std::string&, const std::vector<std::string>&,
                             const store::Actor&) override {
    return No();
  }
  Result<std::vector<store::ModelVersion>> GetLatestVersions(
      const std::string&, const std::vector<std::string>&) override {
    return No();
  }
  Result<std::vector<std::vector<store::ModelVersion>>> GetLatestVersionsOf(
      const std::vector<std::string>&) override {
    return No();
  }
  Result<store::ModelVersion> CreateModelVersion(const store::NewModelVersion&, const store::Actor&,
                                                 const store::Event&) override {
    return No();
  }
  Result<store::ModelVersion> GetModelVersion(const std::string&, int64_t) override { return No(); }
  Result<store::ModelVersion> UpdateModelVersion(const std::string&, int64_t,
                                                 const store::ModelVersionUpdate&,
                                                 const store::Actor&) override {
    return No();
  }
  Status DeleteModelVersion(const std::string&, int64_t, const store::Actor&) override {
    return No();
  }
  Result<store::ModelVersionPage> SearchModelVersions(const store::RegistryQuery&) override {
    return No();
  }
  Status SetModelVersionTag(const std::string&, int64_t, const store::Tag&,
                            const store::Actor&) override {
    return No();
  }
  Status DeleteModelVersionTag(const std::string&, int64_t, const std::string&,
                               const store::Actor&) override {
    return No();
  }
  Result<store::ModelVersion> TransitionStage(const std::string&, int64_t, const std::string&, bool,
                                              const store::Actor&, const store::Event&) override {
    return No();
  }
  Status SetAlias(const std::string&, const std::string&, int64_t, const store::Actor&,
                  const store::Event&) override {
    return No();
  }
  Status DeleteAlias(const std::string&, const std::string&, const store::Actor&,
                     const store::Event&) override {
    return No();
  }
  Result<store::ModelVersion> GetVersionByAlias(const std::string&, const std::string&) override {
    return No();
  }
  Result<std::vector<store::AliasHistoryEntry>> GetAliasHistory(const std::string&,
                                                                const std::string&) override {
    return No();
  }
  Status AppendAudit(const store::AuditEntry&) override { return No(); }
  Result<store::AuditPage> SearchAudit(const store::AuditQuery&) override { return No(); }
  Result<store::ApprovalRequest> CreateApproval(const store::ApprovalRequest&, const store::Actor&,
                                                const store::Event&) override {
    return No();
  }
  Result<store::ApprovalRequest> GetApproval(int64_t) override { return No(); }
  Result<std::vector<store::ApprovalRequest>> ListApprovals(const std::string&,
                                                            const std::string&) override {
    return No();
  }
  Result<store::ApprovalRequest> DecideApproval(int64_t, bool, const std::string&,
                                                const store::Actor&, const store::Event&) override {
    return No();
  }
  Result<Webhook> CreateWebhook(const Webhook&, const store::Actor&) override { return No(); }
  Result<std::vector<Webhook>> ListWebhooks(const std::string&) override { return No(); }
  Status DeleteWebhook(int64_t, const store::Actor&) override { return No(); }
  Result<std::vector<WebhookDelivery>> ListDeliveries(int64_t, int64_t) override { return No(); }
  Result<std::vector<store::ModelVersion>> VersionsFromRun(const std::string&) override {
    return No();
  }
  Result<std::vector<store::ModelVersion>> VersionsUsingDataset(const std::string&,
                                                                const std::string&) override {
    return No();
  }

 private:
  std::mutex mu_;
  int64_t next_webhook_ = 1;
  int64_t next_delivery_ = 1;
  std::map<int64_t, Webhook> webhooks_;
  std::map<int64_t, WebhookDelivery> deliveries_;
  std::vector<WebhookDelivery> recorded_;
};

// -------------------------------------------------------- test receiver --
// A tiny HTTP/1.1 receiver on 127.0.0.1: reads one request per connection,
// hands it to `respond` (which returns a status, or 0 to hang without
// answering until the receiver stops), answers and closes.
struct ReceivedRequest {
  std::string request_line;
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string body;
};

class Receiver {
 public:
  explicit Receiver(std::function<int(const ReceivedRequest&)> respond)
      : respond_(std::move(respond)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(fd_, 16);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~Receiver() {
    stop_ = true;
    accept_thread_.join();
    for (auto& t : conn_threads_) t.join();
    close(fd_);
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  std::vector<ReceivedRequest> Requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  int Count() {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(requests_.size());
  }

 private:
  void AcceptLoop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      conn_threads_.emplace_back([this, c] { Serve(c); });
    }
  }
  // Reads until the deadline or stop; false on EOF/stop.
  bool ReadMore(int c, std::string& buf) {
    while (!stop_) {
      pollfd p{c, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      char tmp[4096];
      ssize_t n = read(c, tmp, sizeof(tmp));
      if (n <= 0) return false;
      buf.append(tmp, static_cast<size_t>(n));
      return true;
    }
    return false;
  }
  void Serve(int c) {
    std::string buf;
    size_t header_end;
    while ((header_end = buf.find("\r\n\r\n")) == std::string::npos) {
      if (!ReadMore(c, buf)) {
        close(c);
        return;
      }
    }
    ReceivedRequest r;
    std::string head = buf.substr(0, header_end);
    size_t line_end = head.find("\r\n");
    r.request_line = head.substr(0, line_end);
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      std::string line = head.substr(pos, e - pos);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        r.headers[name] = value;
      }
      pos = e + 2;
    }
    size_t length = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
    r.body = buf.substr(header_end + 4);
    while (r.body.size() < length) {
      std::string more;
      if (!ReadMore(c, more)) break;
      r.body += more;
    }
    int status;
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(r);
    }
    status = respond_(r);
    if (status == 0) {  // hang until stopped
      while (!stop_) std::this_thread::sleep_for(milliseconds(10));
      close(c);
      return;
    }
    std::string resp = "HTTP/1.1 " + std::to_string(status) +
                       " X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    ssize_t ignored = write(c, resp.data(), resp.size());
    (void)ignored;
    close(c);
  }

  std::function<int(const ReceivedRequest&)> respond_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread accept_thread_;
  std::vector<std::thread> conn_threads_;  // only touched by the accept thread, joined after it
  std::mutex mu_;
  std::vector<ReceivedRequest> requests_;
};

// A port nothing listens on.
int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

// ------------------------------------------------------------------ tests --

TEST(WebhookSignature, KnownVector) {
  // RFC 4231 test case 2.
  EXPECT_EQ(WebhookSignature("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(WebhookBackoff, DoublesAndCaps) {
  WebhookDispatcherOptions o;
  o.backoff_base = milliseconds(1000);
  o.backoff_cap = milliseconds(10000);
  EXPECT_EQ(WebhookBackoff(o, 1), milliseconds(1000));
  EXPECT_EQ(WebhookBackoff(o, 2), milliseconds(2000));
  EXPECT_EQ(WebhookBackoff(o, 3), milliseconds(4000));
  EXPECT_EQ(WebhookBackoff(o, 4), milliseconds(8000));
  EXPECT_EQ(WebhookBackoff(o, 5), milliseconds(10000));
  EXPECT_EQ(WebhookBackoff(o, 60), milliseconds(10000));
}

TEST(WebhookDispatcher, SignedDeliveryRetriedUntilReceiverAccepts) {
  const std::string secret = "s3cret";
  std::atomic<int> calls{0};
  std::atomic<int> bad_signatures{0};
  Receiver receiver([&](const ReceivedRequest& r) {
    auto it = r.headers.find("x-cairn-signature");
    if (it == r.headers.end() || it->second != WebhookSignature(secret, r.body)) ++bad_signatures;
    return ++calls <= 2 ? 500 : 200;  // fails twice, then accepts
  });
  OutboxStore store;
  FakeClock clock(1'000'000);
  int64_t hook = store.AddWebhook(receiver.Url(), secret);
  const std::string payload = R"({"event":"alias.set","model_name":"fraud","version":"3"})";
  int64_t id = store.AddDelivery(hook, "alias.set", payload, clock.NowMillis());

  WebhookDispatcher dispatcher(store, clock);
  ASSERT_EQ(dispatcher.DeliverDueNow().value(), 1);
  WebhookDelivery d = store.Delivery(id);
  EXPECT_EQ(d.status, "pending");
  EXPECT_EQ(d.attempts, 1);
  EXPECT_EQ(d.last_http_status, 500);
  EXPECT_EQ(d.last_error, "HTTP 500");
  EXPECT_EQ(d.next_attempt_at, 1'000'000 + 1000);

  // Not due yet: nothing is sent.
  EXPECT_EQ(dispatcher.DeliverDueNow().value(), 0);
  EXPECT_EQ(calls.load(), 1);

  clock.Advance(1000);
  ASSERT_EQ(dispatcher.DeliverDueNow().value(), 1);
  d = store.Delivery(id);
  EXPECT_EQ(d.attempts, 2);
  EXPECT_EQ(d.next_attempt_at, 1'001'000 + 2000);

  clock.Advance(2000);
  ASSERT_EQ(dispatcher.DeliverDueNow().value(), 1);
  d = store.Delivery(id);
  EXPECT_EQ(d.status, "delivered");
  EXPECT_EQ(d.attempts, 3);
  EXPECT_EQ(d.last_http_status, 200);
  EXPECT_EQ(d.delivered_at, 1'003'000);
  EXPECT_EQ(d.last_error, "");
  EXPECT_EQ(store.Attempts(id).size(), 3u);

  clock.Advance(100000);
  EXPECT_EQ(dispatcher.DeliverDueNow().value(), 0);  // delivered once, never again

  auto requests = receiver.Requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(bad_signatures.load(), 0);
  const ReceivedRequest& r = requests[0];
  EXPECT_EQ(r.request_line, "POST /hook HTTP/1.1");
  EXPECT_EQ(r.body, payload);
  EXPECT_EQ(r.headers.at("content-type"), "application/json");
  EXPECT_EQ(r.headers.at("x-cairn-event"), "alias.set");
  EXPECT_EQ(r.headers.at("x-cairn-delivery"), std::to_string(id));
  EXPECT_EQ(r.headers.at("x-cairn-signature"), WebhookSignature(secret, payload));
}

TEST(WebhookDispatcher, ReceiverDownBacksOffThenFails) {
  OutboxStore store;
  FakeClock clock(5'000'000);
  int64_t hook = store.AddWebhook("http://127.0.0.1:" + std::to_string(ClosedPort()) + "/x", "k");
  int64_t id = store.AddDelivery(hook, "model_version.created", "{}", clock.NowMillis());
  WebhookDispatcherOptions o;  // defaults: 8 attempts, 1 s base
  WebhookDispatcher dispatcher(store, clock, o);
  std::vector<int64_t> delays;
  for (int attempt = 1; attempt <= 8; ++attempt) {
    ASSERT_EQ(dispatcher.DeliverDueNow().value(), 1) << attempt;
    WebhookDelivery d = store.Delivery(id);
    EXPECT_EQ(d.attempts, attempt);
    EXPECT_EQ(d.last_http_status, 0);
    EXPECT_FALSE(d.last_error.empty());
    if (attempt < 8) {
      EXPECT_EQ(d.status, "pending");
      delays.push_back(d.next_attempt_at - clock.NowMillis());
      clock.Set(d.next_attempt_at);
    } else {
      EXPECT_EQ(d.status, "failed");
    }
  }
  EXPECT_EQ(delays, (std::vector<int64_t>{1000, 2000, 4000, 8000, 16000, 32000, 64000}));
  EXPECT_EQ(store.Attempts(id).size(), 8u);
  clock.Advance(10'000'000);
  EXPECT_EQ(dispatcher.DeliverDueNow().value(), 0);
}

TEST(WebhookDispatcher, DeletedOrInactiveWebhookFailsWithoutSending) {
  OutboxStore store;
  FakeClock clock;
  int64_t inactive = store.AddWebhook("http://127.0.0.1:1/x", "k", /*active=*/false);
  int64_t a = store.AddDelivery(inactive, "alias.set", "{}", clock.NowMillis());
  int64_t b = store.AddDelivery(999, "alias.set", "{}", clock.NowMillis());
  WebhookDispatcher dispatcher(store, clock);
  EXPECT_EQ(dispatcher.DeliverDueNow().value(), 0);
  EXPECT_EQ(store.Delivery(a).status, "failed");
  EXPECT_EQ(store.Delivery(a).attempts, 0);
  EXPECT_NE(store.Delivery(a).last_error.find("inactive"), std::string::npos);
  EXPECT_EQ(store.Delivery(b).status, "failed");
  EXPECT_NE(store.Delivery(b).last_error.find("no longer exists"), std::string::npos);
}

TEST(WebhookDispatcher, HangingReceiverDoesNotDelayOthersAndStopIsPrompt) {
  Receiver slow([](const ReceivedRequest&) { return 0; });  // never answers
  std::atomic<int> fast_calls{0};
  Receiver fast([&](const ReceivedRequest&) {
    ++fast_calls;
    return 204;
  });
  OutboxStore store;
  FakeClock clock;
  int64_t slow_hook = store.AddWebhook(slow.Url(), "a");
  int64_t fast_hook = store.AddWebhook(fast.Url(), "b");
  // The slow receiver's deliveries come first (oldest first).
  int64_t s1 = store.AddDelivery(slow_hook, "alias.set", "{}", clock.NowMillis());
  store.AddDelivery(slow_hook, "alias.set", "{}", clock.NowMillis());
  WebhookDispatcherOptions o;
  o.poll_interval = milliseconds(50);
  WebhookDispatcher dispatcher(store, clock, o);
  dispatcher.Start();

  // Give the slow transfers time to start, then add a fast delivery.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (slow.Count() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  ASSERT_EQ(slow.Count(), 2);
  int64_t f = store.AddDelivery(fast_hook, "alias.set", "{}", clock.NowMillis());
  auto t0 = std::chrono::steady_clock::now();
  dispatcher.Notify();
  while (store.Delivery(f).status != "delivered" &&
         std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3)) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_EQ(store.Delivery(f).status, "delivered");
  EXPECT_EQ(store.Delivery(f).last_http_status, 204);
  // Well within the 5 s timeout of the hanging transfers.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(1500));
  EXPECT_EQ(fast_calls.load(), 1);
  EXPECT_EQ(store.Delivery(s1).attempts, 0);  // still in flight

  auto stop_start = std::chrono::steady_clock::now();
  dispatcher.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - stop_start, milliseconds(1000));
  // Abandoned, not failed: it will be sent again.
  EXPECT_EQ(store.Delivery(s1).status, "pending");
  EXPECT_EQ(store.Delivery(s1).attempts, 0);
}

TEST(WebhookDispatcher, TimeoutIsRecordedAsNoAnswer) {
  Receiver slow([](const ReceivedRequest&) { return 0; });
  OutboxStore store;
  FakeClock clock;
  int64_t hook = store.AddWebhook(slow.Url(), "a");
  int64_t id = store.AddDelivery(hook, "alias.set", "{}", clock.NowMillis());
  WebhookDispatcherOptions o;
  o.request_timeout = milliseconds(200);
  WebhookDispatcher dispatcher(store, clock, o);
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(dispatcher.DeliverDueNow().value(), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(2000));
  WebhookDelivery d = store.Delivery(id);
  EXPECT_EQ(d.status, "pending");
  EXPECT_EQ(d.attempts, 1);
  EXPECT_EQ(d.last_http_status, 0);
  EXPECT_NE(d.last_error.find("timed out"), std::string::npos) << d.last_error;
}

TEST(WebhookDispatcher, BackgroundThreadRetriesOnItsOwn) {
  std::atomic<int> calls{0};
  Receiver receiver([&](const ReceivedRequest&) { return ++calls == 1 ? 503 : 200; });
  OutboxStore store;
  SystemClock& clock = SystemClock::Get();
  int64_t hook = store.AddWebhook(receiver.Url(), "k");
  int64_t id = store.AddDelivery(hook, "alias.set", "{}", clock.NowMillis());
  WebhookDispatcherOptions o;
  o.backoff_base = milliseconds(50);
  o.poll_interval = milliseconds(20);
  WebhookDispatcher dispatcher(store, clock, o);
  dispatcher.Start();
  auto t0 = std::chrono::steady_clock::now();
  while (store.Delivery(id).status != "delivered" &&
         std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5)) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  dispatcher.Stop();
  EXPECT_EQ(store.Delivery(id).status, "delivered");
  EXPECT_EQ(store.Delivery(id).attempts, 2);
  EXPECT_EQ(calls.load(), 2);
}

// End to end over the real SQL outbox: a registry mutation enqueues a
// delivery in its transaction; the dispatcher sends it, signed, and records it.
TEST(WebhookDispatcher, DeliversSqlOutboxRows) {
  const std::string secret = "e2e-secret";
  std::atomic<int> bad_signatures{0};
  Receiver receiver([&](const ReceivedRequest& r) {
    if (r.headers.at("x-cairn-signature") != WebhookSignature(secret, r.body)) ++bad_signatures;
    return 200;
  });
  auto opened = store::OpenMetadataStore("sqlite:///:memory:");
  ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
  std::unique_ptr<store::MetadataStore> db = std::move(*opened);
  ASSERT_TRUE(db->Migrate().has_value());
  FakeClock clock;
  WebhookDispatcher dispatcher(db->registry(), clock);
  int notified = 0;
  RegistryService service(*db, nullptr, "mlflow-artifacts:/", clock, [&] { ++notified; });
  ASSERT_TRUE(service.CreateRegisteredModel("fraud", "", {}, "alice").has_value());
  store::Webhook w;
  w.model_name = "fraud";
  w.url = receiver.Url();
  w.secret = secret;
  w.events = {"alias.set"};
  auto hook = service.CreateWebhook(w, "alice");
  ASSERT_TRUE(hook.has_value()) << hook.error().ToString();
  CreateVersionRequest v;
  v.name = "fraud";
  v.source = "s3://bucket/fraud";
  ASSERT_TRUE(service.CreateModelVersion(v, "alice").has_value());
  ASSERT_TRUE(service.SetAlias("fraud", "champion", 1, "bob").has_value());
  EXPECT_GE(notified, 2);

  ASSERT_EQ(dispatcher.DeliverDueNow().value(), 1);  // only alias.set is subscribed
  auto requests = receiver.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(bad_signatures.load(), 0);
  EXPECT_EQ(requests[0].headers.at("x-cairn-event"), "alias.set");
  EXPECT_NE(requests[0].body.find("\"alias\":\"champion\""), std::string::npos) << requests[0].body;
  EXPECT_NE(requests[0].body.find("\"actor\":\"bob\""), std::string::npos);
  auto deliveries = service.ListDeliveries(hook->id, 10);
  ASSERT_TRUE(deliveries.has_value()) << deliveries.error().ToString();
  ASSERT_EQ(deliveries->size(), 1u);
  EXPECT_EQ((*deliveries)[0].status, "delivered");
  EXPECT_EQ((*deliveries)[0].attempts, 1);
  EXPECT_EQ((*deliveries)[0].last_http_status, 200);
  EXPECT_EQ(requests[0].headers.at("x-cairn-delivery"), std::to_string((*deliveries)[0].id));
  EXPECT_EQ(dispatcher.DeliverDueNow().value(), 0);
}

}  // namespace
}  // namespace cairn::registry
