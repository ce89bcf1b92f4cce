#include "http_util.hpp"

#include <utility>

#include "util/encoding.hpp"

namespace freshtoken::mock::detail {
namespace {

std::optional<Params> params_from(std::string_view text, std::string_view what, std::string& error,
                                  std::vector<std::string>* resources) {
  std::string rest;
  if (resources != nullptr) {
    // The `resource` values are taken out and the rest is read as strictly as ever; a
    // malformed form falls through to the strict reader, which says where.
    if (auto fields = util::form_decode_fields(text)) {
      util::FormFields others;
      for (auto& field : *fields) {
        if (field.first == "resource") {
          resources->push_back(std::move(field.second));
        } else if (!field.first.empty()) {
          others.push_back(std::move(field));
        }
      }
      rest = util::form_encode(others);
      text = rest;
    }
  }
  auto form = util::parse_form(text);
  if (!form) {
    error = std::string(what) + ": " + form.describe();
    return std::nullopt;
  }
  Params params;
  for (auto& [name, value] : form.fields) params.emplace(std::move(name), std::move(value));
  return params;
}

}  // namespace

std::optional<Params> parse_form(const std::string& body, std::string& error,
                                 std::vector<std::string>* resources) {
  return params_from(body, "The request body is not valid application/x-www-form-urlencoded", error,
                     resources);
}

// httplib's req.params decodes leniently (a bad escape passes through as is), so the query
// is read again from the raw request target.
std::optional<Params> query_params(const httplib::Request& req, std::string& error,
                                   std::vector<std::string>* resources) {
  const std::string& target = req.target;
  const auto q = target.find('?');
  if (q == std::string::npos) return Params{};
  std::string_view query(target);
  query = query.substr(q + 1);
  if (const auto hash = query.find('#'); hash != std::string_view::npos)
    query = query.substr(0, hash);
  return params_from(query, "The query string is not valid", error, resources);
}

std::string get(const Params& params, const std::string& name) {
  const auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

std::string string_member(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool is_form(const httplib::Request& req) {
  const auto type = req.get_header_value("Content-Type");
  return type.rfind("application/x-www-form-urlencoded", 0) == 0;
}

std::optional<Params> read_form_post(const httplib::Request& req, httplib::Response& res,
                                     std::vector<std::string>* resources) {
  if (!is_form(req)) {
    oauth_error(res, 400, "invalid_request",
                "Content-Type must be application/x-www-form-urlencoded");
    return std::nullopt;
  }
  std::string error;
  auto form = parse_form(req.body, error, resources);
  if (!form) oauth_error(res, 400, "invalid_request", error);
  return form;
}

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void oauth_error(httplib::Response& res, int status, const std::string& code,
                 const std::string& description) {
  send_json(res, status, {{"error", code}, {"error_description", description}});
}

void send_html(httplib::Response& res, int status, const std::string& title,
               const std::string& body) {
  res.status = status;
  res.set_content("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" +
                      util::html_escape(title) + "</title></head><body><h1>" +
                      util::html_escape(title) + "</h1>\n" + body + "\n</body></html>\n",
                  "text/html; charset=utf-8");
}

}  // namespace freshtoken::mock::detail
