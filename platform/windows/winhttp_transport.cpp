#include "winhttp_transport.hpp"

#ifndef NOMINMAX
#define NOMINMAX
#endif
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <winhttp.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <limits>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "url.hpp"
#include "util/crypto.hpp"

namespace freshtoken {
namespace detail {
namespace {

// The same limits and rules as the libcurl transport (curl_transport.cpp); the transport
// contract tests pin both down.
constexpr std::size_t kMaxHeaderBytes = 256 * 1024;
// How long send() waits at most before it looks at the CancelToken and the deadline again.
constexpr auto kPollInterval = std::chrono::milliseconds(25);
// The size of each read from WinHTTP and of each chunk of a streamed request body.
constexpr DWORD kBufferBytes = 64 * 1024;

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_tchar(c)) return false;
  return true;
}

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

bool parse_content_length(std::string_view text, std::uint64_t& out) {
  text = trim(text);
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// Header text travels through WinHTTP as UTF-16. Field values are octets (RFC 9110 §5.5):
// each byte becomes the code unit of the same value and back, so nothing is reinterpreted.
void append_wide(std::wstring& out, std::string_view bytes) {
  for (char c : bytes) out += static_cast<wchar_t>(static_cast<unsigned char>(c));
}

std::wstring wide(std::string_view bytes) {
  std::wstring out;
  out.reserve(bytes.size());
  append_wide(out, bytes);
  return out;
}

void wipe(std::wstring& text) noexcept {
  text.resize(text.capacity());
  SecureZeroMemory(text.data(), text.size() * sizeof(wchar_t));
  text.clear();
}

ErrorCode classify(DWORD error) {
  switch (error) {
    case ERROR_WINHTTP_TIMEOUT:
      return ErrorCode::timeout;
    case ERROR_WINHTTP_OPERATION_CANCELLED:
      return ErrorCode::cancelled;
    case ERROR_WINHTTP_SECURE_FAILURE:
    case ERROR_WINHTTP_SECURE_CERT_DATE_INVALID:
    case ERROR_WINHTTP_SECURE_CERT_CN_INVALID:
    case ERROR_WINHTTP_SECURE_INVALID_CA:
    case ERROR_WINHTTP_SECURE_CERT_REV_FAILED:
    case ERROR_WINHTTP_SECURE_CHANNEL_ERROR:
    case ERROR_WINHTTP_SECURE_INVALID_CERT:
    case ERROR_WINHTTP_SECURE_CERT_REVOKED:
    case ERROR_WINHTTP_SECURE_CERT_WRONG_USAGE:
    case ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED:
      return ErrorCode::tls;
    case ERROR_WINHTTP_UNRECOGNIZED_SCHEME:
    case ERROR_WINHTTP_INVALID_URL:
      return ErrorCode::config;
    case ERROR_WINHTTP_INVALID_SERVER_RESPONSE:
    case ERROR_WINHTTP_HEADER_SIZE_OVERFLOW:
    case ERROR_WINHTTP_HEADER_NOT_FOUND:
      return ErrorCode::invalid_response;
    default:
      // CANNOT_CONNECT, NAME_NOT_RESOLVED, CONNECTION_ERROR, ...: the exchange did not complete.
      return ErrorCode::network;
  }
}

std::string describe(DWORD error) {
  const char* what = nullptr;
  switch (error) {
    case ERROR_WINHTTP_TIMEOUT:
      what = "timed out";
      break;
    case ERROR_WINHTTP_CANNOT_CONNECT:
      what = "could not connect";
      break;
    case ERROR_WINHTTP_NAME_NOT_RESOLVED:
      what = "could not resolve the host name";
      break;
    case ERROR_WINHTTP_CONNECTION_ERROR:
      what = "the connection was reset or closed";
      break;
    case ERROR_WINHTTP_SECURE_INVALID_CA:
      what = "the server's certificate is not issued by a trusted authority";
      break;
    case ERROR_WINHTTP_SECURE_CERT_CN_INVALID:
      what = "the server's certificate is for another host";
      break;
    case ERROR_WINHTTP_SECURE_CERT_DATE_INVALID:
      what = "the server's certificate has expired or is not yet valid";
      break;
    case ERROR_WINHTTP_SECURE_FAILURE:
    case ERROR_WINHTTP_SECURE_CHANNEL_ERROR:
    case ERROR_WINHTTP_SECURE_INVALID_CERT:
      what = "TLS failure";
      break;
    case ERROR_WINHTTP_INVALID_SERVER_RESPONSE:
      what = "the server's response is not valid HTTP";
      break;
    case ERROR_WINHTTP_HEADER_SIZE_OVERFLOW:
      what = "response headers too large";
      break;
    case ERROR_NOT_ENOUGH_MEMORY:
      what = "out of memory";
      break;
    default:
      what = "the exchange failed";
  }
  return std::string(what) + " (WinHTTP error " + std::to_string(error) + ")";
}

// What the SECURE_FAILURE callback reports, for the message of the tls error that follows it.
std::string describe_secure_flags(DWORD flags) {
  std::string out;
  auto add = [&out](const char* what) {
    if (!out.empty()) out += ", ";
    out += what;
  };
  if (flags & WINHTTP_CALLBACK_STATUS_FLAG_INVALID_CA) add("untrusted certificate authority");
  if (flags & WINHTTP_CALLBACK_STATUS_FLAG_CERT_CN_INVALID) add("certificate name mismatch");
  if (flags & WINHTTP_CALLBACK_STATUS_FLAG_CERT_DATE_INVALID) add("certificate date invalid");
  if (flags & WINHTTP_CALLBACK_STATUS_FLAG_CERT_REVOKED) add("certificate revoked");
  if (flags & WINHTTP_CALLBACK_STATUS_FLAG_CERT_REV_FAILED) add("revocation check failed");
  if (flags & WINHTTP_CALLBACK_STATUS_FLAG_INVALID_CERT) add("invalid certificate");
  if (flags & WINHTTP_CALLBACK_STATUS_FLAG_SECURITY_CHANNEL_ERROR) add("secure channel error");
  return out;
}

// The request's parts as WinHTTP takes them.
struct Target {
  std::string origin;  // scheme://host:port, for error messages
  std::wstring host;   // without the brackets of an IPv6 literal
  int port = 0;
  bool https = false;
  bool loopback = false;
  std::wstring object;  // path and query
};

// What the request's header fields and method say about how it goes out.
struct Shape {
  bool is_head = false;
  bool streamed = false;
  bool sends_body = false;
  std::optional<std::uint64_t> stream_length;  // a stream's Content-Length, when the caller set one
  bool has_user_agent = false;
};

// One exchange's state shared with WinHTTP's status callback. WinHTTP holds a reference (self)
// from the moment the request handle carries this context until it reports the handle closed,
// so the buffers it reads from and writes into outlive a send() that returned early.
struct Exchange {
  std::mutex mutex;
  std::condition_variable changed;
  bool step_done = false;
  DWORD error = 0;         // a failed step's error (REQUEST_ERROR)
  DWORD bytes = 0;         // what READ_COMPLETE or WRITE_COMPLETE reported
  DWORD secure_flags = 0;  // what SECURE_FAILURE reported
  std::shared_ptr<Exchange> self;
  std::string body;          // a copy of the request body WinHTTP sends from
  std::vector<char> buffer;  // what WinHTTP reads into, and streamed body pieces
  std::string chunk;         // a piece of a streamed body as WinHTTP writes it

  ~Exchange() {
    util::wipe(body);
    util::wipe(chunk);
    if (!buffer.empty()) util::wipe(buffer.data(), buffer.size());
  }

  // Ready for the next asynchronous step; called before the WinHTTP call that starts it.
  void start_step() {
    std::lock_guard<std::mutex> lock(mutex);
    step_done = false;
    error = 0;
    bytes = 0;
  }
};

void CALLBACK on_status(HINTERNET, DWORD_PTR context, DWORD status, LPVOID info, DWORD length) {
  auto* ex = reinterpret_cast<Exchange*>(context);
  if (ex == nullptr) return;       // the session's and connections' own notifications
  std::shared_ptr<Exchange> last;  // WinHTTP's reference, released after the lock
  {
    std::lock_guard<std::mutex> lock(ex->mutex);
    switch (status) {
      case WINHTTP_CALLBACK_STATUS_SENDREQUEST_COMPLETE:
      case WINHTTP_CALLBACK_STATUS_HEADERS_AVAILABLE:
        ex->step_done = true;
        break;
      case WINHTTP_CALLBACK_STATUS_WRITE_COMPLETE:
        ex->bytes = info != nullptr ? *static_cast<const DWORD*>(info) : 0;
        ex->step_done = true;
        break;
      case WINHTTP_CALLBACK_STATUS_DATA_AVAILABLE:
        ex->bytes = info != nullptr ? *static_cast<const DWORD*>(info) : 0;
        ex->step_done = true;
        break;
      case WINHTTP_CALLBACK_STATUS_READ_COMPLETE:
        ex->bytes = length;
        ex->step_done = true;
        break;
      case WINHTTP_CALLBACK_STATUS_REQUEST_ERROR:
        ex->error = info != nullptr ? static_cast<const WINHTTP_ASYNC_RESULT*>(info)->dwError
                                    : ERROR_WINHTTP_INTERNAL_ERROR;
        if (ex->error == 0) ex->error = ERROR_WINHTTP_INTERNAL_ERROR;
        ex->step_done = true;
        break;
      case WINHTTP_CALLBACK_STATUS_SECURE_FAILURE:
        if (info != nullptr) ex->secure_flags |= *static_cast<const DWORD*>(info);
        break;
      case WINHTTP_CALLBACK_STATUS_HANDLE_CLOSING:
        last = std::move(ex->self);
        break;
      default:
        break;
    }
  }
  ex->changed.notify_all();
}

enum class Waited { done, cancelled, timed_out };
using Clock = std::chrono::steady_clock;

// Waits for the step in flight, looking at the CancelToken and the deadline in between.
Waited wait_step(Exchange& ex, const Request& request, Clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(ex.mutex);
  while (!ex.step_done) {
    if (request.cancel.cancelled()) return Waited::cancelled;
    const auto now = Clock::now();
    if (now >= deadline) return Waited::timed_out;
    ex.changed.wait_for(lock, std::min<Clock::duration>(kPollInterval, deadline - now));
  }
  return Waited::done;
}

// Closes a request handle when the exchange ends, however it ends.
struct RequestHandle {
  HINTERNET handle = nullptr;
  RequestHandle() = default;
  RequestHandle(const RequestHandle&) = delete;
  RequestHandle& operator=(const RequestHandle&) = delete;
  ~RequestHandle() {
    if (handle != nullptr) WinHttpCloseHandle(handle);
  }
};

Result<Target> target_of(const Request& request) {
  auto parsed = parse_url_view(request.url);
  if (!parsed)
    // The reason names what is wrong, never the URL, which may carry a code.
    return Error(ErrorCode::config,
                 request.method + ": malformed URL (" + parsed.error().message() + ")");
  Target t;
  t.https = parsed->https;
  t.port = parsed->port;
  t.loopback = is_loopback_host(parsed->host);
  std::string_view host = parsed->host;
  t.origin = std::string(t.https ? "https://" : "http://") + std::string(host) + ":" +
             std::to_string(t.port);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  t.host = wide(host);
  std::string_view path = parsed->path;
  t.object = wide(path.empty() ? std::string_view("/") : path);
  if (parsed->has_query) {
    t.object += L'?';
    append_wide(t.object, parsed->query);
  }
  return t;
}

Result<Shape> shape_of(const Request& request) {
  Shape shape;
  const std::string_view method = request.method;
  shape.is_head = method == "HEAD";
  shape.streamed = static_cast<bool>(request.body_stream);
  shape.sends_body = !shape.is_head && (shape.streamed || !request.body.empty() ||
                                        method == "POST" || method == "PUT" || method == "PATCH");
  for (const auto& [name, value] : request.headers) {
    if (!is_token(name))
      return Error(ErrorCode::config, "request header name is not a valid HTTP token: '" +
                                          (is_field_value(name) ? name : "?") + "'");
    if (!is_field_value(value))
      return Error(ErrorCode::config,
                   "request header '" + name + "' contains CR, LF or NUL in its value");
    if (iequals(name, "Content-Length") && shape.sends_body && shape.streamed) {
      std::uint64_t length = 0;
      if (!parse_content_length(value, length))
        return Error(ErrorCode::config, "request Content-Length is not a number");
      shape.stream_length = length;
    }
    if (iequals(name, "User-Agent")) shape.has_user_agent = true;
  }
  return shape;
}

// The request's header lines as one block, "Name: value\r\n" each. The transport sets
// Content-Length itself (from the body, or WinHTTP's total length for a stream), and frames a
// stream of unknown length as chunks.
std::wstring header_block(const Request& request, const Shape& shape,
                          const std::wstring& user_agent_line) {
  // Sized once, so that growing never leaves a copy of a bearer token in freed memory: a UTF-8
  // byte never becomes more than one UTF-16 unit.
  std::size_t size = user_agent_line.size() + 64;
  for (const auto& [name, value] : request.headers) size += name.size() + value.size() + 4;
  std::wstring block;
  block.reserve(size);
  for (const auto& [name, value] : request.headers) {
    if (shape.sends_body && iequals(name, "Content-Length")) continue;
    if (shape.sends_body && iequals(name, "Transfer-Encoding")) continue;
    append_wide(block, name);
    block += L": ";
    append_wide(block, value);
    block += L"\r\n";
  }
  if (!shape.has_user_agent && !user_agent_line.empty()) block += user_agent_line + L"\r\n";
  if (shape.streamed && !shape.stream_length) block += L"Transfer-Encoding: chunked\r\n";
  return block;
}

// The final response's header fields, from WinHTTP's CRLF-separated copy of them (the
// status line first). WinHTTP has already passed over interim (1xx) responses.
std::vector<Headers::Field> parse_fields(std::wstring_view raw) {
  std::vector<Headers::Field> fields;
  bool first = true;
  while (!raw.empty()) {
    const auto end = raw.find(L"\r\n");
    std::wstring_view wline = raw.substr(0, end);
    raw = end == std::wstring_view::npos ? std::wstring_view() : raw.substr(end + 2);
    std::string line;
    line.reserve(wline.size());
    for (wchar_t c : wline) line += c < 0x100 ? static_cast<char>(c) : '?';
    if (first) {  // the status line
      first = false;
      continue;
    }
    if (line.empty()) continue;
    if (line.front() == ' ' || line.front() == '\t') {
      // obs-fold continuation of the previous field (RFC 9112 §5.2).
      if (!fields.empty()) {
        fields.back().second += ' ';
        fields.back().second += trim(line);
      }
      continue;
    }
    const auto colon = line.find(':');
    if (colon == std::string::npos || colon == 0) continue;
    const std::string_view view = line;
    fields.emplace_back(std::string(trim(view.substr(0, colon))),
                        std::string(trim(view.substr(colon + 1))));
  }
  return fields;
}

DWORD clamp_ms(std::chrono::milliseconds ms) {
  if (ms.count() <= 0) return 1;
  return static_cast<DWORD>(std::min<long long>(ms.count(), std::numeric_limits<int>::max()));
}

// One exchange from WinHttpSendRequest to the last byte of the body.
class Run {
 public:
  Run(const Request& request, const Target& target, const Shape& shape, std::size_t max_body,
      Clock::time_point deadline)
      : request_(request),
        target_(target),
        shape_(shape),
        max_body_(max_body),
        deadline_(deadline) {}

  Result<Response> go(HINTERNET handle, std::shared_ptr<Exchange> ex) {
    handle_ = handle;
    ex_ = std::move(ex);
    Response response;
    if (auto sent = send_request(); !sent) return sent.error();
    if (shape_.streamed) {
      if (auto streamed = stream_body(); !streamed) return streamed.error();
    }
    // WinHTTP passes over interim (1xx) responses itself.
    ex_->start_step();
    if (!WinHttpReceiveResponse(handle_, nullptr)) return failed(GetLastError());
    if (auto waited = wait(); !waited) return waited.error();
    if (auto head = read_head(response); !head) return head.error();
    if (!shape_.is_head) {
      if (auto body = read_body(response.body); !body) return body.error();
    }
    return response;
  }

 private:
  std::string what() const { return request_.method + " " + target_.origin; }

  Error failed(DWORD error) const {
    std::string message = what() + ": " + describe(error);
    if (classify(error) == ErrorCode::tls) {
      std::lock_guard<std::mutex> lock(ex_->mutex);
      if (const std::string flags = describe_secure_flags(ex_->secure_flags); !flags.empty())
        message += " (" + flags + ")";
    }
    return Error(classify(error), std::move(message));
  }

  Result<void> wait() {
    switch (wait_step(*ex_, request_, deadline_)) {
      case Waited::cancelled:
        return Error(ErrorCode::cancelled, what() + ": cancelled");
      case Waited::timed_out:
        return Error(ErrorCode::timeout, what() + ": timed out");
      case Waited::done:
        break;
    }
    DWORD error = 0;
    {
      std::lock_guard<std::mutex> lock(ex_->mutex);
      error = ex_->error;
    }
    if (error != 0) return failed(error);
    return {};
  }

  Result<void> send_request() {
    void* optional = WINHTTP_NO_REQUEST_DATA;
    DWORD length = 0;
    DWORD total = 0;
    if (!shape_.streamed && !request_.body.empty()) {
      if (request_.body.size() > std::numeric_limits<DWORD>::max())
        return Error(ErrorCode::config, what() + ": the request body is larger than 4 GiB");
      ex_->body = request_.body;
      optional = ex_->body.data();
      length = total = static_cast<DWORD>(ex_->body.size());
    } else if (shape_.streamed && shape_.stream_length) {
      if (*shape_.stream_length > std::numeric_limits<DWORD>::max())
        return Error(ErrorCode::config, what() + ": the request body is larger than 4 GiB");
      total = static_cast<DWORD>(*shape_.stream_length);
    } else if (shape_.streamed) {
      total = WINHTTP_IGNORE_REQUEST_TOTAL_LENGTH;
    }
    ex_->start_step();
    if (!WinHttpSendRequest(handle_, WINHTTP_NO_ADDITIONAL_HEADERS, 0, optional, length, total,
                            reinterpret_cast<DWORD_PTR>(ex_.get())))
      return failed(GetLastError());
    return wait();
  }

  // Writes WinHTTP the buffer's first `size` bytes, waiting for each write.
  Result<void> write(const char* data, std::size_t size) {
    while (size > 0) {
      ex_->start_step();
      if (!WinHttpWriteData(handle_, data, static_cast<DWORD>(size), nullptr))
        return failed(GetLastError());
      if (auto waited = wait(); !waited) return waited;
      DWORD written = 0;
      {
        std::lock_guard<std::mutex> lock(ex_->mutex);
        written = ex_->bytes;
      }
      if (written == 0 || written > size) return failed(ERROR_WINHTTP_CONNECTION_ERROR);
      data += written;
      size -= written;
    }
    return {};
  }

  // The Request's body source, piece by piece: as it is when its length is known, else as
  // HTTP/1.1 chunks (WinHTTP sends what it is given as it is).
  Result<void> stream_body() {
    ex_->buffer.resize(kBufferBytes);
    std::uint64_t sent = 0;
    const auto source_failed = [this] {
      return Error(ErrorCode::config, what() + ": the request body source failed");
    };
    for (;;) {
      if (request_.cancel.cancelled()) return Error(ErrorCode::cancelled, what() + ": cancelled");
      std::size_t n = 0;
      try {
        n = request_.body_stream(ex_->buffer.data(), ex_->buffer.size());
      } catch (...) {
        return source_failed();
      }
      if (n > ex_->buffer.size()) return source_failed();
      if (shape_.stream_length) {
        if (n > *shape_.stream_length - sent)
          return Error(ErrorCode::config,
                       what() + ": the request body source gave more than its Content-Length");
        if (n == 0) {
          if (sent != *shape_.stream_length)
            return Error(ErrorCode::config,
                         what() + ": the request body source ended before its Content-Length");
          return {};
        }
        if (auto written = write(ex_->buffer.data(), n); !written) return written;
        sent += n;
        continue;
      }
      char size_line[24];
      const auto [end, ec] = std::to_chars(size_line, size_line + sizeof size_line - 2, n, 16);
      (void)ec;
      ex_->chunk.assign(size_line, end);
      ex_->chunk += "\r\n";
      ex_->chunk.append(ex_->buffer.data(), n);
      ex_->chunk += "\r\n";  // after n == 0: "0\r\n\r\n", the last chunk and the body's end
      if (auto written = write(ex_->chunk.data(), ex_->chunk.size()); !written) return written;
      util::wipe(ex_->chunk);
      if (n == 0) return {};
    }
  }

  Result<void> read_head(Response& response) {
    DWORD status = 0;
    DWORD size = sizeof status;
    if (!WinHttpQueryHeaders(handle_, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER,
                             WINHTTP_HEADER_NAME_BY_INDEX, &status, &size, WINHTTP_NO_HEADER_INDEX))
      return failed(GetLastError());
    response.status = static_cast<int>(status);

    size = 0;
    WinHttpQueryHeaders(handle_, WINHTTP_QUERY_RAW_HEADERS_CRLF, WINHTTP_HEADER_NAME_BY_INDEX,
                        WINHTTP_NO_OUTPUT_BUFFER, &size, WINHTTP_NO_HEADER_INDEX);
    if (GetLastError() != ERROR_INSUFFICIENT_BUFFER) return failed(GetLastError());
    if (size / sizeof(wchar_t) > kMaxHeaderBytes) return headers_too_large();
    std::wstring raw(size / sizeof(wchar_t) + 1, L'\0');
    size = static_cast<DWORD>(raw.size() * sizeof(wchar_t));
    if (!WinHttpQueryHeaders(handle_, WINHTTP_QUERY_RAW_HEADERS_CRLF, WINHTTP_HEADER_NAME_BY_INDEX,
                             raw.data(), &size, WINHTTP_NO_HEADER_INDEX))
      return failed(GetLastError());
    raw.resize(size / sizeof(wchar_t));
    response.headers = Headers(parse_fields(raw));
    wipe(raw);  // Set-Cookie and the like
    return {};
  }

  Error headers_too_large() const {
    return Error(ErrorCode::invalid_response, what() + ": response headers exceed " +
                                                  std::to_string(kMaxHeaderBytes) + " bytes");
  }

  Error body_too_large() const {
    return Error(ErrorCode::invalid_response,
                 what() + ": response body exceeds " + std::to_string(max_body_) + " bytes");
  }

  // Moves the body into a buffer with room for at least `needed` bytes and wipes the one it
  // leaves, as the libcurl transport does: a token response must not stay behind in the heap.
  void grow(std::string& body, std::size_t needed, std::uint64_t announced) const {
    std::size_t room = std::max(needed, 2 * body.capacity());
    if (announced > 0 && announced <= max_body_)
      room = std::max(room, static_cast<std::size_t>(announced));
    room = std::min(room, max_body_);
    std::string bigger;
    bigger.reserve(room);
    bigger.append(body);
    util::wipe(body);
    body.swap(bigger);
  }

  Result<void> read_body(std::string& body) {
    std::uint64_t announced = 0;
    if (auto length = announced_length(); length) {
      // Refused before any of the body is read: memory stays bounded whatever a server says.
      if (*length > max_body_) return body_too_large();
      announced = *length;
    }
    ex_->buffer.resize(kBufferBytes);
    try {
      if (announced > 0) body.reserve(static_cast<std::size_t>(announced));
      for (;;) {
        // How much has arrived first, then exactly that much: a larger read may wait for
        // the rest on this thread (Wine's does) where neither cancellation nor the deadline
        // can end it.
        ex_->start_step();
        if (!WinHttpQueryDataAvailable(handle_, nullptr)) return failed(GetLastError());
        if (auto waited = wait(); !waited) return waited;
        DWORD available = 0;
        {
          std::lock_guard<std::mutex> lock(ex_->mutex);
          available = ex_->bytes;
        }
        // At the end, a read that returns nothing: that is when WinHTTP puts the connection back
        // in its pool for the next request.
        ex_->start_step();
        if (!WinHttpReadData(handle_, ex_->buffer.data(),
                             available == 0 ? kBufferBytes : std::min(available, kBufferBytes),
                             nullptr))
          return failed(GetLastError());
        if (auto waited = wait(); !waited) return waited;
        DWORD n = 0;
        {
          std::lock_guard<std::mutex> lock(ex_->mutex);
          n = ex_->bytes;
        }
        if (n == 0) return {};
        if (n > max_body_ - body.size()) return body_too_large();
        if (n > body.capacity() - body.size()) grow(body, body.size() + n, announced);
        body.append(ex_->buffer.data(), n);
      }
    } catch (const std::bad_alloc&) {
      return Error(ErrorCode::network, what() + ": out of memory");
    }
  }

  std::optional<std::uint64_t> announced_length() const {
    wchar_t text[32] = {};
    DWORD size = sizeof text;
    if (!WinHttpQueryHeaders(handle_, WINHTTP_QUERY_CONTENT_LENGTH, WINHTTP_HEADER_NAME_BY_INDEX,
                             text, &size, WINHTTP_NO_HEADER_INDEX))
      return std::nullopt;
    std::string narrow;
    for (const wchar_t* c = text; *c != L'\0'; ++c)
      narrow += *c < 0x100 ? static_cast<char>(*c) : '?';
    std::uint64_t value = 0;
    if (!parse_content_length(narrow, value)) return std::nullopt;
    return value;
  }

  const Request& request_;
  const Target& target_;
  const Shape& shape_;
  const std::size_t max_body_;
  const Clock::time_point deadline_;
  HINTERNET handle_ = nullptr;
  std::shared_ptr<Exchange> ex_;
};

// The session: asynchronous, with the system's proxy (or the one asked for), TLS 1.2 or newer,
// the header limit, and the status callback every request handle inherits.
HINTERNET open_session(DWORD access, const wchar_t* proxy, const wchar_t* bypass) {
  HINTERNET session = WinHttpOpen(nullptr, access, proxy, bypass, WINHTTP_FLAG_ASYNC);
  if (session == nullptr) return nullptr;
  DWORD protocols = WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_2 | WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_3;
  if (!WinHttpSetOption(session, WINHTTP_OPTION_SECURE_PROTOCOLS, &protocols, sizeof protocols)) {
    // Before Windows 11 (and under Wine) TLS 1.3 cannot be asked for this way.
    protocols = WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_2;
    WinHttpSetOption(session, WINHTTP_OPTION_SECURE_PROTOCOLS, &protocols, sizeof protocols);
  }
  DWORD header_limit = kMaxHeaderBytes;
  WinHttpSetOption(session, WINHTTP_OPTION_MAX_RESPONSE_HEADER_SIZE, &header_limit,
                   sizeof header_limit);
  if (WinHttpSetStatusCallback(session, &on_status,
                               WINHTTP_CALLBACK_FLAG_ALL_COMPLETIONS |
                                   WINHTTP_CALLBACK_FLAG_HANDLES |
                                   WINHTTP_CALLBACK_FLAG_SECURE_FAILURE,
                               0) == WINHTTP_INVALID_STATUS_CALLBACK) {
    WinHttpCloseHandle(session);
    return nullptr;
  }
  return session;
}

// The session for hosts other than loopback ones, with the system's proxy settings: WinHTTP's
// automatic proxy (Windows 8.1 and later), else the current user's static proxy from the
// Internet settings, else WinHTTP's own (netsh winhttp) setting.
HINTERNET open_system_proxy_session() {
  if (HINTERNET session = open_session(WINHTTP_ACCESS_TYPE_AUTOMATIC_PROXY, WINHTTP_NO_PROXY_NAME,
                                       WINHTTP_NO_PROXY_BYPASS))
    return session;
  WINHTTP_CURRENT_USER_IE_PROXY_CONFIG ie{};
  HINTERNET session = nullptr;
  if (WinHttpGetIEProxyConfigForCurrentUser(&ie) && ie.lpszProxy != nullptr)
    session =
        open_session(WINHTTP_ACCESS_TYPE_NAMED_PROXY, ie.lpszProxy,
                     ie.lpszProxyBypass != nullptr ? ie.lpszProxyBypass : WINHTTP_NO_PROXY_BYPASS);
  if (ie.lpszAutoConfigUrl != nullptr) GlobalFree(ie.lpszAutoConfigUrl);
  if (ie.lpszProxy != nullptr) GlobalFree(ie.lpszProxy);
  if (ie.lpszProxyBypass != nullptr) GlobalFree(ie.lpszProxyBypass);
  if (session != nullptr) return session;
  return open_session(WINHTTP_ACCESS_TYPE_DEFAULT_PROXY, WINHTTP_NO_PROXY_NAME,
                      WINHTTP_NO_PROXY_BYPASS);
}

// The proxy URL as WinHTTP names a proxy: host:port. WinHTTP speaks to http proxies only.
Result<std::wstring> proxy_server(std::string_view url) {
  constexpr std::string_view kHttp = "http://";
  if (url.size() >= kHttp.size() && iequals(url.substr(0, kHttp.size()), kHttp)) {
    url.remove_prefix(kHttp.size());
  } else if (url.find("://") != std::string_view::npos) {
    return Error(ErrorCode::config, "the WinHTTP transport supports http:// proxies only");
  }
  url = url.substr(0, url.find('/'));
  if (url.empty() || !is_field_value(url) || url.find('@') != std::string_view::npos)
    return Error(ErrorCode::config, "the proxy must be given as http://host:port");
  return wide(url);
}

}  // namespace

WinHttpTransport::WinHttpTransport(TransportOptions options) : options_(std::move(options)) {
  if (!is_field_value(options_.user_agent)) {
    init_error_.emplace(ErrorCode::config, "the user agent contains CR, LF or NUL");
    return;
  }
  if (!options_.ca_file.empty()) {
    // Schannel verifies against the Windows certificate store only; a CA file honoured here
    // would need a verification of our own after the request's headers (and its token) went
    // out. A private CA belongs in the store (certutil -addstore, or Group Policy).
    init_error_.emplace(ErrorCode::config,
                        "ca_file is not supported by the WinHTTP transport: add the CA to the "
                        "Windows certificate store instead");
    return;
  }
  if (!options_.user_agent.empty()) user_agent_line_ = L"User-Agent: " + wide(options_.user_agent);
  if (!options_.proxy) {
    session_ = open_system_proxy_session();
  } else if (options_.proxy->empty()) {
    session_ =
        open_session(WINHTTP_ACCESS_TYPE_NO_PROXY, WINHTTP_NO_PROXY_NAME, WINHTTP_NO_PROXY_BYPASS);
  } else {
    auto proxy = proxy_server(*options_.proxy);
    if (!proxy) {
      init_error_ = proxy.error();
      return;
    }
    session_ = open_session(WINHTTP_ACCESS_TYPE_NAMED_PROXY, proxy->c_str(), L"<local>");
  }
  direct_session_ =
      open_session(WINHTTP_ACCESS_TYPE_NO_PROXY, WINHTTP_NO_PROXY_NAME, WINHTTP_NO_PROXY_BYPASS);
  if (session_ == nullptr || direct_session_ == nullptr) {
    init_error_.emplace(ErrorCode::network,
                        "WinHTTP session could not be opened: " + describe(GetLastError()));
    return;
  }
  if (!options_.verify_tls && options_.log)
    options_.log(LogLevel::warning,
                 "TLS certificate verification is OFF for this transport; use only for local "
                 "experiments");
}

WinHttpTransport::~WinHttpTransport() {
  for (auto& [key, connection] : connections_) WinHttpCloseHandle(connection);
  if (session_ != nullptr) WinHttpCloseHandle(session_);
  if (direct_session_ != nullptr) WinHttpCloseHandle(direct_session_);
}

Result<void*> WinHttpTransport::connection_for(const std::wstring& host, int port, bool loopback) {
  std::lock_guard<std::mutex> lock(connections_mutex_);
  auto key = std::make_tuple(loopback, host, port);
  if (auto found = connections_.find(key); found != connections_.end()) return found->second;
  HINTERNET connection = WinHttpConnect(loopback ? direct_session_ : session_, host.c_str(),
                                        static_cast<INTERNET_PORT>(port), 0);
  if (connection == nullptr) return Error(ErrorCode::network, describe(GetLastError()));
  connections_.emplace(std::move(key), connection);
  return static_cast<void*>(connection);
}

Result<Response> WinHttpTransport::send(const Request& request) {
  if (init_error_) return *init_error_;
  if (!is_token(request.method))
    return Error(ErrorCode::config, "request method is not a valid HTTP token");
  if (request.url.empty()) return Error(ErrorCode::config, "request URL is empty");
  if (!is_field_value(request.url))
    return Error(ErrorCode::config, "request URL contains control characters");
  auto target = target_of(request);
  if (!target) return target.error();
  const std::string what = request.method + " " + target->origin;
  if (request.cancel.cancelled())
    return Error(ErrorCode::cancelled, what + ": cancelled before sending");
  auto shape = shape_of(request);
  if (!shape) return shape.error();

  const auto total = request.timeout.count() > 0 ? request.timeout : options_.timeout;
  const auto deadline = Clock::now() + total;
  const std::size_t max_body =
      request.max_response_bytes != 0
          ? std::min(request.max_response_bytes, options_.max_response_bytes)
          : options_.max_response_bytes;

  auto connection = connection_for(target->host, target->port, target->loopback);
  if (!connection)
    return Error(connection.error().code(), what + ": " + connection.error().message());
  exchanges_.fetch_add(1, std::memory_order_relaxed);

  RequestHandle request_handle;
  const std::wstring method = wide(request.method);
  request_handle.handle = WinHttpOpenRequest(
      static_cast<HINTERNET>(*connection), method.c_str(), target->object.c_str(), nullptr,
      WINHTTP_NO_REFERER, WINHTTP_DEFAULT_ACCEPT_TYPES,
      (target->https ? WINHTTP_FLAG_SECURE : 0) | WINHTTP_FLAG_ESCAPE_DISABLE |
          WINHTTP_FLAG_ESCAPE_DISABLE_QUERY);
  HINTERNET handle = request_handle.handle;
  if (handle == nullptr)
    return Error(classify(GetLastError()), what + ": " + describe(GetLastError()));

  auto ex = std::make_shared<Exchange>();
  DWORD_PTR context = reinterpret_cast<DWORD_PTR>(ex.get());
  if (!WinHttpSetOption(handle, WINHTTP_OPTION_CONTEXT_VALUE, &context, sizeof context))
    return Error(ErrorCode::network, what + ": " + describe(GetLastError()));
  ex->self = ex;  // released by the HANDLE_CLOSING notification

  // Redirects are the HttpClient's business; cookies and automatic Windows authentication
  // (NTLM, Negotiate) are not something an OAuth client may do on its own.
  DWORD features =
      WINHTTP_DISABLE_REDIRECTS | WINHTTP_DISABLE_COOKIES | WINHTTP_DISABLE_AUTHENTICATION;
  WinHttpSetOption(handle, WINHTTP_OPTION_DISABLE_FEATURE, &features, sizeof features);
  if (!options_.verify_tls && target->https) {
    DWORD flags = SECURITY_FLAG_IGNORE_UNKNOWN_CA | SECURITY_FLAG_IGNORE_CERT_DATE_INVALID |
                  SECURITY_FLAG_IGNORE_CERT_CN_INVALID | SECURITY_FLAG_IGNORE_CERT_WRONG_USAGE;
    WinHttpSetOption(handle, WINHTTP_OPTION_SECURITY_FLAGS, &flags, sizeof flags);
  }
  const int connect_ms = static_cast<int>(clamp_ms(std::min(options_.connect_timeout, total)));
  const int total_ms = static_cast<int>(clamp_ms(total));
  WinHttpSetTimeouts(handle, connect_ms, connect_ms, total_ms, total_ms);

  std::wstring headers = header_block(request, *shape, user_agent_line_);
  const bool added = headers.empty() || WinHttpAddRequestHeaders(handle, headers.c_str(),
                                                                 static_cast<DWORD>(headers.size()),
                                                                 WINHTTP_ADDREQ_FLAG_ADD);
  const DWORD add_error = added ? 0 : GetLastError();
  wipe(headers);  // the bearer token
  if (!added) return Error(ErrorCode::config, what + ": request headers: " + describe(add_error));

  Run run(request, *target, *shape, max_body, deadline);
  return run.go(handle, std::move(ex));
  // request_handle closes the handle: a finished exchange's connection goes back to WinHTTP's
  // pool, an unfinished one's is closed.
}

}  // namespace detail

std::shared_ptr<Transport> make_winhttp_transport(TransportOptions options) {
  return std::make_shared<detail::WinHttpTransport>(std::move(options));
}

std::shared_ptr<Transport> make_transport(TransportOptions options) {
  return make_winhttp_transport(std::move(options));
}

}  // namespace freshtoken
