// The control API under /mock/: the JSON boundary of MockState's control operations (fault and
// endpoint names, counters, clock, tokens without a sign-in).
#include <stdexcept>

#include "faults.hpp"
#include "server_impl.hpp"

namespace freshtoken::mock {

using namespace detail;

namespace {

json stats_json(const MockServerStats& stats) {
  const TokenRequestCounts& t = stats.token_requests;
  json requests = json::object();
  const std::pair<const char*, long> grants[] = {{kGrantCode, t.authorization_code},
                                                 {kGrantRefresh, t.refresh_token},
                                                 {kGrantClientCredentials, t.client_credentials},
                                                 {kGrantDevice, t.device_code},
                                                 {"other", t.other}};
  for (const auto& [grant, n] : grants) {
    if (n > 0) requests[grant] = n;
  }
  const EndpointRequestCounts& e = stats.endpoint_requests;
  const json endpoint_requests = {{"discovery", e.discovery},
                                  {"jwks", e.jwks},
                                  {"authorize", e.authorize},
                                  {"token", e.token},
                                  {"device_authorization", e.device_authorization},
                                  {"revoke", e.revoke},
                                  {"introspect", e.introspect},
                                  {"userinfo", e.userinfo},
                                  {"api", e.api},
                                  {"files", e.files}};
  json resources = json::object();
  for (const auto& [resource, counts] : stats.resources) {
    resources[resource] = {{"token_requests", counts.token_requests},
                           {"refresh_requests", counts.refresh_requests},
                           {"api_requests", counts.api_requests},
                           {"api_401", counts.api_401},
                           {"api_403", counts.api_403}};
  }
  return {{"token_requests", requests},
          {"endpoint_requests", endpoint_requests},
          {"refreshes", stats.refreshes},
          {"refresh_grace_reuses", stats.refresh_grace_reuses},
          {"refresh_reuse_detected", stats.refresh_reuse_detected},
          {"families_revoked", stats.families_revoked},
          {"active_families", stats.active_families},
          {"api_requests", stats.api_requests},
          {"api_401", stats.api_401},
          {"api_403", stats.api_403},
          {"authorize_requests", stats.authorize_requests},
          {"device_authorizations", stats.device_authorizations},
          {"revocations", stats.revocations},
          {"introspections", stats.introspections},
          {"userinfo_requests", stats.userinfo_requests},
          {"faults_triggered", stats.faults_triggered},
          {"faults_armed", stats.faults_armed},
          {"connections", stats.connections},
          {"clock_offset_seconds", stats.clock_offset.count()},
          {"resources", resources}};
}

// DPoP refusals by reason, zeros included: a script reads any reason without a default.
json dpop_rejections_json(const MockServerStats& stats) {
  json counts = json::object();
  DpopRejectionCounts copy = stats.dpop_rejections;
  for (int r = static_cast<int>(DpopReject::missing);
       r <= static_cast<int>(DpopReject::key_mismatch); ++r) {
    const auto reason = static_cast<DpopReject>(r);
    counts[dpop_reject_name(reason)] = *dpop_counter(copy, reason);
  }
  return counts;
}

// Every field is read before the names are checked, so a field of the wrong JSON type is
// reported as such whatever the names say.
Fault fault_from_json(const json& body) {
  Fault fault;
  const std::string endpoint = body.value("endpoint", std::string("token"));
  const std::string kind = body.value("kind", std::string());
  fault.status = body.value("status", fault.status);
  fault.retry_after = body.value("retry_after", fault.retry_after);
  fault.body = body.value("body", fault.body);
  fault.delay_ms = body.value("delay_ms", fault.delay_ms);
  fault.times = body.value("times", fault.times);
  const auto endpoint_value = parse_fault_endpoint(endpoint);
  if (!endpoint_value) throw std::invalid_argument("unknown fault endpoint: " + endpoint);
  const auto kind_value = parse_fault_kind(kind);
  if (!kind_value) throw std::invalid_argument("unknown fault kind: " + kind);
  fault.endpoint = *endpoint_value;
  fault.kind = *kind_value;
  return fault;
}

json fault_json(const Fault& fault) {
  return {{"endpoint", fault_endpoint_name(fault.endpoint)},
          {"kind", fault_kind_name(fault.kind)},
          {"status", fault.status},
          {"retry_after", fault.retry_after},
          {"delay_ms", fault.delay_ms},
          {"times", fault.times}};
}

std::optional<std::chrono::seconds> access_ttl_from_json(const json& body) {
  if (!body.contains("access_token_ttl_s")) return std::nullopt;
  if (!body["access_token_ttl_s"].is_number_integer()) {
    throw std::invalid_argument("access_token_ttl_s must be an integer");
  }
  return std::chrono::seconds(body["access_token_ttl_s"].get<long long>());
}

}  // namespace

void MockServer::Impl::control(const Request& req, const std::string& text, Response& res) {
  json body = json::object();
  if (req.method == "POST" && !text.empty()) {
    body = json::parse(text, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      return oauth_error(res, 400, "invalid_request", "The body must be a JSON object");
    }
  }
  try {
    if (req.path == "/mock/stats" && req.method == "GET") {
      const MockServerStats stats = state_.stats();
      json answer = stats_json(stats);
      answer["dpop_rejections"] = dpop_rejections_json(stats);
      return send_json(res, 200, answer);
    }
    if (req.path == "/mock/resources" && req.method == "GET") {
      json apis = json::array();
      for (const auto api : {ApiId::api, ApiId::files}) {
        const std::string resource = state_.api_location(api).resource;
        apis.push_back({{"resource", resource}, {"base_url", resource}});
      }
      return send_json(res, 200, apis);
    }
    const json answer = req.method == "POST" ? control_post(req.path, body) : json();
    if (answer.is_null()) return oauth_error(res, 404, "not_found", "Unknown control endpoint");
    send_json(res, 200, answer);
  } catch (const json::exception&) {
    oauth_error(res, 400, "invalid_request", "A field has the wrong JSON type");
  } catch (const std::invalid_argument& e) {
    oauth_error(res, 400, "invalid_request", e.what());
  }
}

// The answer to POST `path`; null for an unknown path. Throws std::invalid_argument or
// json::exception for bad fields.
json MockServer::Impl::control_post(const std::string& path, const json& body) {
  if (path == "/mock/reset") {
    state_.reset();
    return {{"reset", true}};
  }
  if (path == "/mock/faults") {
    const Fault fault = fault_from_json(body);
    state_.arm_fault(fault);
    return {{"armed", fault_json(fault)}};
  }
  if (path == "/mock/device/approve") {
    state_.approve_device(body.value("user_code", std::string()),
                          body.value("user", std::string("alice")));
    return {{"approved", true}};
  }
  if (path == "/mock/device/deny") {
    state_.deny_device(body.value("user_code", std::string()));
    return {{"denied", true}};
  }
  if (path == "/mock/revoke") {
    const std::string what = body.value("what", std::string());
    if (what == "access_tokens") {
      state_.revoke_access_tokens();
    } else if (what == "family") {
      state_.revoke_family(body.value("refresh_token", std::string()));
    } else if (what == "user") {
      state_.revoke_user(body.value("user", std::string()));
    } else {
      throw std::invalid_argument("'what' must be access_tokens, family or user");
    }
    return {{"revoked", what}};
  }
  if (path == "/mock/clock") {
    if (!body.contains("offset_seconds") || !body["offset_seconds"].is_number_integer()) {
      throw std::invalid_argument("offset_seconds must be an integer");
    }
    state_.set_clock_offset(std::chrono::seconds(body["offset_seconds"].get<long long>()));
    return {{"offset_seconds", state_.clock_offset().count()}};
  }
  if (path == "/mock/tokens") {
    const auto access_ttl = access_ttl_from_json(body);
    return token_json(state_.issue_tokens(body.value("user", std::string("alice")),
                                          body.value("client_id", std::string("freshtoken-demo")),
                                          body.value("scope", std::string("openid profile api")),
                                          access_ttl));
  }
  return nullptr;
}

}  // namespace freshtoken::mock
