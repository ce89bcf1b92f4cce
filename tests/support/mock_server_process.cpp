#include "mock_server_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "spawn_process.hpp"

namespace freshtoken::testing {

namespace {

using namespace std::chrono_literals;

// The first line of `fd` without its newline; empty when the stream ends or `deadline` passes.
std::string read_first_line(int fd, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  std::string line;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left <= 0ms) return {};
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char c = 0;
    if (::read(fd, &c, 1) != 1) return {};
    if (c == '\n') return line;
    line += c;
  }
}

}  // namespace

MockServerProcess::MockServerProcess(const std::vector<std::string>& flags) {
  TransportOptions transport_options;
  for (std::size_t i = 0; i + 1 < flags.size(); ++i) {
    if (flags[i] == "--tls-cert") transport_options.ca_file = flags[i + 1];
  }
  transport_ = make_curl_transport(transport_options);
  std::vector<std::string> argv{FRESHTOKEN_MOCK_SERVER, "--port", "0"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  pid_ = spawn_process(argv, {}, {kInheritStream, pipe_fds[1], kDevNull});
  ::close(pipe_fds[1]);
  out_ = pipe_fds[0];
  if (pid_ < 0) {
    stop();
    throw std::runtime_error("freshtoken-mock-server did not start");
  }
  issuer_ = read_first_line(out_, 20s);
  if (issuer_.empty()) {
    stop();
    throw std::runtime_error("freshtoken-mock-server printed no issuer");
  }
}

MockServerProcess::~MockServerProcess() { stop(); }

void MockServerProcess::stop() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() >= until) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(5ms);
    }
    pid_ = -1;
  }
  if (out_ >= 0) ::close(out_);
  out_ = -1;
}

nlohmann::json MockServerProcess::get(const std::string& path) const {
  Request request;
  request.url = issuer_ + path;
  auto response = transport_->send(request);
  if (!response || response->status != 200) throw std::runtime_error("GET " + path + " failed");
  return nlohmann::json::parse(response->body);
}

nlohmann::json MockServerProcess::post(const std::string& path, const nlohmann::json& body) const {
  Request request;
  request.method = "POST";
  request.url = issuer_ + path;
  request.body = body.dump();
  request.headers.set("Content-Type", "application/json");
  auto response = transport_->send(request);
  if (!response || response->status != 200) throw std::runtime_error("POST " + path + " failed");
  return nlohmann::json::parse(response->body);
}

void MockServerProcess::arm_token_fault(const std::string& kind, int delay_ms, int times) const {
  post("/mock/faults",
       {{"endpoint", "token"}, {"kind", kind}, {"delay_ms", delay_ms}, {"times", times}});
}

int MockServerProcess::call_api(const std::string& path, const std::string& token) const {
  Request request;
  request.url = issuer_ + path;
  request.headers.set("Authorization", "Bearer " + token);
  auto response = transport_->send(request);
  return response ? response->status : -1;
}

int grants(const nlohmann::json& stats, const std::string& grant) {
  const auto& requests = stats.at("token_requests");
  return requests.contains(grant) ? requests.at(grant).get<int>() : 0;
}

}  // namespace freshtoken::testing
