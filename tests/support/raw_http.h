#pragma once
// A minimal blocking HTTP/1.1 client for tests that need what the real
// clients hide (every response header, raw bodies): one request with
// "Connection: close" to 127.0.0.1:<port>, the response read until the
// server closes.

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace cairn::test {

struct HttpResult {
  int status = 0;  // 0 when no response arrived
  std::map<std::string, std::string> headers;  // lowercased names
  std::string body;
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

HttpResult RawHttp(int port, const std::string& method, const std::string& target,
                   const std::string& body = "",
                   const std::vector<std::pair<std::string, std::string>>& headers = {},
                   int timeout_seconds = 60);

}  // namespace cairn::test
