#include "curl/curl_transport.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <exception>
#include <limits>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "url.hpp"
#include "util/crypto.hpp"

namespace freshtoken {
namespace detail {
namespace {

// Larger header sections are not something an OAuth or API server sends; refusing them keeps
// a hostile server from growing our memory without bound.
constexpr std::size_t kMaxHeaderBytes = 256 * 1024;
// CURLOPT_PROXY's value that turns every proxy off, the environment's included.
constexpr char kNoProxy[] = "";
// Idle handle pairs kept for reuse; beyond this a burst's extra connections are closed.
constexpr std::size_t kMaxIdleHandles = 64;
// Connections each handle's multi keeps open (e.g. the authorization server and an API host).
constexpr long kConnectionsPerHandle = 4;
// How long the transfer loop sleeps at most before it looks at the CancelToken again; this is
// what makes cancellation prompt while the peer is silent.
constexpr int kCancelPollMs = 25;

// curl_global_init must run once, before any handle, and is not safe to race with other
// handle creation. curl_global_cleanup is deliberately never called: transports may live in
// statics or other threads until exit, and cleaning up under a live handle is undefined.
// The OS reclaims everything at exit.
const CURLcode& global_init_result() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  return result;
}

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_tchar(c)) return false;
  return true;
}

// memchr rather than a loop over the bytes: a bearer value is often a kilobyte.
bool is_field_value(std::string_view s) {
  for (char c : {'\r', '\n', '\0'})
    if (std::memchr(s.data(), c, s.size()) != nullptr) return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// "https://host:port" of a URL, for error messages: never the path, query or userinfo, which
// may carry codes or credentials.
std::string origin_of(const std::string& url) {
  std::string origin = "(invalid URL)";
  CURLU* u = curl_url();
  if (!u) return origin;
  if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
    char* scheme = nullptr;
    char* host = nullptr;
    char* port = nullptr;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
      origin = std::string(scheme) + "://" + host;
      if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
        origin += std::string(":") + port;
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
  }
  curl_url_cleanup(u);
  return origin;
}

ErrorCode classify(CURLcode rc) {
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
      return ErrorCode::timeout;
    case CURLE_ABORTED_BY_CALLBACK:
      return ErrorCode::cancelled;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
      return ErrorCode::tls;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_UNKNOWN_OPTION:
      return ErrorCode::config;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_FILESIZE_EXCEEDED:
      return ErrorCode::invalid_response;
    default:
      // COULDNT_RESOLVE_HOST, COULDNT_CONNECT, SEND_ERROR, RECV_ERROR, GOT_NOTHING,
      // PARTIAL_FILE, HTTP2 stream errors, ...: the exchange did not complete.
      return ErrorCode::network;
  }
}

// Everything one exchange's callbacks need. Each handle has one, so that the callbacks' data
// pointers are set once per handle, not on every send.
struct Exchange {
  const Request* request = nullptr;
  std::vector<Headers::Field> header_fields;
  std::size_t header_bytes = 0;
  bool headers_too_large = false;
  // The response's Content-Length, -1 when it announced none.
  curl_off_t announced = -1;
  std::string body;
  // The largest body this exchange accepts.
  std::size_t max_body = 0;
  bool body_too_large = false;
  bool out_of_memory = false;
  bool body_source_failed = false;
  bool cancelled = false;
};

// How a transfer ended: libcurl's codes and what it reported.
struct Transfer {
  CURLMcode multi = CURLM_OK;
  CURLcode easy = CURLE_OK;
  long status = 0;
  std::string detail;  // libcurl's error buffer, when it failed
};

bool parse_content_length(std::string_view text, curl_off_t& out) {
  text = trim(text);
  if (text.empty()) return false;
  unsigned long long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return false;
  if (value > static_cast<unsigned long long>(std::numeric_limits<curl_off_t>::max())) return false;
  out = static_cast<curl_off_t>(value);
  return true;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  const size_t len = size * count;
  ex->header_bytes += len;
  if (ex->header_bytes > kMaxHeaderBytes) {
    ex->headers_too_large = true;
    return 0;
  }
  try {
    std::string_view line(data, len);
    if (line.size() >= 5 && line.compare(0, 5, "HTTP/") == 0) {
      // A new status line: whatever came before (100 Continue, 103 Early Hints, a proxy's
      // CONNECT answer) belonged to another response.
      ex->header_fields.clear();
      ex->announced = -1;
      return len;
    }
    if (line.empty() || line == "\r\n" || line == "\n") return len;
    if ((line.front() == ' ' || line.front() == '\t')) {
      // obs-fold continuation of the previous field (RFC 9112 §5.2).
      if (!ex->header_fields.empty()) {
        auto& value = ex->header_fields.back().second;
        value += ' ';
        value += trim(line);
      }
      return len;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return len;  // not a field; ignore
    const auto& [name, value] = ex->header_fields.emplace_back(
        std::string(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
    if (name.size() == 14 && iequals(name, "Content-Length") &&
        !parse_content_length(value, ex->announced))
      ex->announced = -1;
  } catch (...) {
    ex->out_of_memory = true;
    return 0;
  }
  return len;
}

// Moves the body into a buffer with room for at least `needed` bytes (the announced length
// when there is one, within the limit) and wipes the buffer it leaves: std::string's own
// growth would hand the old bytes, part of a token response perhaps, back to the heap as
// they are.
void grow_body(Exchange& ex, std::size_t needed) {
  std::size_t room = std::max(needed, 2 * ex.body.capacity());
  if (ex.announced > 0 && static_cast<std::size_t>(ex.announced) <= ex.max_body)
    room = std::max(room, static_cast<std::size_t>(ex.announced));
  room = std::min(room, ex.max_body);  // needed <= max_body
  std::string bigger;
  bigger.reserve(room);
  bigger.append(ex.body);
  util::wipe(ex.body);
  ex.body.swap(bigger);
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  const size_t len = size * count;
  std::string& body = ex->body;
  if (len > ex->max_body - body.size()) {
    ex->body_too_large = true;
    return 0;
  }
  try {
    if (len > body.capacity() - body.size()) grow_body(*ex, body.size() + len);
    body.append(data, len);  // within the capacity: no reallocation
  } catch (...) {
    ex->out_of_memory = true;
    return 0;
  }
  return len;
}

size_t on_read(char* buffer, size_t size, size_t count, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  if (ex->request->cancel.cancelled()) {
    ex->cancelled = true;
    return CURL_READFUNC_ABORT;
  }
  const size_t capacity = size * count;
  try {
    const size_t written = ex->request->body_stream(buffer, capacity);
    if (written > capacity) {
      ex->body_source_failed = true;
      return CURL_READFUNC_ABORT;
    }
    return written;
  } catch (...) {
    ex->body_source_failed = true;
    return CURL_READFUNC_ABORT;
  }
}

// The request's header lines as the curl_slist that CURLOPT_HTTPHEADER takes, built without
// curl_slist_append, which allocates a node and a copy of the line for every field: the lines
// share one buffer and the nodes one vector, both kept by the handle from send to send. The
// buffer holds the bearer token, so it is sized before anything is added (a reallocation would
// leave a copy behind) and wiped after each exchange; libcurl reads the list only during the
// transfer.
class HeaderLines {
 public:
  HeaderLines() = default;
  HeaderLines(const HeaderLines&) = delete;
  HeaderLines& operator=(const HeaderLines&) = delete;
  ~HeaderLines() { clear(); }

  // The bytes add() takes for the field, counting the terminating NUL.
  static std::size_t size_of(std::string_view name, std::string_view value) {
    return name.size() + (value.empty() ? 1 : 2 + value.size()) + 1;
  }
  // Empty, with room for `lines` lines of `bytes` bytes in all (see size_of).
  void start(std::size_t lines, std::size_t bytes) {
    clear();
    if (text_.capacity() < bytes) text_.reserve(bytes);  // empty: the move copies nothing
    nodes_.reserve(lines);
  }
  // "Name: value", or "Name;", curl's spelling of a field with an empty value ("Name:" would
  // remove the field).
  void add(std::string_view name, std::string_view value) {
    text_.append(name);
    if (value.empty()) {
      text_ += ';';
    } else {
      text_.append(": ").append(value);
    }
    text_ += '\0';
  }
  // "Name: " followed by a value given in two parts, such as "Bearer " and the token.
  void add(std::string_view name, std::string_view value_start, std::string_view value_rest) {
    text_.append(name).append(": ").append(value_start).append(value_rest);
    text_ += '\0';
  }
  // A line as curl takes it, such as "Expect:" (which removes curl's own field).
  void add(std::string_view line) {
    text_.append(line);
    text_ += '\0';
  }

  // The list over the lines added so far; valid until the next start() or clear().
  curl_slist* list() {
    nodes_.clear();  // reserved: no reallocation while the lines are counted
    for (std::size_t at = 0; at < text_.size(); at += std::strlen(text_.data() + at) + 1)
      nodes_.push_back(curl_slist{text_.data() + at, nullptr});
    for (std::size_t i = 1; i < nodes_.size(); ++i) nodes_[i - 1].next = &nodes_[i];
    return nodes_.empty() ? nullptr : nodes_.data();
  }

  // Wipes the lines; the capacity stays for the next request.
  void clear() noexcept {
    util::wipe(text_);
    text_.clear();
    nodes_.clear();
  }

 private:
  std::string text_;  // the lines, each ending in NUL
  std::vector<curl_slist> nodes_;
};

}  // namespace

struct CurlTransport::Share {
  CURLSH* handle = nullptr;
  std::array<std::mutex, CURL_LOCK_DATA_LAST> locks;

  static void lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<Share*>(user)->locks[static_cast<std::size_t>(data)].lock();
  }
  static void unlock(CURL*, curl_lock_data data, void* user) {
    static_cast<Share*>(user)->locks[static_cast<std::size_t>(data)].unlock();
  }

  Share() {
    handle = curl_share_init();
    if (!handle) return;
    curl_share_setopt(handle, CURLSHOPT_LOCKFUNC, &Share::lock);
    curl_share_setopt(handle, CURLSHOPT_UNLOCKFUNC, &Share::unlock);
    curl_share_setopt(handle, CURLSHOPT_USERDATA, this);
    curl_share_setopt(handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }
  ~Share() {
    if (handle) curl_share_cleanup(handle);
  }
};

struct CurlTransport::Handle {
  CURLM* multi = nullptr;
  CURL* easy = nullptr;
  // The request's URL, parsed once when it changes (CURLOPT_CURLU). Given the URL as a string,
  // libcurl would parse it again and print it back at every transfer.
  CURLU* url_handle = nullptr;
  // Per handle rather than on send()'s stack: curl keeps the pointer between sends.
  char error_buffer[CURL_ERROR_SIZE] = {0};
  // The exchange in progress; the callbacks' data pointers point here.
  Exchange exchange;
  // The header lines of the exchange in progress; empty (wiped) between exchanges.
  HeaderLines lines;
  // How the last transfer ended.
  Transfer transfer;

  // What the easy handle's per-request options are set to now, so that send() sets only those
  // that differ: an application mostly sends the same kind of request to the same URL again,
  // and raw libcurl code would set nothing between such transfers.
  std::string url;  // what url_handle holds; empty when it holds nothing usable
  long timeout_ms = -1;
  curl_off_t max_file_size = 0;  // CURLOPT_MAXFILESIZE_LARGE; 0 is libcurl's "no limit"
  const char* proxy = nullptr;   // CURLOPT_PROXY: null (the environment's), kNoProxy or options
  curl_slist* header_list = nullptr;
  bool plain_get = false;  // GET without a body: no POSTFIELDS, NOBODY 0, no custom method
};

void CurlTransport::HandleDeleter::operator()(Handle* h) const {
  // The multi owns the connection cache: close it first, while the easy handle (and through
  // it the share's TLS session cache) still exists.
  if (h->multi) curl_multi_cleanup(h->multi);
  if (h->easy) curl_easy_cleanup(h->easy);
  if (h->url_handle) curl_url_cleanup(h->url_handle);
  delete h;
}

CurlTransport::CurlTransport(TransportOptions options) : options_(std::move(options)) {
  if (global_init_result() != CURLE_OK) {
    init_error_.emplace(ErrorCode::network, std::string("libcurl could not be initialised: ") +
                                                curl_easy_strerror(global_init_result()));
    return;
  }
  if (!is_field_value(options_.user_agent)) {
    init_error_.emplace(ErrorCode::config, "the user agent contains CR, LF or NUL");
    return;
  }
  if (!options_.user_agent.empty()) user_agent_line_ = "User-Agent: " + options_.user_agent;
  share_ = std::make_unique<Share>();
  if (!share_->handle)
    init_error_.emplace(ErrorCode::network, "libcurl share handle: out of memory");
  if (!options_.verify_tls && options_.log)
    options_.log(LogLevel::warning,
                 "TLS certificate verification is OFF for this transport; use only for local "
                 "experiments");
}

CurlTransport::~CurlTransport() {
  // Handles first, then the share they are attached to (member order guarantees it too).
  idle_.clear();
}

Result<CurlTransport::HandlePtr> CurlTransport::acquire() {
  {
    std::lock_guard<std::mutex> lock(pool_mutex_);
    if (!idle_.empty()) {
      // Prefer the handle this thread used last: a thread keeps its own connection (as an
      // application with one easy handle per thread would), instead of connections, their
      // buffers and TLS state moving between threads' caches on every request.
      const auto me = std::this_thread::get_id();
      auto mine = std::find_if(idle_.rbegin(), idle_.rend(),
                               [me](const Idle& idle) { return idle.last_user == me; });
      auto pick = mine != idle_.rend() ? std::prev(mine.base()) : std::prev(idle_.end());
      HandlePtr h = std::move(pick->handle);
      idle_.erase(pick);
      return h;
    }
  }
  HandlePtr h(new Handle);
  h->multi = curl_multi_init();
  h->easy = curl_easy_init();
  h->url_handle = curl_url();
  if (!h->multi || !h->easy || !h->url_handle)
    return Error(ErrorCode::network, "libcurl handle: out of memory");
  curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, kConnectionsPerHandle);
  configure(*h);
  return h;
}

// The options that are the same for every send, set once per handle; send() sets the rest.
void CurlTransport::configure(Handle& h) const {
  CURL* easy = h.easy;
  curl_easy_setopt(easy, CURLOPT_SHARE, share_->handle);
  curl_easy_setopt(easy, CURLOPT_CURLU, h.url_handle);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, h.error_buffer);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS, long(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, long(options_.connect_timeout.count()));
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPIDLE, 60L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPINTVL, 30L);
  curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
  curl_easy_setopt(easy, CURLOPT_SSLVERSION, long(CURL_SSLVERSION_TLSv1_2));
  // CAINFO replaces only the bundle file; the system CA directory (CAPATH) stays in use, so
  // ca_file adds trust rather than replacing it.
  if (!options_.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(easy, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  // The body is handed over exactly as the server sent it, matching the headers we return.
  curl_easy_setopt(easy, CURLOPT_HTTP_CONTENT_DECODING, 0L);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &h.exchange);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &h.exchange);
  curl_easy_setopt(easy, CURLOPT_READFUNCTION, &on_read);
  curl_easy_setopt(easy, CURLOPT_READDATA, &h.exchange);
  // No progress callback: send()'s loop looks at the CancelToken between polls of at most
  // kCancelPollMs, and curl_multi_perform never blocks, so a callback would add cost to
  // every transfer and no promptness.
  curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 1L);
}

void CurlTransport::release(HandlePtr handle) {
  const auto me = std::this_thread::get_id();
  {
    std::lock_guard<std::mutex> lock(pool_mutex_);
    if (idle_.size() < kMaxIdleHandles) {
      idle_.push_back(Idle{me, std::move(handle)});
      return;
    }
  }
  // A handle beyond the pool's size (only after a burst) closes its connections here, outside
  // the lock.
}

// What a request's header fields and method say about how it goes out, checked before a
// handle is taken: a bad field is the caller's error and needs no handle.
struct CurlTransport::Shape {
  bool is_head = false;
  bool streamed = false;
  bool sends_body = false;
  curl_off_t stream_length = -1;  // for a stream: the caller's Content-Length, -1 when unknown
  bool has_content_type = false;
  bool has_expect = false;
  bool has_user_agent = false;
  std::size_t line_bytes = 0;  // what the header lines take (see HeaderLines::size_of)
};

namespace {
constexpr std::string_view kNoContentType = "Content-Type:";
constexpr std::string_view kNoExpect = "Expect:";
}  // namespace

Result<CurlTransport::Shape> CurlTransport::shape_of(const Request& request) const {
  if (!is_token(request.method))
    return Error(ErrorCode::config, "request method is not a valid HTTP token");
  if (request.url.empty()) return Error(ErrorCode::config, "request URL is empty");
  if (!is_field_value(request.url))
    return Error(ErrorCode::config, "request URL contains control characters");
  if (request.cancel.cancelled())
    return Error(ErrorCode::cancelled,
                 request.method + " " + origin_of(request.url) + ": cancelled before sending");

  Shape shape;
  const std::string_view method = request.method;
  shape.is_head = method == "HEAD";
  shape.streamed = static_cast<bool>(request.body_stream);
  shape.sends_body = !shape.is_head && (shape.streamed || !request.body.empty() ||
                                        method == "POST" || method == "PUT" || method == "PATCH");
  shape.line_bytes = user_agent_line_.size() + 1 + kNoContentType.size() + 1 + kNoExpect.size() + 1;
  for (const auto& [name, value] : request.headers) {
    if (!is_token(name))
      return Error(ErrorCode::config, "request header name is not a valid HTTP token: '" +
                                          (is_field_value(name) ? name : "?") + "'");
    if (!is_field_value(value))
      return Error(ErrorCode::config,
                   "request header '" + name + "' contains CR, LF or NUL in its value");
    // curl computes Content-Length itself; for a stream the caller's value tells it the size.
    if (iequals(name, "Content-Length") && shape.sends_body && shape.streamed &&
        !parse_content_length(value, shape.stream_length))
      return Error(ErrorCode::config, "request Content-Length is not a number");
    if (iequals(name, "Content-Type")) shape.has_content_type = true;
    if (iequals(name, "Expect")) shape.has_expect = true;
    if (iequals(name, "User-Agent")) shape.has_user_agent = true;
    shape.line_bytes += HeaderLines::size_of(name, value);
  }
  return shape;
}

void CurlTransport::build_lines(Handle& handle, const Request& request, const Shape& shape) const {
  HeaderLines& lines = handle.lines;
  // The request's lines, plus User-Agent, Content-Type and Expect.
  lines.start(request.headers.size() + 3, shape.line_bytes);
  for (const auto& [name, value] : request.headers) {
    if (!(shape.sends_body && iequals(name, "Content-Length"))) lines.add(name, value);
  }
  // A header line rather than CURLOPT_USERAGENT, which makes libcurl format the line again
  // with its printf on every transfer. A caller's own User-Agent wins.
  if (!shape.has_user_agent && !user_agent_line_.empty()) lines.add(user_agent_line_);
  if (shape.sends_body) {
    // A stream of unknown length goes out chunked on HTTP/1.1 (as DATA frames on HTTP/2):
    // curl decides that itself, so no Transfer-Encoding field is added here.
    // Without these curl would add "Content-Type: application/x-www-form-urlencoded" and
    // "Expect: 100-continue" (a round trip, or a 1 s stall on servers that ignore it) on its own.
    if (!shape.has_content_type) lines.add(kNoContentType);
    if (!shape.has_expect) lines.add(kNoExpect);
  }
}

// The options a request can change are brought to this request's value (or back to their
// default) here, so that nothing (headers, body, method, timeout, proxy) leaks from the
// previous request on this handle; the options that never change were set once, in
// configure(). There is no curl_easy_reset per request: it frees and re-duplicates every
// string option. The handle remembers what it has, and only what differs is set.
Result<void> CurlTransport::apply_options(Handle& handle, const Request& request,
                                          const Shape& shape) const {
  if (handle.url != request.url) {
    if (auto url = set_url(handle, request); !url) return url;
  }
  // libcurl's own limit refuses an announced length before any of the body arrives; on_body
  // enforces the same limit on a body of unannounced length.
  const std::size_t max_body = handle.exchange.max_body;
  const curl_off_t max_file_size =
      max_body < static_cast<std::size_t>(std::numeric_limits<curl_off_t>::max())
          ? static_cast<curl_off_t>(max_body)
          : 0;
  CURL* easy = handle.easy;
  if (handle.max_file_size != max_file_size) {
    handle.max_file_size = max_file_size;
    curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, max_file_size);
  }
  const auto total = request.timeout.count() > 0 ? request.timeout : options_.timeout;
  if (handle.timeout_ms != long(total.count())) {
    handle.timeout_ms = long(total.count());
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, handle.timeout_ms);
  }
  // The same list (rebuilt in place) is the same pointer: libcurl reads it at each transfer.
  if (curl_slist* list = handle.lines.list(); list != handle.header_list) {
    handle.header_list = list;
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, list);
  }
  set_method(handle, request, shape);
  return {};
}

Result<void> CurlTransport::set_url(Handle& handle, const Request& request) const {
  CURL* easy = handle.easy;
  handle.url.clear();  // until the URL handle holds this request's URL
  if (const CURLUcode uc = curl_url_set(handle.url_handle, CURLUPART_URL, request.url.c_str(), 0);
      uc != CURLUE_OK) {
    if (uc == CURLUE_OUT_OF_MEMORY)
      return Error(ErrorCode::network, "out of memory setting the request URL");
    // The reason names what is wrong, never the URL, which may carry a code (nor its origin:
    // origin_of would parse the same text and fail the same way).
    return Error(ErrorCode::config,
                 request.method + ": malformed URL (" + curl_url_strerror(uc) + ")");
  }
  // libcurl 7.88 keeps the text of the first URL it took from the URL handle (what
  // CURLINFO_EFFECTIVE_URL reports) until CURLOPT_URL is set: clearing it makes the next
  // transfer take the text from the URL handle again.
  curl_easy_setopt(easy, CURLOPT_URL, nullptr);
  handle.url = request.url;
  // A loopback host is the one place a bearer token or a refresh token may travel over plain
  // http: a proxy there would see it in clear text, so loopback requests never take one.
  auto parsed = parse_url_view(request.url);
  const char* proxy = parsed && is_loopback_host(parsed->host) ? kNoProxy
                      : options_.proxy                         ? options_.proxy->c_str()
                                                               : nullptr;
  if (handle.proxy != proxy) {
    handle.proxy = proxy;
    curl_easy_setopt(easy, CURLOPT_PROXY, proxy);
  }
  return {};
}

// POSTFIELDS (which also switches curl to POST) and its size come first so that the method
// options after them decide: a null POSTFIELDS with POST reads the body through on_read;
// POSTFIELDSIZE -1 with a stream means "unknown length" (chunked). A plain GET after a plain
// GET sets nothing.
void CurlTransport::set_method(Handle& handle, const Request& request, const Shape& shape) const {
  const std::string_view method = request.method;
  const bool plain_get = !shape.sends_body && method == "GET";
  if (plain_get && handle.plain_get) return;
  CURL* easy = handle.easy;
  const bool fields = shape.sends_body && !shape.streamed;
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, fields ? request.body.data() : nullptr);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                   fields           ? curl_off_t(request.body.size())
                   : shape.streamed ? shape.stream_length
                                    : curl_off_t(-1));
  const char* custom = nullptr;
  if (shape.is_head) {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 0L);
    if (shape.sends_body) {
      curl_easy_setopt(easy, CURLOPT_POST, 1L);
      if (method != "POST") custom = request.method.c_str();
    } else {
      curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
      if (method != "GET") custom = request.method.c_str();
    }
  }
  curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, custom);
  handle.plain_get = plain_get;
}

// Runs the transfer to its end, or until the request is cancelled (checked at least every
// kCancelPollMs while the peer is silent).
void CurlTransport::run_transfer(Handle& handle, const Request& request) {
  exchanges_.fetch_add(1, std::memory_order_relaxed);
  CURL* easy = handle.easy;
  Transfer& transfer = handle.transfer;
  transfer = Transfer{};
  transfer.multi = curl_multi_add_handle(handle.multi, easy);
  if (transfer.multi != CURLM_OK) return;
  for (bool done = false; !done;) {
    int running = 0;
    transfer.multi = curl_multi_perform(handle.multi, &running);
    if (transfer.multi != CURLM_OK) break;
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(handle.multi, &queued)) {
      if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy) {
        transfer.easy = msg->data.result;
        done = true;
      }
    }
    if (done) break;
    if (request.cancel.cancelled()) {
      handle.exchange.cancelled = true;
      transfer.easy = CURLE_ABORTED_BY_CALLBACK;
      break;
    }
    transfer.multi = curl_multi_poll(handle.multi, nullptr, 0, kCancelPollMs, nullptr);
    if (transfer.multi != CURLM_OK) break;
  }
  // Removing an unfinished transfer makes curl close its connection; a finished one goes
  // back to the multi's cache for the next send.
  curl_multi_remove_handle(handle.multi, easy);

  long connects = 0;
  if (curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK && connects > 0)
    connections_opened_.fetch_add(static_cast<std::uint64_t>(connects));
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &transfer.status);
  // The error buffer belongs to the handle, which another thread may take once it is back.
  if (transfer.easy != CURLE_OK && handle.error_buffer[0] != '\0')
    transfer.detail = std::string(trim(handle.error_buffer));
}

namespace {

// The Response, or the Error that says why there is none. The error messages name the method
// and origin, never a header value, a body or the rest of the URL.
Result<Response> result_of(const Request& request, Exchange& outcome, const Transfer& transfer) {
  // A body that does not reach the caller (the exchange failed) may still hold secrets.
  struct WipeBody {
    std::string& body;
    ~WipeBody() { util::wipe(body); }
  } wipe_body{outcome.body};

  // Built only on the error paths: parsing the URL again is not free.
  auto what = [&request] { return request.method + " " + origin_of(request.url); };
  const CURLcode rc = transfer.easy;
  if (transfer.multi != CURLM_OK)
    return Error(ErrorCode::network, what() + ": " + curl_multi_strerror(transfer.multi));
  if (outcome.cancelled) return Error(ErrorCode::cancelled, what() + ": cancelled");
  if (outcome.body_source_failed)
    return Error(ErrorCode::config, what() + ": the request body source failed");
  if (outcome.headers_too_large)
    return Error(ErrorCode::invalid_response, what() + ": response headers exceed " +
                                                  std::to_string(kMaxHeaderBytes) + " bytes");
  if (outcome.body_too_large || rc == CURLE_FILESIZE_EXCEEDED)
    return Error(ErrorCode::invalid_response,
                 what() + ": response body exceeds " + std::to_string(outcome.max_body) + " bytes");
  if (outcome.out_of_memory) return Error(ErrorCode::network, what() + ": out of memory");
  if (rc != CURLE_OK) {
    std::string message = what() + ": " + curl_easy_strerror(rc);
    // curl's detail names hosts, ports and TLS reasons, never header values or bodies; for a
    // malformed URL it could quote the URL, which may carry a code, so it is left out.
    if (!transfer.detail.empty() && rc != CURLE_URL_MALFORMAT)
      message += " (" + transfer.detail + ")";
    return Error(classify(rc), std::move(message));
  }

  Response response;
  response.status = static_cast<int>(transfer.status);
  response.headers = Headers(std::move(outcome.header_fields));
  response.body = std::move(outcome.body);
  return response;
}

}  // namespace

Result<Response> CurlTransport::send(const Request& request) {
  if (init_error_) return *init_error_;
  auto shape = shape_of(request);
  if (!shape) return shape.error();
  auto acquired = acquire();
  if (!acquired) return acquired.error();
  HandlePtr handle = std::move(*acquired);

  build_lines(*handle, request, *shape);
  Exchange& ex = handle->exchange;
  ex = Exchange{};
  ex.request = &request;
  ex.max_body = request.max_response_bytes != 0
                    ? std::min(request.max_response_bytes, options_.max_response_bytes)
                    : options_.max_response_bytes;
  // Room for a typical response's fields, so that they are not added with a reallocation each.
  ex.header_fields.reserve(16);
  handle->error_buffer[0] = '\0';

  if (auto applied = apply_options(*handle, request, *shape); !applied) {
    handle->lines.clear();
    release(std::move(handle));
    return applied.error();
  }
  run_transfer(*handle, request);

  // The handle still points at the caller's body and method; curl only follows those
  // pointers during a transfer, and the next send sets them again unless it is a plain GET,
  // which uses neither. The exchange's outcome leaves with this send.
  Exchange outcome = std::move(ex);
  Transfer transfer = std::move(handle->transfer);
  handle->lines.clear();
  release(std::move(handle));
  return result_of(request, outcome, transfer);
}

}  // namespace detail

std::shared_ptr<Transport> make_curl_transport(TransportOptions options) {
  return std::make_shared<detail::CurlTransport>(std::move(options));
}

std::shared_ptr<Transport> make_transport(TransportOptions options) {
  return make_curl_transport(std::move(options));
}

}  // namespace freshtoken
