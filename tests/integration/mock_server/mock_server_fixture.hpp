// Shared fixture for the mock server's integration tests: an in-process server on a free
// loopback port and an httplib client that speaks to it over real HTTP.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "freshtoken/mock_server.hpp"
#include "util/crypto.hpp"
#include "util/encoding.hpp"

namespace freshtoken::mock::testing {

using json = nlohmann::json;
using Fields = util::FormFields;
using Query = std::map<std::string, std::string>;

inline json body_of(const httplib::Result& res) {
  return res ? json::parse(res->body, nullptr, false) : json();
}

inline std::string pkce_challenge(const std::string& verifier) {
  return util::base64url_encode(util::sha256(verifier));
}

// The query of a redirect URL as a map.
inline Query query_of(const std::string& url) {
  Query out;
  const auto q = url.find('?');
  if (q == std::string::npos) return out;
  const auto fields = util::form_decode_fields(url.substr(q + 1));
  if (fields) {
    for (const auto& [k, v] : *fields) out[k] = v;
  }
  return out;
}

class MockServerTest : public ::testing::Test {
 protected:
  // Derived fixtures change it in their constructor.
  MockServerOptions options_;

  void SetUp() override {
    server_ = std::make_unique<MockServer>(options_);
    server_->start();
    http_ = client();
  }
  void TearDown() override {
    http_.reset();
    server_->stop();
  }

  std::unique_ptr<httplib::Client> client() const {
    auto c = std::make_unique<httplib::Client>(server_->issuer());
    c->set_keep_alive(true);
    c->set_read_timeout(10, 0);
    return c;
  }

  httplib::Result post_form(const std::string& path, const Fields& fields,
                            const std::optional<std::pair<std::string, std::string>>& basic = {}) {
    httplib::Headers headers;
    if (basic) {
      headers.emplace("Authorization",
                      "Basic " + util::base64_encode(basic->first + ":" + basic->second));
    }
    return http_->Post(path.c_str(), headers, util::form_encode(fields),
                       "application/x-www-form-urlencoded");
  }

  httplib::Result post_json(const std::string& path, const std::string& body) {
    return http_->Post(path.c_str(), body, "application/json");
  }

  httplib::Result get_with_token(const std::string& path, const std::string& token) {
    return http_->Get(path.c_str(), {{"Authorization", "Bearer " + token}});
  }

  std::string redirect_uri() const { return "http://127.0.0.1:51004/callback"; }

  // The authorize request of a PKCE sign-in, as query fields.
  Fields authorize_fields(const std::string& verifier, const std::string& client_id,
                          const std::string& scope, const std::string& nonce) const {
    return {{"response_type", "code"},
            {"client_id", client_id},
            {"redirect_uri", redirect_uri()},
            {"scope", scope},
            {"state", "state-123"},
            {"nonce", nonce},
            {"code_challenge", pkce_challenge(verifier)},
            {"code_challenge_method", "S256"}};
  }

  // GET /authorize for a PKCE sign-in of freshtoken-demo.
  httplib::Result get_authorize(const std::string& verifier, const std::string& scope) {
    httplib::Params params;
    for (const auto& [k, v] : authorize_fields(verifier, "freshtoken-demo", scope, "n"))
      params.emplace(k, v);
    return http_->Get("/authorize", params, httplib::Headers{});
  }

  // Completes the HTML sign-in form as `user`; returns the redirect's query.
  Query sign_in(const std::string& verifier, const std::string& client_id = "freshtoken-demo",
                const std::string& scope = "openid profile api", const std::string& user = "alice",
                const std::string& password = "wonderland", const std::string& nonce = "n-0S6") {
    Fields form = authorize_fields(verifier, client_id, scope, nonce);
    form.emplace_back("username", user);
    form.emplace_back("password", password);
    form.emplace_back("action", "approve");
    auto res = post_form("/authorize", form);
    EXPECT_TRUE(res);
    if (!res) return {};
    EXPECT_EQ(res->status, 302) << res->body;
    return query_of(res->get_header_value("Location"));
  }

  httplib::Result redeem(const std::string& code, const std::string& verifier,
                         const std::string& client_id = "freshtoken-demo") {
    return post_form("/token", {{"grant_type", "authorization_code"},
                                {"code", code},
                                {"redirect_uri", redirect_uri()},
                                {"client_id", client_id},
                                {"code_verifier", verifier}});
  }

  // Tokens from a full browser sign-in over HTTP.
  json code_flow(const std::string& client_id = "freshtoken-demo",
                 const std::string& scope = "openid profile api") {
    const std::string verifier = util::base64url_encode(util::random_bytes(32));
    const auto query = sign_in(verifier, client_id, scope);
    const auto it = query.find("code");
    if (it == query.end()) return json();
    return body_of(redeem(it->second, verifier, client_id));
  }

  httplib::Result refresh(const std::string& refresh_token,
                          const std::string& client_id = "freshtoken-demo",
                          const std::optional<std::string>& scope = std::nullopt) {
    Fields fields = {{"grant_type", "refresh_token"},
                     {"refresh_token", refresh_token},
                     {"client_id", client_id}};
    if (scope) fields.emplace_back("scope", *scope);
    return post_form("/token", fields);
  }

  std::unique_ptr<MockServer> server_;
  std::unique_ptr<httplib::Client> http_;
};

// A throwaway self-signed certificate for 127.0.0.1, written as PEM files (named apart, so
// tests running at once do not share them).
struct TempCertificate {
  std::string tag = util::hex(util::random_bytes(8));
  std::string cert_path = ::testing::TempDir() + "freshtoken-mock-cert-" + tag + ".pem";
  std::string key_path = ::testing::TempDir() + "freshtoken-mock-key-" + tag + ".pem";
  TempCertificate() {
    EVP_PKEY* key = EVP_RSA_gen(2048);
    X509* cert = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509_sign(cert, key, EVP_sha256());
    FILE* c = std::fopen(cert_path.c_str(), "w");
    PEM_write_X509(c, cert);
    std::fclose(c);
    FILE* k = std::fopen(key_path.c_str(), "w");
    PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(k);
    X509_free(cert);
    EVP_PKEY_free(key);
  }
  ~TempCertificate() {
    std::remove(cert_path.c_str());
    std::remove(key_path.c_str());
  }
};

inline std::string error_of(const httplib::Result& res) {
  const json body = body_of(res);
  return body.is_object() && body.contains("error") && body["error"].is_string()
             ? body["error"].get<std::string>()
             : std::string("<no error field>");
}

}  // namespace freshtoken::mock::testing
