#include "faults.hpp"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <memory>
#include <thread>
#include <utility>

#include "connection.hpp"
#include "http_util.hpp"

namespace freshtoken::mock::detail {
namespace {

const std::pair<FaultEndpoint, const char*> kEndpointNames[] = {
    {FaultEndpoint::token, "token"},
    {FaultEndpoint::api, "api"},
    {FaultEndpoint::files, "files"},
    {FaultEndpoint::authorize, "authorize"},
    {FaultEndpoint::device_authorization, "device_authorization"},
    {FaultEndpoint::device, "device"},
    {FaultEndpoint::revoke, "revoke"},
    {FaultEndpoint::introspect, "introspect"},
    {FaultEndpoint::userinfo, "userinfo"},
    {FaultEndpoint::discovery, "discovery"},
    {FaultEndpoint::jwks, "jwks"}};

const std::pair<FaultKind, const char*> kKindNames[] = {
    {FaultKind::status, "status"},
    {FaultKind::delay, "delay"},
    {FaultKind::drop, "drop"},
    {FaultKind::truncate, "truncate"},
    {FaultKind::not_json, "not_json"},
    {FaultKind::commit_then_drop, "commit_then_drop"},
    {FaultKind::commit_then_delay, "commit_then_delay"}};

template <class Enum, std::size_t N>
const char* name_in(const std::pair<Enum, const char*> (&table)[N], Enum value) {
  for (const auto& [v, name] : table) {
    if (v == value) return name;
  }
  return "unknown";
}

template <class Enum, std::size_t N>
std::optional<Enum> value_in(const std::pair<Enum, const char*> (&table)[N],
                             const std::string& name) {
  for (const auto& [v, n] : table) {
    if (name == n) return v;
  }
  return std::nullopt;
}

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(std::max(ms, 0))); }

void answer_status(const Fault& fault, httplib::Response& res) {
  res.status = fault.status;
  if (!fault.retry_after.empty()) res.set_header("Retry-After", fault.retry_after);
  const auto first = fault.body.find_first_not_of(" \t\r\n");
  const bool json_like =
      first != std::string::npos && (fault.body[first] == '{' || fault.body[first] == '[');
  res.set_content(fault.body, json_like ? "application/json" : "text/plain");
}

// Sends the headers and half of the body, then fails: httplib closes the connection mid-body.
void truncate_answer(httplib::Response& res) {
  auto body = std::make_shared<std::string>(std::move(res.body));
  std::string type = res.get_header_value("Content-Type");
  res.body.clear();
  const std::size_t half = body->size() / 2;
  res.set_content_provider(body->size(), type,
                           [body, half](std::size_t offset, std::size_t, httplib::DataSink& sink) {
                             if (offset < half) sink.write(body->data() + offset, half - offset);
                             return offset < half;
                           });
}

}  // namespace

const char* fault_endpoint_name(FaultEndpoint endpoint) {
  return name_in(kEndpointNames, endpoint);
}
const char* fault_kind_name(FaultKind kind) { return name_in(kKindNames, kind); }
std::optional<FaultEndpoint> parse_fault_endpoint(const std::string& name) {
  return value_in(kEndpointNames, name);
}
std::optional<FaultKind> parse_fault_kind(const std::string& name) {
  return value_in(kKindNames, name);
}

bool apply_fault_before(const Fault& fault, const httplib::Request& req, httplib::Response& res) {
  res.set_header("X-Mock-Fault", fault_kind_name(fault.kind));
  switch (fault.kind) {
    case FaultKind::status:
      answer_status(fault, res);
      return true;
    case FaultKind::drop:
      drop_connection(req);
      return true;
    case FaultKind::not_json:
      send_html(res, 200, "Service temporarily unavailable",
                "<p>An intermediary answered instead of the authorization server.</p>");
      return true;
    case FaultKind::delay:
      sleep_ms(fault.delay_ms);
      return false;
    case FaultKind::truncate:
    case FaultKind::commit_then_drop:
    case FaultKind::commit_then_delay:
      return false;
  }
  return false;
}

void apply_fault_after(const Fault& fault, const httplib::Request& req, httplib::Response& res) {
  if (fault.kind == FaultKind::truncate) {
    truncate_answer(res);
  } else if (fault.kind == FaultKind::commit_then_drop) {
    drop_connection(req);
  } else if (fault.kind == FaultKind::commit_then_delay) {
    sleep_ms(fault.delay_ms);
  }
}

}  // namespace freshtoken::mock::detail
